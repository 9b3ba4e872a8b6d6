"""Analyse one answer: sentiment, tone, themes, key phrases, and whether it says anything."""

from dataclasses import dataclass
from functools import cache

from insights.lexicon import Lexicon, load_lexicon
from insights.nonanswers import NonAnswer, non_answer, non_answer_score
from insights.phrases import PhraseFinder
from insights.sentiment import AsksFor, Tone, read, says_nothing, tone_of
from insights.text import Token, clean, tokenize
from insights.themes import ThemeCatalogue, shipped_catalogue


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
        score = round(read(tokens, self.lexicon, asks_for).score, 3)
        if trivial:
            return Analysis(score, tone_of(score), (), (), True)
        themes = (catalogue if catalogue is not None else self.catalogue).find(tokens)
        return Analysis(score, tone_of(score), themes, self._phrases.find(tokens), False)

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
