"""Answers that answer nothing ("Nothing", "N/A", "Don't know"), read by the question they answer.

"Nothing" to "What could we do better?" is praise, to "What was good?" a complaint, and to "Why?"
neither; "Don't know" and "Not sure" are neutral whatever was asked. Only a whole answer counts:
"Nothing, the staff were lovely" says more, and is read like any other answer.
"""

from collections.abc import Sequence
from typing import Final, Literal

from insights.sentiment import AsksFor
from insights.text import Token

NonAnswer = Literal["", "nothing", "unsure"]

# The sentiment each reading gets: clear enough to land in its tone, no stronger.
NOTHING_SCORE: Final[dict[AsksFor, float]] = {"improvement": 0.8, "praise": -0.5, "open": 0.0}
UNSURE_SCORE: Final = 0.0

# How a non-answer may start, as words after contractions are spelled out ("don't" → "do not").
_NOTHING_OPENERS: Final[tuple[tuple[str, ...], ...]] = (
    ("nothing",),
    ("none",),
    ("no",),
    ("nope",),
    ("nil",),
    ("nowt",),
    ("nada",),
    ("zilch",),
    ("na",),
    ("n", "a"),  # "N/A"
    ("not", "applicable"),
    ("not", "really"),
    ("not", "much"),
    ("not", "a", "lot"),
    ("not", "a", "thing"),
    ("not", "anything"),
    ("no", "comment"),
    ("no", "comments"),
)
_UNSURE_OPENERS: Final[tuple[tuple[str, ...], ...]] = (
    ("do", "not", "know"),
    ("dunno",),
    ("dont", "know"),
    ("not", "sure"),
    ("unsure",),
    ("no", "idea"),
    ("can", "not", "think"),
    ("could", "not", "think"),
    ("can", "not", "say"),
    ("hard", "to", "say"),
    ("no", "opinion"),
    ("i", "do", "not", "know"),
    ("i", "am", "not", "sure"),
    ("i", "can", "not", "think"),
    ("i", "could", "not", "think"),
    ("i", "can", "not", "say"),
    ("i", "have", "no", "idea"),
)
# Words that may come after the opening without saying anything more.
_EMPTY_WORDS: Final = frozenset(
    [
        "really",
        "at",
        "all",
        "else",
        "whatsoever",
        "much",
        "to",
        "add",
        "say",
        "write",
        "comment",
        "comments",
        "in",
        "particular",
        "specific",
        "thanks",
        "thank",
        "you",
        "sorry",
        "i",
        "can",
        "think",
        "of",
        "anything",
        "that",
        "comes",
        "mind",
        "right",
        "now",
        "really",
        "really",
        "honestly",
        "not",
        "no",
        "nothing",
        "none",
        "x",
        "xx",
        "xxx",
        "a",
        "an",
        "the",
        "off",
        "top",
        "my",
        "head",
        "what",
        "at",
        "this",
        "time",
        "moment",
        "as",
        "such",
        "sure",
        "know",
        "thing",
        # "Nothing for me", "None in my opinion", "Nothing for us at the moment"
        "for",
        "me",
        "us",
        "opinion",
    ]
)


_OPENING_WORDS: Final = frozenset(o[0] for o in _NOTHING_OPENERS + _UNSURE_OPENERS)


def non_answer(tokens: Sequence[Token]) -> NonAnswer:
    """Whether a whole answer says nothing ("nothing"), or says the resident is unsure."""
    if len(tokens) > 16 or not tokens or tokens[0].lower not in _OPENING_WORDS:
        return ""
    words = [token.lower for token in tokens if token.kind == "word"]
    if not words or len(words) > 12 or any(token.kind == "number" for token in tokens):
        return ""
    for openers, kind in ((_UNSURE_OPENERS, "unsure"), (_NOTHING_OPENERS, "nothing")):
        for opener in openers:
            size = len(opener)
            if tuple(words[:size]) == opener and all(w in _EMPTY_WORDS for w in words[size:]):
                return "unsure" if kind == "unsure" else "nothing"
    return ""


def non_answer_score(kind: NonAnswer, asks_for: AsksFor) -> float:
    """The sentiment of a non-answer to a question that asks for `asks_for`."""
    return NOTHING_SCORE[asks_for] if kind == "nothing" else UNSURE_SCORE
