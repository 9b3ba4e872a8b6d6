"""The sentiment lexicon: TextBlob's adjective scores, overlaid with how residents talk of services.

TextBlob's lexicon ships inside the package (`textblob/en/en-sentiment.xml`) and needs no NLTK
corpora, so it is read once here and applied with our own tokens, which is far faster than
building TextBlob objects for every answer.
"""

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final, NamedTuple

from insights.text import clean, stem, tokenize
from insights.yamlfile import InsightsFileError, kind_of, line_of, parse, read_text

SHIPPED_LEXICON: Final[Traversable] = resources.files("insights") / "lexicon.yaml"

_SECTIONS: Final = {
    "words": "scores",
    "phrases": "scores",
    "nothing_to_change": "scores",
    "negations": "list",
    "short_negations": "list",
    "intensifiers": "scores",
    "breaks": "list",
    "suggestion_starts": "list",
    "hypothetical": "list",
    "nothing_words": "list",
    "lead_skip": "list",
    "lead_followers": "list",
    "nothing_openers": "list",
    "filler_words": "list",
}


Phrase = tuple[tuple[str, ...], float, bool]

# What a word does in a sentence, besides its own score.
PLAIN, NEGATION, SHORT_NEGATION, INTENSIFIER, PRONOUN = range(5)
_PRONOUNS: Final = frozenset({"i", "you", "he", "she", "we", "they", "it", "everyone"})


class WordSense(NamedTuple):
    """Everything sentiment needs to know about one word, looked up once."""

    score: float  # its own score; 0.0 when it has none
    role: int  # PLAIN, NEGATION, SHORT_NEGATION, INTENSIFIER or PRONOUN
    factor: float  # for an intensifier, how much it strengthens the next word
    wishes: bool  # "would", "wish", "if": praise after it is wished for
    suggests: bool  # at the start of a thought it names a change ("More staff")
    breaks: bool  # "but", "however": ends one thought and starts another


@dataclass(frozen=True)
class Lexicon:
    """Everything sentiment needs, keyed for quick look-ups."""

    words: dict[str, float]
    stems: dict[str, float]
    textblob: dict[str, float]
    # First two stems of a phrase → (stems, score, says nothing needs to change), longest first.
    phrases: dict[tuple[str, str], tuple[Phrase, ...]]
    negations: frozenset[str]
    short_negations: frozenset[str]
    intensifiers: dict[str, float]
    breaks: frozenset[str]
    suggestion_starts: frozenset[str]
    hypothetical: frozenset[str]
    nothing_words: frozenset[str]
    lead_skip: frozenset[str]
    lead_followers: frozenset[str]
    nothing_openers: tuple[tuple[str, ...], ...]
    filler_words: frozenset[str]
    phrase_starts: frozenset[str] = frozenset()
    _senses: dict[str, WordSense] = field(default_factory=dict, compare=False, repr=False)

    def sense(self, lower: str, stem_: str) -> WordSense:
        """What a word (lowercase, with its stem) does for sentiment; cached per word."""
        found = self._senses.get(lower)
        if found is None:
            found = self._work_out(lower, stem_)
            if len(self._senses) < 200_000:
                self._senses[lower] = found
        return found

    def _work_out(self, lower: str, stem_: str) -> WordSense:
        score = self.words.get(lower)
        if score is None:
            score = self.stems.get(stem_)
        if score is None:
            score = self.textblob.get(lower, 0.0)
        role = PLAIN
        factor = 1.0
        if lower in self.negations:
            role = NEGATION
        elif lower in self.short_negations:
            role = SHORT_NEGATION
        elif lower in self.intensifiers:
            role, factor = INTENSIFIER, self.intensifiers[lower]
        elif lower in _PRONOUNS:
            role = PRONOUN
        return WordSense(
            score=score,
            role=role,
            factor=factor,
            wishes=lower in self.hypothetical,
            suggests=lower in self.suggestion_starts,
            breaks=lower in self.breaks,
        )


def load_lexicon(path: Path | Traversable = SHIPPED_LEXICON) -> Lexicon:
    """Read a lexicon YAML file and merge it over TextBlob's adjective scores."""
    text, source = read_text(path)
    tree = parse(text, source)
    if not isinstance(tree, dict):
        message = (
            f"a lexicon file should be a set of fields (words:, phrases:, …), not {kind_of(tree)}"
        )
        raise InsightsFileError(source, line_of(tree), message)
    for key in tree:
        if key not in _SECTIONS:
            known = ", ".join(_SECTIONS)
            raise InsightsFileError(
                source, line_of(tree, key), f'"{key}" is not a lexicon field; use one of {known}'
            )
    scores = {
        name: _scores(tree.get(name), source, name, line_of(tree, name))
        for name, kind in _SECTIONS.items()
        if kind == "scores"
    }
    lists = {
        name: _words(tree.get(name), source, name, line_of(tree, name))
        for name, kind in _SECTIONS.items()
        if kind == "list"
    }
    words = {word.lower(): score for word, score in scores["words"].items()}
    for group in ("phrases", "nothing_to_change"):
        for phrase, score in list(scores[group].items()):
            if len(phrase_stems(phrase)) == 1:
                words.setdefault(phrase.lower(), score)
                del scores[group][phrase]
    stems: dict[str, float] = {}
    # Base forms first, so "care" (not "cared") speaks for the stem "care".
    for word, score in sorted(words.items(), key=lambda item: stem(item[0]) != item[0]):
        stems.setdefault(stem(word), score)
    phrases = _phrase_index(scores["phrases"], scores["nothing_to_change"])
    return Lexicon(
        words=words,
        stems=stems,
        textblob=_textblob_scores(),
        phrases=phrases,
        negations=frozenset(lists["negations"]),
        short_negations=frozenset(lists["short_negations"]),
        intensifiers={word.lower(): score for word, score in scores["intensifiers"].items()},
        breaks=frozenset(lists["breaks"]),
        suggestion_starts=frozenset(lists["suggestion_starts"]),
        hypothetical=frozenset(lists["hypothetical"]),
        nothing_words=frozenset(lists["nothing_words"]),
        lead_skip=frozenset(lists["lead_skip"]),
        lead_followers=frozenset(lists["lead_followers"]),
        nothing_openers=tuple(
            tuple(t.lower for t in tokenize(clean(opener))) for opener in lists["nothing_openers"]
        ),
        filler_words=frozenset(lists["filler_words"]),
        phrase_starts=frozenset(first for first, _ in phrases),
    )


def phrase_stems(phrase: str) -> tuple[str, ...]:
    """The stems a phrase is matched by, tokenised exactly as answers are."""
    return tuple(token.stem for token in tokenize(clean(phrase.lower())) if token.kind != "stop")


def _phrase_index(
    phrases: dict[str, float], nothing_to_change: dict[str, float]
) -> dict[tuple[str, str], tuple[Phrase, ...]]:
    index: dict[tuple[str, str], list[Phrase]] = {}
    for group, flag in ((phrases, False), (nothing_to_change, True)):
        for phrase, score in group.items():
            stems = phrase_stems(phrase)
            if len(stems) > 1:
                index.setdefault((stems[0], stems[1]), []).append((stems, score, flag))
    return {
        first: tuple(sorted(entries, key=lambda entry: -len(entry[0])))
        for first, entries in index.items()
    }


def _scores(node: object, source: str, name: str, line: int | None) -> dict[str, float]:
    if node is None:
        return {}
    if not isinstance(node, dict):
        message = f'"{name}" should be a set of "word: score" lines, not {kind_of(node)}'
        raise InsightsFileError(source, line, message)
    scores: dict[str, float] = {}
    for key, value in node.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            message = f'"{key}" in {name} should have a number as its score, not {kind_of(value)}'
            raise InsightsFileError(source, line_of(node, key), message)
        low, high = (0.0, 3.0) if name == "intensifiers" else (-1.0, 1.0)
        if not low <= float(value) <= high:
            message = f'"{key}" in {name} has the score {value}; scores go from {low} to {high}'
            raise InsightsFileError(source, line_of(node, key), message)
        scores[str(key)] = float(value)
    return scores


def _words(node: object, source: str, name: str, line: int | None) -> list[str]:
    if node is None:
        return []
    if not isinstance(node, list) or not all(isinstance(item, str) for item in node):
        message = f'"{name}" should be a list of words, like [not, never]'
        raise InsightsFileError(source, line, message)
    return [item.lower() for item in node]


def _textblob_scores() -> dict[str, float]:
    # Importing textblob.en loads nothing from NLTK; its sentiment lexicon is an XML file in the
    # package. Each word's score is the average over its senses, as TextBlob itself uses it.
    from textblob.en import sentiment

    sentiment.load()
    return {
        word: float(senses[None][0])
        for word, senses in dict.items(sentiment)
        if None in senses and (word.isalpha() or "-" in word)
    }
