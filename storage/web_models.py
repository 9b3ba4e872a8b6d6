"""The records the web dashboard reads and writes through `storage.interfaces.Dashboard`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.models import AnswerFact


@dataclass(frozen=True)
class WebSession:
    """A signed-in dashboard session: whose it is, and until when it lasts."""

    telegram_user_id: int
    started_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class WeekFigures:
    """What one week's answers (of one theme, or all) add up to."""

    start: datetime
    end: datetime
    residents: int
    answers: int
    tones: dict[str, int] = field(default_factory=dict)  # negative, neutral, positive
    themes: dict[str, int] = field(default_factory=dict)  # theme → answers (all answers only)


@dataclass(frozen=True)
class AnswerQuery:
    """Which answers a dashboard page lists: every field left None does not filter."""

    theme: str | None = None
    flow: str | None = None
    step: str | None = None
    tone: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    words: str | None = None  # a piece of text the answer contains (any case)
    # Answers carrying a sign of risk: only for safeguarding contacts and admins.
    with_held_back: bool = False


@dataclass(frozen=True)
class AnswerPage:
    """A page of answers, newest first, and how many match in all."""

    answers: tuple[AnswerFact, ...]
    total: int
