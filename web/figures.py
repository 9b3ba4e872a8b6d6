"""What the overview and theme pages show, worked out from storage's weekly figures: pure
functions, easy to test, with no SQL and no HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from storage.web_models import WeekFigures

WEEKS_SHOWN = 12
TONES = ("positive", "neutral", "negative")
TOP_THEMES = 8


def week_bounds(now: datetime, weeks: int = WEEKS_SHOWN) -> list[tuple[datetime, datetime]]:
    """`weeks` 7-day spans ending now, oldest first (the last is "this week": the last 7 days)."""
    return [
        (now - timedelta(days=7 * (n + 1)), now - timedelta(days=7 * n))
        for n in reversed(range(weeks))
    ]


def share(part: int, whole: int) -> int:
    """A whole-number percentage (0 for an empty whole)."""
    return round(100 * part / whole) if whole else 0


@dataclass(frozen=True)
class ThemeTrend:
    """A theme's answers this week and last, and which way it goes."""

    theme: str
    this_week: int
    last_week: int

    @property
    def trend(self) -> str:
        """Up, down or the same, in words (not only an arrow, for screen readers)."""
        if self.this_week > self.last_week:
            return f"up {self.this_week - self.last_week}"
        if self.this_week < self.last_week:
            return f"down {self.last_week - self.this_week}"
        return "no change"


def top_themes(weeks: Sequence[WeekFigures], limit: int = TOP_THEMES) -> list[ThemeTrend]:
    """This week's most said themes, with last week's counts."""
    this, last = weeks[-1], weeks[-2] if len(weeks) > 1 else None
    names = sorted(this.themes, key=lambda name: (-this.themes[name], name))[:limit]
    return [
        ThemeTrend(name, this.themes[name], last.themes.get(name, 0) if last else 0)
        for name in names
    ]


@dataclass(frozen=True)
class Bar:
    """One bar of the weekly chart, in the SVG's own units."""

    x: int
    y: int
    width: int
    height: int
    label: str  # the week, e.g. "3 Nov"
    value: int


CHART_WIDTH = 600
CHART_HEIGHT = 180
_AXIS = 20


def bars(weeks: Sequence[WeekFigures], zone: tzinfo) -> list[Bar]:
    """The weekly chart's bars: answers per week, scaled to the tallest; weeks named by their
    first day in the service's time zone."""
    tallest = max((week.answers for week in weeks), default=0) or 1
    slot = CHART_WIDTH // max(len(weeks), 1)
    drawn = []
    for n, week in enumerate(weeks):
        height = round((CHART_HEIGHT - _AXIS - 14) * week.answers / tallest)
        drawn.append(
            Bar(
                x=n * slot + 4,
                y=CHART_HEIGHT - _AXIS - height,
                width=slot - 8,
                height=height,
                label=f"{week.start.astimezone(zone):%-d %b}",
                value=week.answers,
            )
        )
    return drawn
