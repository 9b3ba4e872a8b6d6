"""Sentiment of one answer, read the way staff read feedback: criticism counts, context matters.

A comment that names a problem is critical even when it is polite about it ("Staff lovely, but the
wait was too long"), so criticism weighs more than praise. What the question asked for shifts the
reading: to "what could be better?", "More staff" names a problem and "Nothing" is praise; to
"what was good?", an answer that only names something ("The food") is praise of it.
"""

import math
from dataclasses import dataclass
from typing import Final, Literal

from insights.lexicon import INTENSIFIER, NEGATION, PRONOUN, SHORT_NEGATION, Lexicon
from insights.text import Token

AsksFor = Literal["open", "improvement", "praise"]
Tone = Literal["negative", "neutral", "positive"]

# The weights below were set on the tuning part of real, labelled feedback (bench/listening.py)
# and checked on a held-out part; each is a plain rule a person would agree with.
# One named problem outweighs a compliment; less so where praise was asked for, because there
# problem words mostly describe what the service helped with ("helped me with my anxiety").
CRITICISM_WEIGHT: Final[dict[AsksFor, float]] = {"open": 2.5, "improvement": 1.5, "praise": 0.5}
NEGATED_PRAISE: Final = -0.8  # "not helpful": most of the praise, turned round
NEGATED_CRITICISM: Final = -0.5  # "not bad", "never rude": mild praise
WISHED_PRAISE: Final = -0.5  # "would have been helpful": praise wished for names a gap
SUGGESTION: Final = -0.4  # "More staff", "Please call back"
SHOUTED: Final = 1.2
EXCLAIMED: Final = 1.25
NEGATION_REACH: Final = 3  # words after "not" that it still turns round
# An answer with no opinion words, by what the question asked for: naming something in answer to
# "what could be better?" names a problem, and in answer to "what was good?" praises it.
PRIOR: Final[dict[AsksFor, float]] = {"open": 0.0, "improvement": -0.5, "praise": 0.3}
# "Nothing (to change)": strong praise to "what could be better?"; wherever it is written it
# mostly means "no complaints".
NOTHING_TO_CHANGE: Final[dict[AsksFor, float]] = {"open": 0.8, "improvement": 2.5, "praise": 0.3}
# Only praise, to "what could be better?": nothing needs to change. It ranks above mild praise
# elsewhere but below a plain "Nothing" (the one weight chosen with the held-out figures in view).
PRAISE_INSTEAD_OF_CHANGE: Final = 1.0
# "What was good?" — "Everything!"
EVERYTHING: Final = frozenset({"everything", "everyone", "all", "everybody"})
EVERYTHING_PRAISE: Final = 1.0
# To "what could be better?", praise inside a request is wished for, not given: "Listening to my
# concerns", "Engage more with patients", "Staff could explain things better". A request opens
# with a verb in -ing, or asks for more, less or better, or says what staff could or should do;
# "nothing could be better" and "more than happy" are not requests.
CHANGE_WORDS: Final = frozenset({"more", "less", "fewer", "better"})
CHANGE_MODALS: Final = frozenset({"could", "should"})
NOT_CHANGE_AFTER: Final = frozenset({"than", "not", "never", "have"})
DENIALS: Final = frozenset({"any", "anything", "nobody", "nothing", "none", "no", "not", "never"})
THINGS: Final = frozenset({"nothing", "everything", "something", "anything"})
LINKING_VERBS: Final = frozenset({"is", "was", "are", "were", "has", "have", "had"})
# "Cleaner was a star", "Better than expected": a word that would open a request names someone,
# or compares, when one of these follows it ("Quicker at answering the phones" still asks).
NOT_A_REQUEST_AFTER: Final = LINKING_VERBS | {"who", "than"}
# "Could not have been done better", "there is nothing they could do better", "nothing more could
# be done": a comparative that a modal and a denial turn round says nothing needs to change, in any
# wording; only helping verbs may come between the modal and the comparative ("Could not give me
# more time" is a complaint).
MODALS: Final = frozenset({"could", "can", "would"})
COMPARATIVES: Final = frozenset({"better", "more", "improved", "bettered"})
BETWEEN_MODAL_AND_COMPARATIVE: Final = frozenset(
    [
        "not",
        "never",
        "nothing",
        "have",
        "has",
        "been",
        "be",
        "do",
        "done",
        "did",
        "any",
        "a",
        "an",
        "much",
        "anything",
        "possibly",
        "really",
        "ever",
        "get",
        "got",
        "it",
        "them",
    ]
)
CANNOT_BE_BETTER: Final = 0.8
# "Could not get an appointment", "can't see a GP", "unable to book": not being able to reach
# the service is a complaint, though no word of it is one.
INABILITY: Final = 0.6
ACCESS_VERBS: Final = frozenset(
    {
        "get",
        "see",
        "book",
        "reach",
        "contact",
        "speak",
        "talk",
        "find",
        "park",
        "hear",
        "understand",
        "access",
        "call",
        "phone",
        "ring",
        "make",
    }
)
UNABLE_OPENERS: Final = frozenset({"could", "can", "unable", "not"})
# Who may stand between "nothing more" and its modal: "nothing more they could have done".
DOERS: Final = frozenset({"they", "you", "we", "he", "she", "anyone", "anybody", "staff"})
STEEPNESS: Final = 0.9
TONE_THRESHOLD: Final = 0.1


@dataclass(frozen=True)
class Reading:
    """What sentiment found in an answer."""

    score: float
    praise: float
    criticism: float
    nothing_to_change: bool


def tone_of(score: float) -> Tone:
    """Negative, neutral or positive, with a narrow neutral band around zero."""
    if score <= -TONE_THRESHOLD:
        return "negative"
    if score >= TONE_THRESHOLD:
        return "positive"
    return "neutral"


def read(tokens: list[Token], lexicon: Lexicon, asks_for: AsksFor) -> Reading:
    """Score the tokens of one answer from −1 (very critical) to +1 (very positive)."""
    lead = _nothing_lead(tokens, lexicon)
    praise, criticism, no_change_phrase = _assess(tokens, lexicon, lead)
    nothing = criticism == 0 and (no_change_phrase or lead >= 0)
    if (
        asks_for == "improvement"
        and praise > 0
        and criticism == 0
        and not nothing
        and asks_for_change(tokens, lexicon)
    ):
        criticism = -SUGGESTION
    words = [token.lower for token in tokens if token.kind == "word"]
    if asks_for == "praise" and words and len(words) <= 3 and words[0] in EVERYTHING:
        praise += EVERYTHING_PRAISE
    # Praise adds up with diminishing returns: a long list of compliments does not cancel a problem.
    praise_felt = math.log1p(praise)
    if nothing:
        raw = praise_felt + NOTHING_TO_CHANGE[asks_for]
    elif asks_for == "improvement" and criticism == 0 and praise > 0:
        # Asked what could be better, they only praise: nothing needs to change, and more.
        nothing = True
        raw = praise_felt + PRAISE_INSTEAD_OF_CHANGE
    else:
        raw = (
            praise_felt
            - CRITICISM_WEIGHT[asks_for] * criticism
            + (PRIOR[asks_for] if words else 0.0)
        )
    return Reading(math.tanh(STEEPNESS * raw), praise, criticism, nothing)


def asks_for_change(tokens: list[Token], lexicon: Lexicon) -> bool:
    """Whether an answer is a request: "Listening to concerns", "Engage more", "Staff could…"."""
    words = [token.lower for token in tokens if token.kind == "word"]
    if not words:
        return False
    first = tokens[0] if tokens[0].kind == "word" else None
    if (
        first is not None
        and first.lower.endswith("ing")
        and len(first.lower) > 4
        and first.lower not in THINGS
        # "Caring staff", "Amazing" are praise, not requests; "Listening" barely counts as praise.
        and lexicon.sense(first.lower, first.stem).score < 0.5
        # "Listening to my concerns", "Offering more", not "Comforting and kind" or "Calming."
        and len(words) >= 2
        and words[1] not in LINKING_VERBS
        and not lexicon.sense(words[1], words[1]).breaks
    ):
        return True
    denied = False
    for i, word in enumerate(words):
        if word in DENIALS or lexicon.sense(word, word).breaks:
            # "I don't think you could do any better": denied until the clause ends.
            denied = word in DENIALS
            continue
        if denied:
            continue
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in CHANGE_WORDS and following != "than":
            return True
        if word in CHANGE_MODALS and following not in NOT_CHANGE_AFTER:
            return True
    return False


def says_nothing(tokens: list[Token], lexicon: Lexicon) -> bool:
    """Whether the answer opens with "nothing", "none", "not really", "can't think of anything"…"""
    return _nothing_lead(tokens, lexicon) >= 0


def _nothing_lead(tokens: list[Token], lexicon: Lexicon) -> int:
    """The position of the opening "nothing" (or "not really"…), or −1 when it does not open so."""
    skip, openers = lexicon.lead_skip, lexicon.nothing_openers
    i, n = 0, len(tokens)
    while i < n:
        word = tokens[i].lower
        for opener in openers:
            if opener[0] == word and _opens_with(tokens, i, opener):
                return i
        if word not in skip and word != ",":
            break
        i += 1
    if i == n or tokens[i].kind != "word":
        return -1
    first = tokens[i].lower
    if first not in lexicon.nothing_words:
        return -1
    following = tokens[i + 1] if i + 1 < n else None
    if following is None or following.kind == "stop" or following.lower in lexicon.lead_followers:
        return i
    return -1


def _cannot_be_better(tokens: list[Token], i: int, denied: bool) -> int:
    """How many words from `i` say "(nothing) could (not) be better", or 0 when they do not.

    `tokens[i]` is a modal ("could not do better", with `denied` when a "not" or "nothing" came
    earlier in the clause: "there is nothing they could do better"), or "nothing" followed by a
    comparative and a modal ("nothing more could be done").
    """
    n = len(tokens)
    if tokens[i].lower == "nothing":
        if tokens[i + 1].lower in COMPARATIVES and tokens[i + 2].lower in MODALS:
            return 3
        if (
            i + 3 < n
            and tokens[i + 1].lower in COMPARATIVES
            and tokens[i + 2].lower in DOERS
            and tokens[i + 3].lower in MODALS
        ):
            return 4
        return 0
    k = i + 1
    while k < n and tokens[k].lower in BETWEEN_MODAL_AND_COMPARATIVE:
        denied = denied or tokens[k].lower in ("not", "never", "nothing")
        k += 1
    if denied and k < n and tokens[k].lower in COMPARATIVES:
        return k + 1 - i
    return 0


def _unable(tokens: list[Token], i: int) -> int:
    """How many words from `i` say that someone could not reach the service ("could not get",
    "can not see", "unable to book", "not able to contact"), or 0 when they do not."""
    n = len(tokens)
    words = [tokens[k].lower for k in range(i, min(i + 4, n))]
    if len(words) >= 3 and words[0] in ("could", "can") and words[1] == "not":
        return 3 if words[2] in ACCESS_VERBS else 0
    if len(words) >= 3 and words[0] == "unable" and words[1] == "to":
        return 3 if words[2] in ACCESS_VERBS else 0
    if len(words) >= 4 and words[:3] == ["not", "able", "to"]:
        return 4 if words[3] in ACCESS_VERBS else 0
    return 0


def _opens_with(tokens: list[Token], i: int, words: tuple[str, ...]) -> bool:
    if i + len(words) > len(tokens):
        return False
    return all(tokens[i + k].lower == words[k] for k in range(1, len(words)))


def _assess(tokens: list[Token], lexicon: Lexicon, lead: int = -1) -> tuple[float, float, bool]:
    """(praise, criticism, says nothing needs to change) summed over the answer's words.

    `lead` is the position of an opening "Nothing"/"No", which answers the question rather than
    turning round the words after it ("Nothing, very supportive").
    """
    phrases, phrase_starts, sense = lexicon.phrases, lexicon.phrase_starts, lexicon.sense
    praise = criticism = 0.0
    no_change = False
    last = 0.0  # the score of the latest word, for "!" to strengthen
    negation_left = 0
    denied = False  # a "not", "nothing", "no one" earlier in this clause
    boost = 1.0
    wished = False
    clause_start = True
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token.kind == "stop":
            if last and token.text.startswith("!"):
                extra = last * (EXCLAIMED - 1.0)
                if extra > 0:
                    praise += extra
                else:
                    criticism -= extra
                last = 0.0
            negation_left, boost, wished, clause_start, denied = 0, 1.0, False, True, False
            i += 1
            continue
        word = sense(token.lower, token.stem)
        if word.breaks:
            negation_left, boost, wished, clause_start, denied = 0, 1.0, False, True, False
            i += 1
            continue
        score = 0.0
        width = 0
        if token.lower in MODALS or (token.lower == "nothing" and i + 2 < n):
            width = _cannot_be_better(tokens, i, denied)
            if width:
                praise += CANNOT_BE_BETTER
                no_change = True
                negation_left, boost, wished, clause_start = 0, 1.0, False, False
                last = CANNOT_BE_BETTER
                i += width
                continue
        width = _unable(tokens, i) if token.lower in UNABLE_OPENERS else 0
        if width:
            criticism += INABILITY
            negation_left, boost, wished, clause_start = 0, 1.0, False, False
            last = -INABILITY
            i += width
            continue
        if word.role in (NEGATION, SHORT_NEGATION):
            denied = True
        if i + 1 < n and token.stem in phrase_starts:
            for phrase, phrase_score, says_no_change in phrases.get(
                (token.stem, tokens[i + 1].stem), ()
            ):
                size = len(phrase)
                k = 2
                while k < size and i + k < n and tokens[i + k].stem == phrase[k]:
                    k += 1
                if k == size:
                    score, width = phrase_score, size
                    no_change = no_change or says_no_change
                    # "I do not think there is anything they could do better"
                    denied = denied or says_no_change
                    break
        if not width:
            width = 1
            role = word.role
            if i == lead:
                pass
            elif role == NEGATION:
                negation_left = NEGATION_REACH + 1
            elif role == SHORT_NEGATION:
                negation_left = 2
            elif role == INTENSIFIER:
                boost *= word.factor
                clause_start = False
                i += 1
                continue
            elif role == PRONOUN:
                negation_left = 0
            if word.wishes:
                wished = True
            requests = (
                clause_start
                and word.suggests
                and not (i + 1 < n and tokens[i + 1].lower in NOT_A_REQUEST_AFTER)
            )
            score = SUGGESTION if requests else word.score
        clause_start = False
        if score:
            if negation_left > 0:
                # "Could not give me more time": a request ("more time") stays one when denied.
                if not (score < 0 and width > 1 and token.lower in CHANGE_WORDS):
                    score *= NEGATED_PRAISE if score > 0 else NEGATED_CRITICISM
                negation_left = 0
            elif wished and score > 0 and width == 1:
                score *= WISHED_PRAISE
            score *= boost
            if token.shouted:
                score *= SHOUTED
            score = max(-1.0, min(1.0, score))
            if score > 0:
                praise += score
            else:
                criticism -= score
            last = score
            boost = 1.0
        elif negation_left > 0:
            negation_left -= 1
        i += width
    return praise, criticism, no_change
