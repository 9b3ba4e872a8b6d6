"""The weekly digest as data: counts, themes with trends and quotes, emerging themes, scores.

Every answer was analysed when it arrived, and storage counts them (`PeriodFigures`): this only
puts the figures together and picks quotes. No text is re-analysed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.models import AnswerFact, PeriodFigures

TONES = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Quote:
    """A resident's words, verbatim but for redaction, and who said them (a pseudonym)."""

    text: str
    resident: str
    tone: str | None


@dataclass(frozen=True)
class ThemeSummary:
    """One theme in a period: how often it came up, how it felt, and in whose words."""

    name: str
    count: int
    previous: int
    tones: dict[str, int]
    quotes: tuple[Quote, ...]

    @property
    def negative_share(self) -> float:
        """The share of this theme's answers that read negative."""
        return self.tones.get("negative", 0) / self.count if self.count else 0.0

    @property
    def trend(self) -> str:
        """▲ up, ▼ down, = about the same as the period before, or `new`."""
        return trend_mark(self.count, self.previous)


@dataclass(frozen=True)
class ScaleSummary:
    """The answers to one 1–5 question."""

    question: str
    average: float
    count: int


@dataclass(frozen=True)
class Digest:
    """What residents said in one period, ready to render."""

    start: datetime
    end: datetime
    residents: int
    answers: int
    previous_residents: int
    previous_answers: int
    themes: tuple[ThemeSummary, ...]
    emerging: tuple[tuple[str, int], ...]
    scales: tuple[ScaleSummary, ...]
    tones: dict[str, int] = field(default_factory=dict)
    held_back: int = 0  # answers with a sign of risk: in the counts, never in the quotes
    # Sections rendered elsewhere (Telegram HTML), shown before the closing line: "You said,
    # we did", which reads actions rather than answers.
    extra_sections: tuple[str, ...] = ()

    @property
    def negative_share(self) -> float:
        """The share of analysed answers that read negative."""
        total = sum(self.tones.values())
        return self.tones.get("negative", 0) / total if total else 0.0


def trend_mark(now: int, before: int) -> str:
    """▲ or ▼ for a change of at least a fifth (and at least 2), = otherwise, `new` from 0."""
    if before == 0:
        return "new" if now else "="
    change = now - before
    if abs(change) >= 2 and abs(change) >= before / 5:
        return "▲" if change > 0 else "▼"
    return "="


def pick_quotes(
    candidates: Sequence[AnswerFact], redact: Callable[[str], str], how_many: int = 3
) -> tuple[Quote, ...]:
    """A few quotes that show the range: the most critical, the warmest, and one in between."""
    if not candidates:
        return ()
    ranked = sorted(candidates, key=lambda f: (f.sentiment or 0.0, f.answered_at))
    order = [ranked[0], ranked[-1], ranked[len(ranked) // 2], *ranked[1:-1]]
    chosen: list[AnswerFact] = []
    seen: set[str] = set()
    for fact in order:
        key = fact.answer.strip().lower()
        if key not in seen:
            seen.add(key)
            chosen.append(fact)
        if len(chosen) == how_many:
            break
    chosen.sort(key=lambda f: f.sentiment or 0.0)
    return tuple(Quote(redact(f.answer.strip()), f.resident, f.tone) for f in chosen)


def emerging_phrases(
    unthemed: Mapping[str, int],
    covered: Callable[[str], bool] = lambda phrase: False,
    min_count: int = 3,
    top: int = 5,
) -> tuple[tuple[str, int], ...]:
    """Key phrases that recur in answers no catalogue theme covered: themes to consider adding.

    `unthemed` counts the key phrases stored with answers that got no theme; a phrase the
    catalogue `covered` since (an admin may have added it) is left out.
    """
    frequent = sorted(
        ((phrase, n) for phrase, n in unthemed.items() if n >= min_count and not covered(phrase)),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(frequent[:top])


def top_themes(figures: PeriodFigures, how_many: int = 8) -> list[str]:
    """The period's most frequent themes, most frequent first."""
    names = sorted(figures.theme_tones, key=lambda name: (-figures.theme_count(name), name))
    return names[:how_many]


def build_digest(
    figures: PeriodFigures,
    previous: PeriodFigures,
    quotes: Mapping[str, Sequence[AnswerFact]],
    *,
    start: datetime,
    end: datetime,
    redact: Callable[[str], str],
    covered: Callable[[str], bool] = lambda phrase: False,
    how_many_themes: int = 8,
    quotes_per_theme: int = 3,
) -> Digest:
    """Put one period's figures, the week before's, and quote candidates together as a digest."""
    themes = tuple(
        ThemeSummary(
            name=name,
            count=figures.theme_count(name),
            previous=previous.theme_count(name),
            tones={tone: n for tone, n in figures.theme_tones[name].items() if tone},
            quotes=pick_quotes(quotes.get(name, ()), redact, quotes_per_theme),
        )
        for name in top_themes(figures, how_many_themes)
    )
    return Digest(
        start=start,
        end=end,
        residents=figures.residents,
        answers=figures.answers,
        previous_residents=previous.residents,
        previous_answers=previous.answers,
        themes=themes,
        emerging=emerging_phrases(figures.unthemed_phrases, covered),
        scales=tuple(ScaleSummary(q, average, n) for q, average, n in figures.scales),
        tones=dict(figures.tones),
        held_back=figures.held_back,
    )
