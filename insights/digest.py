"""The weekly digest as data: counts, themes with trends and quotes, emerging themes, scores.

Every answer was analysed when it arrived, so this is only aggregation: no text is re-analysed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.models import AnswerFact

TONES = ("negative", "neutral", "positive")

# Quotes staff will actually read: not a word or two, not a page.
SHORTEST_QUOTE = 15
LONGEST_QUOTE = 400


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


def _is_words(fact: AnswerFact) -> bool:
    # Open answers are quoted; buttons pressed (scale, yes/no, choice) are counted, not quoted.
    return fact.kind in (None, "text") and fact.number is None


def _shorten(text: str) -> str:
    """Cut a very long answer at a word boundary, marked with an ellipsis (never reworded)."""
    if len(text) <= LONGEST_QUOTE:
        return text
    cut = text[:LONGEST_QUOTE].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + " …"


def pick_quotes(
    facts: Sequence[AnswerFact], redact: Callable[[str], str], how_many: int = 3
) -> tuple[Quote, ...]:
    """A few quotes that show the range: the most critical, the warmest, and one in between."""
    candidates = [f for f in facts if _is_words(f) and len(f.answer.strip()) >= SHORTEST_QUOTE]
    if not candidates:
        return ()
    # Prefer answers of a readable length; among those, order by sentiment.
    readable = [f for f in candidates if len(f.answer) <= 300] or candidates
    ranked = sorted(readable, key=lambda f: (f.sentiment or 0.0, f.answered_at))
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
    return tuple(Quote(_shorten(redact(f.answer.strip())), f.resident, f.tone) for f in chosen)


def emerging_phrases(
    facts: Iterable[AnswerFact], min_count: int = 3, top: int = 5
) -> tuple[tuple[str, int], ...]:
    """Key phrases that recur in answers no catalogue theme covered: themes to consider adding."""
    counts: Counter[str] = Counter()
    for fact in facts:
        if not fact.themes:
            counts.update(set(fact.key_phrases))
    frequent = [(phrase, n) for phrase, n in counts.most_common() if n >= min_count]
    return tuple(frequent[:top])


def build_digest(
    facts: Sequence[AnswerFact],
    *,
    start: datetime,
    end: datetime,
    previous_counts: tuple[int, int],
    previous_themes: Counter[str],
    redact: Callable[[str], str],
    top_themes: int = 8,
    quotes_per_theme: int = 3,
) -> Digest:
    """Aggregate one period's analysed answers into a digest."""
    by_theme: dict[str, list[AnswerFact]] = defaultdict(list)
    tones: Counter[str] = Counter()
    scales: dict[str, list[float]] = defaultdict(list)
    for fact in facts:
        if fact.tone:
            tones[fact.tone] += 1
        if fact.kind == "scale" and fact.number is not None:
            scales[fact.question].append(fact.number)
        for theme in fact.themes:
            by_theme[theme].append(fact)
    ranked = sorted(by_theme.items(), key=lambda item: (-len(item[1]), item[0]))[:top_themes]
    themes = tuple(
        ThemeSummary(
            name=name,
            count=len(theme_facts),
            previous=previous_themes.get(name, 0),
            tones=dict(Counter(f.tone for f in theme_facts if f.tone)),
            quotes=pick_quotes(theme_facts, redact, quotes_per_theme),
        )
        for name, theme_facts in ranked
    )
    return Digest(
        start=start,
        end=end,
        residents=len({fact.resident for fact in facts}),
        answers=len(facts),
        previous_residents=previous_counts[0],
        previous_answers=previous_counts[1],
        themes=themes,
        emerging=emerging_phrases(facts),
        scales=tuple(
            ScaleSummary(question, sum(values) / len(values), len(values))
            for question, values in scales.items()
        ),
        tones=dict(tones),
    )
