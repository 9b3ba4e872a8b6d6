"""Key phrases: the short noun phrases an answer is about ("long wait", "cold food", "bin day").

Words are tagged with TextBlob's own part-of-speech lexicon (`textblob/en/en-lexicon.txt`, shipped
inside the package; no NLTK corpora) plus a few context rules; TextBlob's full tagger is ten times
slower and no better on short answers, and its noun-phrase extractors need NLTK corpora.
"""

from pathlib import Path
from typing import Final

from insights.text import Token

MAX_PHRASES: Final = 5
MAX_WORDS: Final = 3

_NOUNS: Final = frozenset({"NN", "NNS"})
_INSIDE: Final = frozenset({"NN", "NNS", "JJ", "VBG", "NNP", "NNPS"})
_OPENERS: Final = frozenset({"DT", "PRP$", "JJ", "IN", "JJR", "JJS", "CD", "POS"})
# Words whose usual tag is a verb but which residents mostly use as nouns.
_NOUN_OVERRIDES: Final = frozenset(
    {"wait", "damp", "mould", "mold", "leak", "repair", "call", "visit", "cut", "fly", "litter"}
)
# Praise or blame on its own is not what an answer is about: "good service" is about service.
_GENERIC_ADJECTIVES: Final = frozenset(
    [
        "good",
        "great",
        "excellent",
        "lovely",
        "nice",
        "brilliant",
        "amazing",
        "fantastic",
        "wonderful",
        "fine",
        "ok",
        "okay",
        "bad",
        "perfect",
        "superb",
        "outstanding",
        "whole",
        "overall",
        "other",
        "same",
        "more",
        "much",
        "many",
        "few",
        "several",
        "first",
        "last",
        "next",
        "own",
        "such",
        "every",
        "all",
        "very",
        "really",
        "most",
        "best",
        "better",
        "worse",
        "worst",
        "poor",
        "happy",
        "pleased",
        "lots",
        "lot",
        "general",
        "usual",
        "normal",
        "real",
        "certain",
        "main",
        "various",
        "different",
        "particular",
    ]
)
# Nouns too general to be a key phrase alone.
_GENERIC_NOUNS: Final = frozenset(
    [
        "thing",
        "things",
        "lot",
        "lots",
        "way",
        "bit",
        "time",
        "times",
        "day",
        "days",
        "everything",
        "nothing",
        "anything",
        "something",
        "one",
        "ones",
        "people",
        "person",
        "experience",
        "service",
        "services",
        "part",
        "kind",
        "sort",
        "type",
        "stuff",
        "everyone",
        "everybody",
        "anyone",
        "someone",
        "nobody",
        "none",
        "yes",
        "thanks",
        "thank",
        "please",
        "bits",
        "moment",
        "today",
        "year",
        "years",
        "week",
        "weeks",
        "month",
        "months",
        "hour",
        "hours",
        "minute",
        "minutes",
        "morning",
        "evening",
        "night",
        "place",
    ]
)


class PhraseFinder:
    """Tags words with TextBlob's lexicon and picks out the noun phrases."""

    def __init__(self) -> None:
        # TextBlob's lexicon file is read directly: its own loader leaves the file open.
        from textblob import en

        raw: dict[str, str] = {}
        with (Path(en.__file__).parent / "en-lexicon.txt").open(encoding="utf-8") as file:
            for line in file:
                if line.startswith(";;;"):
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    raw.setdefault(parts[0], parts[1])
        tags: dict[str, str] = {}
        for word, tag in raw.items():
            low = word.lower()
            # The lowercase entry is the common word ("bill"); capitalised ones are names ("Bill").
            if word == low or low not in tags:
                tags[low] = tag
        self._tags = tags

    def tag(self, token: Token) -> str:
        """The part of speech of one word (Penn Treebank tags), before context rules."""
        # Tokens are shared between answers, so each word is looked up once per process.
        if not token.tag:
            token.tag = self._tag(token)
        return token.tag

    def _tag(self, token: Token) -> str:
        if token.kind != "word":
            return "CD" if token.kind == "number" else "."
        if token.lower in _NOUN_OVERRIDES:
            return "NN"
        tag = self._tags.get(token.lower)
        if tag is None:
            if token.text[:1].isupper():
                return "NNP"
            if token.lower.endswith("ing"):
                return "VBG"
            if token.lower.endswith("ly"):
                return "RB"
            if token.lower.endswith("s") and not token.lower.endswith("ss"):
                return "NNS"
            return "NN"
        return tag

    def find(self, tokens: list[Token]) -> tuple[str, ...]:
        """Up to five key phrases, in the order they appear, lowercase."""
        tag = self.tag
        tags = [token.tag or tag(token) for token in tokens]
        for i in range(1, len(tags)):
            # "the wait", "a long wait", "no repair": after a determiner or adjective, a verb or
            # a dangling adjective is a noun.
            if (tags[i] in ("VB", "VBP") and tags[i - 1] in _OPENERS) or (
                tags[i] == "JJ"
                and tags[i - 1] == "DT"
                and (i + 1 == len(tags) or tags[i + 1] not in _INSIDE)
            ):
                tags[i] = "NN"
        phrases: list[str] = []
        seen: set[str] = set()
        run: list[int] = []
        for i in range(len(tokens) + 1):
            if i < len(tokens) and tags[i] in _INSIDE and tokens[i].kind == "word":
                run.append(i)
                continue
            if run:
                phrase = self._phrase(tokens, tags, run)
                if phrase and phrase not in seen:
                    seen.add(phrase)
                    phrases.append(phrase)
                    if len(phrases) == MAX_PHRASES:
                        break
                run = []
        return tuple(phrases)

    @staticmethod
    def _phrase(tokens: list[Token], tags: list[str], run: list[int]) -> str:
        # End on a noun; names (NNP) never make a key phrase, as they are often people's.
        while run and tags[run[-1]] not in _NOUNS:
            run.pop()
        if not run or any(tags[i] in ("NNP", "NNPS") for i in run):
            return ""
        while run and (
            tokens[run[0]].lower in _GENERIC_ADJECTIVES
            or (tags[run[0]] == "VBG" and len(run) > 1 and tags[run[1]] not in _NOUNS)
        ):
            run.pop(0)
        run = run[-MAX_WORDS:]
        if not run:
            return ""
        words = [tokens[i].lower for i in run]
        if len(words) == 1 and (words[0] in _GENERIC_NOUNS or len(words[0]) < 3):
            return ""
        return " ".join(words)
