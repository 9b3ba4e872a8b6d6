"""Analyse one answer: sentiment, tone, themes, key phrases, and whether it says anything."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Final

from insights.lexicon import Lexicon, load_lexicon
from insights.nonanswers import NonAnswer, non_answer, non_answer_score
from insights.phrases import PhraseFinder
from insights.sentiment import AsksFor, Tone, read, says_nothing, tone_of
from insights.text import Token, clean, tokenize
from insights.themes import MAX_THEMES_PER_ANSWER, ThemeCatalogue, shipped_catalogue


@dataclass(frozen=True)
class Analysis:
    """What one answer says, worked out once when it arrives."""

    sentiment: float  # −1 very critical … +1 very positive
    tone: Tone
    themes: tuple[str, ...]  # the one it opens with first; empty for trivial answers
    key_phrases: tuple[str, ...]
    trivial: bool  # "Nothing", "n/a", "All good": counted, but nothing to quote or theme
    # "nothing" ("Nothing", "N/A", "No") or "unsure" ("Don't know"): read by the question asked.
    non_answer: NonAnswer = ""
    # Praise of one thing and criticism of another: the tone is then neutral, whatever the score.
    mixed: bool = False
    # Each theme's tone, from the words about it (clause by clause), in the order of `themes`.
    theme_tones: Mapping[str, Tone] = field(default_factory=lambda: MappingProxyType({}))


# A clause counts as clearly for or against something from this score on (of -1..1).
CLEAR: Final = 0.3
BALANCE: Final = 1.5


class Analyser:
    """Holds the lexicon, the part-of-speech table and a theme catalogue, loaded once.

    Create one at start-up and call `analyse` for each answer: a call is only look-ups.
    """

    def __init__(
        self, catalogue: ThemeCatalogue | None = None, lexicon: Lexicon | None = None
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else shipped_catalogue("council")
        self.lexicon = lexicon if lexicon is not None else _shipped_lexicon()
        self._phrases = _phrase_finder()

    def analyse(
        self,
        text: str,
        *,
        asks_for: AsksFor = "open",
        catalogue: ThemeCatalogue | None = None,
    ) -> Analysis:
        """Read one answer to a question that asks for `asks_for`."""
        tokens = tokenize(clean(text))
        kind = non_answer(tokens)
        if kind:
            score = non_answer_score(kind, asks_for)
            return Analysis(score, tone_of(score), (), (), True, kind)
        trivial = self._trivial(tokens)
        reading = read(tokens, self.lexicon, asks_for)
        score = round(reading.score, 3)
        if trivial:
            return Analysis(score, tone_of(score), (), (), True)
        catalogue = catalogue if catalogue is not None else self.catalogue
        tone = tone_of(score)
        mixed = False
        theme_tones: dict[str, Tone] = {}
        # An answer of several clauses is read clause by clause: each clause may open a theme of
        # its own ("Great nurses. The food was cold."), a theme takes the tone of the words about
        # it, and a clause without a theme goes on about the one before ("Staff. So kind.").
        starts, clauses = self._clauses(tokens) if len(tokens) > 3 else ((), ())
        if len(clauses) > 1:
            themes, clause_themes = catalogue.find_by_clause(tokens, starts)
            both = bool(reading.praise and reading.criticism)
            scores: dict[str, list[float]] = {}
            for_, against = 0.0, 0.0
            current: tuple[str, ...] = ()
            leading: list[str] = []
            for clause, found in zip(clauses, clause_themes, strict=True):
                if found:
                    current = found
                    leading.append(found[0])
                if not both:
                    continue
                clause_reading = read(clause, self.lexicon, asks_for)
                clause_score = theme_score = clause_reading.score
                if asks_for == "praise" and clause_reading.criticism and not clause_reading.praise:
                    # To "what was good?", a clause that only finds fault ("but the food was
                    # cold") is still against what it is about: its theme takes the tone of its
                    # words, not of the question (the answer's own tone stays the question's:
                    # such answers are mostly praise, and people rate them so).
                    theme_score = read(clause, self.lexicon, "open").score
                if clause_score >= CLEAR:
                    for_ += clause_score
                elif clause_score <= -CLEAR:
                    against -= clause_score
                for theme in current:
                    scores.setdefault(theme, []).append(theme_score)
            themes = tuple(dict.fromkeys([*themes[:1], *leading, *themes[1:]]))[
                :MAX_THEMES_PER_ANSWER
            ]
            # Mixed when neither side outweighs the other by more than BALANCE to one.
            mixed = bool(for_ and against) and max(for_, against) <= BALANCE * min(for_, against)
            for theme in themes:
                said = scores.get(theme)
                theme_tones[theme] = tone_of(sum(said) / len(said)) if said else tone
            if mixed:
                tone = "neutral"
        else:
            themes = catalogue.find(tokens)
            theme_tones = dict.fromkeys(themes, tone)
        if not themes and catalogue.whole_service and reading.praise and not reading.criticism:
            # Praise that names no part of the service ("Very helpful") is praise of all of it.
            themes = (catalogue.whole_service,)
            theme_tones = {catalogue.whole_service: tone}
        return Analysis(
            score,
            tone,
            themes,
            self._phrases.find(tokens),
            False,
            mixed=mixed,
            theme_tones=MappingProxyType(theme_tones),
        )

    def _clauses(self, tokens: list[Token]) -> tuple[list[int], list[list[Token]]]:
        """Where each clause starts, and its words: the answer cut at stops and at "but",
        "however", "and"…; empty parts dropped."""
        starts: list[int] = []
        clauses: list[list[Token]] = []
        clause: list[Token] = []
        sense = self.lexicon.sense
        for i, token in enumerate(tokens):
            if token.kind == "stop" or (
                token.kind == "word" and sense(token.lower, token.stem).breaks
            ):
                if clause:
                    clauses.append(clause)
                    clause = []
            else:
                if not clause:
                    starts.append(i)
                clause.append(token)
        if clause:
            clauses.append(clause)
        return starts, clauses

    def key_phrases(self, text: str) -> tuple[str, ...]:
        """The key phrases of an answer, or none when the answer is trivial."""
        tokens = tokenize(clean(text))
        return () if self._trivial(tokens) else self._phrases.find(tokens)

    def _trivial(self, tokens: list[Token]) -> bool:
        """Whether an answer says nothing in particular: "Nothing", "n/a", "No, all good"."""
        words = [token.lower for token in tokens if token.kind != "stop"]
        if not words:
            return True
        filler, nothing = self.lexicon.filler_words, self.lexicon.nothing_words
        if not all(word in filler or word in nothing for word in words):
            return False
        # A word or three of plain praise ("Very good") is as trivial as "Nothing".
        return (
            len(words) <= 3
            or any(word in nothing for word in words)
            or says_nothing(tokens, self.lexicon)
        )


@cache
def _shipped_lexicon() -> Lexicon:
    return load_lexicon()


@cache
def _phrase_finder() -> PhraseFinder:
    return PhraseFinder()


@cache
def default_analyser() -> Analyser:
    """The analyser with the shipped lexicon and the council catalogue, made on first use."""
    return Analyser()


def analyse(
    text: str,
    *,
    asks_for: AsksFor = "open",
    catalogue: ThemeCatalogue | None = None,
) -> Analysis:
    """Read one answer with the shipped lexicon (and the council catalogue unless one is given)."""
    return default_analyser().analyse(text, asks_for=asks_for, catalogue=catalogue)
