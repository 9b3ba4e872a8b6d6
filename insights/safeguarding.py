"""Safeguarding signals: words in an answer that suggest someone may be at risk.

The list of phrases is a YAML file a safeguarding lead can read and change (the shipped one is
`insights/safeguarding.yaml`; its opening comment explains how phrases are written). Finding
signals is a few dictionary look-ups per word, because every answer passes through it at ingest.

A phrase matches words in a row, each word in any of its common forms ("hit" finds "hits" and
"hitting", "die" finds "died" and "dying"), with at most one small filler word ("just",
"really"…) between two of its words. Contractions are spelled out first, the same way for the
phrase and the answer, so "can't go on", "cant go on" and "cannot go on" are one phrase.
Some phrases count only after a negation ("I don't feel safe at home"); everything else counts
negated or not, because "I don't want to die" is still said by someone thinking about it.
Exceptions are everyday idioms ("to die for", "killing myself laughing"): a phrase whose words
overlap one of them does not count.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from ruamel.yaml.comments import CommentedMap

from insights.text import Token, clean, stem, tokenize
from insights.yamlfile import InsightsFileError, kind_of, line_of, parse, read_text

SHIPPED_SAFEGUARDING: Final[Traversable] = resources.files("insights") / "safeguarding.yaml"

# Words that may stand between two words of a phrase, at most one at a time: "want to just die",
# "he really hits me", "he is hitting me". Never a negation: "want to not die" is not "want to die".
FILLER_WORDS: Final = frozenset(
    {
        "just",
        "really",
        "so",
        "actually",
        "literally",
        "honestly",
        "genuinely",
        "seriously",
        "truly",
        "simply",
        "even",
        "still",
        "sometimes",
        "often",
        "always",
        "again",
        "now",
        "also",
        "then",
        "ever",
        "constantly",
        "regularly",
        "am",
        "is",
        "are",
        "was",
        "were",
        "been",
        "has",
        "had",
        "have",
        "will",
        "would",
        "does",
        "did",
        "keeps",
        "kept",
    }
)
# What makes an "only when negated" phrase count, within a few words before it ("I do not really
# feel safe at home", "I have never felt safe at home", "I no longer feel safe at home").
NEGATIONS: Final = frozenset({"not", "never", "nor", "hardly", "barely", "scarcely"})
NEGATION_WINDOW: Final = 4
_NEGATION_WORDS: Final = NEGATIONS | {"no"}
# A negation before one of these belongs to another part of the sentence.
_CLAUSE_BREAKS: Final = frozenset({"but", "and", "though", "although", "because", "however", "yet"})
# What {reopens} says when the bot does not know when the office opens again.
REOPENS_UNKNOWN: Final = "the next working day"
_PLACEHOLDER_RE: Final = re.compile(r"\{([^{}]*)\}")
_NAME_RE: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VOWELS: Final = frozenset("aeiou")
_WORD_CACHE_SIZE: Final = 100_000

_TOP_FIELDS: Final = ("categories", "exceptions", "signposting", "helplines")
_CATEGORY_FIELDS: Final = ("name", "label", "phrases", "only_when_negated")
_SIGNPOSTING_FIELDS: Final = ("in_hours", "out_of_hours")
_HELPLINE_FIELDS: Final = ("name", "contact", "when")


class SafeguardingError(InsightsFileError):
    """A safeguarding list that cannot be used, with its line and what is wrong in plain words."""


@dataclass(frozen=True)
class Signal:
    """One sign of risk found in an answer."""

    category: str  # e.g. "self-harm"
    label: str  # e.g. "Self-harm or suicide"
    phrase: str  # the phrase as the admin wrote it, that matched


@dataclass(frozen=True)
class Category:
    """A kind of risk, as the admin wrote it."""

    name: str
    label: str
    phrases: tuple[str, ...] = ()
    only_when_negated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Helpline:
    """Somewhere a resident can get help, listed in the signposting message."""

    name: str
    contact: str
    when: str = ""

    def line(self) -> str:
        """The helpline as one line of the message: "• Samaritans: call 116 123 (any time)"."""
        when = f" ({self.when})" if self.when else ""
        return f"• {self.name}: {self.contact}{when}"


# One word of a phrase: the stems and lowercase forms that fill it.
_Slot = frozenset[str]


@dataclass(frozen=True)
class _Pattern:
    slots: tuple[_Slot, ...]
    category: int  # index into categories, or -1 for an exception
    phrase: str
    negated: bool


class SafeguardingList:
    """The categories, idioms and signposting of a safeguarding list, indexed for `find`."""

    def __init__(
        self,
        categories: Sequence[Category],
        exceptions: Sequence[str] = (),
        *,
        in_hours: str,
        out_of_hours: str,
        helplines: Sequence[Helpline],
    ) -> None:
        self.categories: tuple[Category, ...] = tuple(categories)
        self.exceptions: tuple[str, ...] = tuple(exceptions)
        self.helplines: tuple[Helpline, ...] = tuple(helplines)
        self.in_hours = in_hours
        self.out_of_hours = out_of_hours
        phrases: list[_Pattern] = []
        for index, category in enumerate(self.categories):
            for phrase in category.phrases:
                phrases.append(_Pattern(_slots(phrase), index, phrase, negated=False))
            for phrase in category.only_when_negated:
                phrases.append(_Pattern(_slots(phrase), index, phrase, negated=True))
        self._phrases = _Index(phrases)
        self._exceptions = _Index(_Pattern(_slots(e), -1, e, negated=False) for e in exceptions)

    def find(self, text: str) -> tuple[Signal, ...]:
        """The signs of risk in an answer: at most one per category, in the order they appear."""
        tokens = tokenize(clean(text))
        found = self._phrases.matches(tokens)
        if not found:
            return ()
        idioms = self._exceptions.matches(tokens)
        first: dict[int, tuple[int, _Pattern]] = {}
        for start, end, pattern in found:
            if pattern.category in first:
                continue
            if any(start < i_end and i_start < end for i_start, i_end, _ in idioms):
                continue
            if pattern.negated and not _negated(tokens, start):
                continue
            first[pattern.category] = (start, pattern)
        return tuple(
            Signal(
                category=self.categories[p.category].name,
                label=self.categories[p.category].label,
                phrase=p.phrase,
            )
            for _, p in sorted(first.values(), key=lambda item: item[0])
        )

    def signposting(self, *, out_of_hours: bool, reopens: str | None = None) -> str:
        """The kind, plain-text message that points the resident to help."""
        template = self.out_of_hours if out_of_hours else self.in_hours
        helplines = "\n".join(helpline.line() for helpline in self.helplines)
        text = template.replace("{reopens}", (reopens or "").strip() or REOPENS_UNKNOWN)
        return text.replace("{helplines}", helplines).strip()


class _Index:
    """Phrases keyed by their first word, or by their first two (skipping a filler between them).

    Nearly every word of an answer is a dictionary miss; a phrase that starts with a common word
    ("he", "my", "can") is only tried when its second word follows.
    """

    def __init__(self, patterns: Iterable[_Pattern]) -> None:
        singles: dict[str, list[_Pattern]] = {}
        pairs: dict[tuple[str, str], list[_Pattern]] = {}
        for pattern in patterns:
            if len(pattern.slots) == 1:
                for key in pattern.slots[0]:
                    singles.setdefault(key, []).append(pattern)
                continue
            for first in pattern.slots[0]:
                for second in pattern.slots[1]:
                    pairs.setdefault((first, second), []).append(pattern)
        self.singles = {key: tuple(found) for key, found in singles.items()}
        self.pairs = {key: tuple(found) for key, found in pairs.items()}
        self.starts = frozenset(first for first, _ in self.pairs)
        # What each word points at, worked out on first sight of it: (phrases of that one word,
        # the keys it may start a longer phrase with, or () if it starts none).
        self._words: dict[str, tuple[tuple[_Pattern, ...], tuple[str, ...]]] = {}

    def _word(self, token: Token) -> tuple[tuple[_Pattern, ...], tuple[str, ...]]:
        found = self._words.get(token.lower)
        if found is None:
            keys = (token.stem,) if token.lower == token.stem else (token.stem, token.lower)
            singles = tuple(p for key in keys for p in self.singles.get(key, ()))
            found = (singles, tuple(key for key in keys if key in self.starts))
            if len(self._words) < _WORD_CACHE_SIZE:
                self._words[token.lower] = found
        return found

    def matches(self, tokens: Sequence[Token]) -> list[tuple[int, int, _Pattern]]:
        """Every (start, end, pattern) found in the tokens, in text order, longest first."""
        found: list[tuple[int, int, _Pattern]] = []
        pairs, word = self.pairs, self._word
        n = len(tokens)
        for i, token in enumerate(tokens):
            if token.kind != "word":
                continue
            singles, firsts = word(token)
            for pattern in singles:
                found.append((i, i + 1, pattern))
            if not firsts or i + 1 == n:
                continue
            tried: set[int] = set()
            for j in (i + 1, i + 2):
                if j >= n:
                    break
                after = tokens[j]
                for first in firsts:
                    for second in {after.stem, after.lower}:
                        for pattern in pairs.get((first, second), ()):
                            if id(pattern) in tried:
                                continue
                            tried.add(id(pattern))
                            end = _follow(tokens, i + 1, pattern.slots)
                            if end:
                                found.append((i, end, pattern))
                if tokens[i + 1].lower not in FILLER_WORDS:
                    break
        found.sort(key=lambda match: (match[0], match[0] - match[1]))
        return found


def _follow(tokens: Sequence[Token], j: int, slots: tuple[_Slot, ...]) -> int:
    """Where a phrase whose first word is just before `j` ends, or 0 if it does not go on."""
    n = len(tokens)
    for slot in slots[1:]:
        if j < n and _fills(tokens[j], slot):
            j += 1
        elif j + 1 < n and tokens[j].lower in FILLER_WORDS and _fills(tokens[j + 1], slot):
            j += 2
        else:
            return 0
    return j


def _fills(token: Token, slot: _Slot) -> bool:
    return token.kind == "word" and (token.stem in slot or token.lower in slot)


def _negated(tokens: Sequence[Token], start: int) -> bool:
    """Whether a negation comes a few words before `start`, in the same part of the sentence."""
    for j in range(start - 1, max(start - 1 - NEGATION_WINDOW, -1), -1):
        token = tokens[j]
        if token.kind == "stop" or token.lower in _CLAUSE_BREAKS:
            return False
        if token.lower in NEGATIONS:
            return True
        # "no longer feel safe at home"
        if token.lower == "longer" and j > 0 and tokens[j - 1].lower == "no":
            return True
    return False


# --- Phrases as admins write them -----------------------------------------------------------------


class _PhraseProblem(ValueError):
    """What is wrong with one phrase, in plain words (the caller adds where it is)."""


def _slots(phrase: str) -> tuple[_Slot, ...]:
    """The words of a phrase, each as the set of forms that match it."""
    slots: list[_Slot] = []
    only_filler = True
    for part in phrase.lower().split():
        choices = part.split("|")
        if any(not choice.strip() for choice in choices):
            raise _PhraseProblem(
                f'"{part}" has an empty choice; put a word on each side of every |'
            )
        words = [_words(choice) for choice in choices]
        only_filler = only_filler and all(w in FILLER_WORDS for ws in words for w in ws)
        if len(choices) == 1:
            slots.extend(frozenset(_forms(word)) for word in words[0])
            continue
        for choice, choice_words in zip(choices, words, strict=True):
            if len(choice_words) != 1:
                said = " ".join(choice_words) or "no word"
                raise _PhraseProblem(
                    f'"{choice}" in "{part}" counts as {said}; each choice either side of | must '
                    "be a single word, so write it as a phrase of its own"
                )
        slots.append(frozenset(form for (word,) in words for form in _forms(word)))
    if not slots:
        raise _PhraseProblem("it has no words")
    if only_filler:
        raise _PhraseProblem(
            "it is only small filler words, which would be found in almost every answer; "
            "add the words that make it a sign of risk"
        )
    return tuple(slots)


def _words(text: str) -> list[str]:
    return [t.lower for t in tokenize(clean(text)) if t.kind == "word"]


def _forms(word: str) -> set[str]:
    """The stems of a word's common forms, so "die" finds "died" and "dying", "abuse" "abused"."""
    if len(word) < 2:
        return {word}  # "I"
    if not word.isalpha():
        # "self-harm": the stemmer leaves such words alone, so their endings are listed here.
        return {word, stem(word), word + "s", word + "ed", word + "ing"}
    if word.endswith("ie"):
        forms = {word + "s", word + "d", word[:-2] + "ying"}
    elif word.endswith("e"):
        forms = {word + "s", word + "d", word[:-1] + "ing"}
    elif word.endswith("y") and word[-2] not in _VOWELS:
        forms = {word[:-1] + "ies", word[:-1] + "ied", word + "ing"}
    elif word.endswith(("s", "sh", "ch", "x", "z")):
        forms = {word + "es", word + "ed", word + "ing"}
    elif _ends_cvc(word) and _syllables(word) == 1:
        # "hit" → "hitting", "hitted" (never "hiting", which would be "hite")
        forms = {word + "s", word + word[-1] + "ed", word + word[-1] + "ing"}
    elif _ends_cvc(word):
        # "threaten" → "threatened"; "control" → "controlled" (British spelling doubles the l)
        forms = {word + "s", word + "ed", word + "ing", word + word[-1] + "ed"}
        forms.add(word + word[-1] + "ing")
    else:
        forms = {word + "s", word + "ed", word + "ing"}
    return {word, stem(word)} | {stem(form) for form in forms}


def _ends_cvc(word: str) -> bool:
    if len(word) < 3:
        return False
    a, b, c = word[-3], word[-2], word[-1]
    return a not in _VOWELS and b in _VOWELS and c not in _VOWELS and c not in "wxy"


def _syllables(word: str) -> int:
    return sum(
        1 for i, c in enumerate(word) if c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS)
    )


# --- Reading the YAML -----------------------------------------------------------------------------


def parse_safeguarding(text: str, source: str = "safeguarding.yaml") -> SafeguardingList:
    """Read and check a safeguarding list from YAML text; `source` names it in messages."""
    try:
        tree = parse(text, source)
    except InsightsFileError as exc:
        raise SafeguardingError(exc.source, exc.line, exc.message) from None
    if tree is None:
        raise SafeguardingError(source, None, "the file is empty; it needs categories of phrases")
    if not isinstance(tree, CommentedMap):
        message = (
            "a safeguarding list should be a set of fields (categories:, exceptions:, "
            f"signposting:, helplines:), not {kind_of(tree)}"
        )
        raise SafeguardingError(source, line_of(tree), message)
    _check_fields(tree, _TOP_FIELDS, "the file", source)
    categories = _categories(tree, source)
    exceptions = _phrase_list(tree, "exceptions", source, "the file")
    for position, exception in enumerate(exceptions):
        _check_phrase(exception, source, line_of(tree.get("exceptions"), position), "exception")
    helplines = _helplines(tree, source)
    in_hours, out_of_hours = _signposting(tree, source)
    return SafeguardingList(
        categories,
        exceptions,
        in_hours=in_hours,
        out_of_hours=out_of_hours,
        helplines=helplines,
    )


def load_safeguarding(path: Path | Traversable | None = None) -> SafeguardingList:
    """Read and check a safeguarding list YAML file (the shipped one if no path is given)."""
    try:
        text, source = read_text(SHIPPED_SAFEGUARDING if path is None else path)
    except InsightsFileError as exc:
        raise SafeguardingError(exc.source, exc.line, exc.message) from None
    return parse_safeguarding(text, source)


@cache
def shipped_safeguarding() -> SafeguardingList:
    """The safeguarding list that comes with whatmatters, read once."""
    return load_safeguarding()


def _categories(tree: CommentedMap, source: str) -> list[Category]:
    node = tree.get("categories")
    if not isinstance(node, list) or not node:
        message = 'the file needs "categories:", a list of kinds of risk, each starting "- name:"'
        raise SafeguardingError(source, line_of(tree, "categories") or line_of(tree), message)
    categories: list[Category] = []
    lines: dict[str, int | None] = {}
    for position, item in enumerate(node, start=1):
        line = line_of(node, position - 1)
        where = f"category {position}"
        if not isinstance(item, CommentedMap):
            message = (
                f"{where} should be a set of fields (name:, label:, phrases:), not {kind_of(item)}"
            )
            raise SafeguardingError(source, line, message)
        name = _text(item, "name", source, where)
        if not name:
            raise SafeguardingError(source, line, f'{where} needs a "name:", like self-harm')
        if not _NAME_RE.fullmatch(name):
            message = (
                f'{where}: the name "{name}" should be lowercase letters and numbers joined by '
                'hyphens, like "self-harm" (the label is what staff read)'
            )
            raise SafeguardingError(source, line_of(item, "name"), message)
        where = f'category "{name}"'
        _check_fields(item, _CATEGORY_FIELDS, where, source)
        if name in lines:
            message = f"{where} is already on line {lines[name]}; each category needs its own name"
            raise SafeguardingError(source, line_of(item, "name"), message)
        lines[name] = line_of(item, "name")
        label = _text(item, "label", source, where)
        if not label:
            message = f'{where} needs a "label:", the words staff see, like "Self-harm or suicide"'
            raise SafeguardingError(source, line, message)
        phrases = _phrase_list(item, "phrases", source, where)
        negated = _phrase_list(item, "only_when_negated", source, where)
        if not phrases and not negated:
            message = f"{where} has no phrases, so it could never be found; add some under phrases:"
            raise SafeguardingError(source, line, message)
        for field, group in (("phrases", phrases), ("only_when_negated", negated)):
            for index, phrase in enumerate(group):
                phrase_line = line_of(item.get(field), index)
                _check_phrase(phrase, source, phrase_line, f"{where}: the phrase")
                if field == "only_when_negated" and any(
                    slot & _NEGATION_WORDS for slot in _slots(phrase)
                ):
                    message = (
                        f'{where}: "{phrase}" is under only_when_negated but already has a '
                        'negation in it; leave the negation out (write "feel safe at home", '
                        'not "don\'t feel safe at home"), or move it to phrases:'
                    )
                    raise SafeguardingError(source, phrase_line, message)
        categories.append(Category(name, label, phrases, negated))
    return categories


def _check_phrase(phrase: str, source: str, line: int | None, what: str) -> None:
    try:
        _slots(phrase)
    except _PhraseProblem as exc:
        raise SafeguardingError(source, line, f'{what} "{phrase}" cannot be used: {exc}') from None


def _helplines(tree: CommentedMap, source: str) -> list[Helpline]:
    node = tree.get("helplines")
    if not isinstance(node, list) or not node:
        message = (
            'the file needs "helplines:", a list of places to get help, each with name:, '
            "contact: and when:"
        )
        raise SafeguardingError(source, line_of(tree, "helplines") or line_of(tree), message)
    helplines: list[Helpline] = []
    for position, item in enumerate(node, start=1):
        where = f"helpline {position}"
        if not isinstance(item, CommentedMap):
            message = (
                f"{where} should be a set of fields (name:, contact:, when:), not {kind_of(item)}"
            )
            raise SafeguardingError(source, line_of(node, position - 1), message)
        _check_fields(item, _HELPLINE_FIELDS, where, source)
        helpline = Helpline(
            name=_text(item, "name", source, where),
            contact=_text(item, "contact", source, where),
            when=_text(item, "when", source, where),
        )
        for field in ("name", "contact"):
            if not getattr(helpline, field):
                message = f'{where} needs "{field}:"'
                raise SafeguardingError(source, line_of(item, field) or line_of(item), message)
        helplines.append(helpline)
    return helplines


def _signposting(tree: CommentedMap, source: str) -> tuple[str, str]:
    node = tree.get("signposting")
    if not isinstance(node, CommentedMap):
        message = (
            'the file needs "signposting:" with two messages under it, in_hours: and out_of_hours:'
        )
        raise SafeguardingError(source, line_of(tree, "signposting") or line_of(tree), message)
    _check_fields(node, _SIGNPOSTING_FIELDS, "signposting", source)
    texts: list[str] = []
    for field in _SIGNPOSTING_FIELDS:
        text = _text(node, field, source, "signposting")
        line = line_of(node, field) or line_of(node)
        if not text:
            raise SafeguardingError(source, line, f'signposting needs "{field}:", the message sent')
        needed = ["helplines", "reopens"] if field == "out_of_hours" else ["helplines"]
        for placeholder in _PLACEHOLDER_RE.findall(text):
            if placeholder not in needed:
                known = " and ".join("{" + p + "}" for p in needed)
                message = (
                    f"signposting {field} has {{{placeholder}}}, which the bot cannot fill in; "
                    f"it can use {known}"
                )
                raise SafeguardingError(source, line, message)
        for placeholder in needed:
            if "{" + placeholder + "}" not in text:
                what = (
                    "where the list of helplines goes"
                    if placeholder == "helplines"
                    else 'where the day and time the office opens again goes ("Monday at 09:00")'
                )
                message = f"signposting {field} needs {{{placeholder}}}, {what}"
                raise SafeguardingError(source, line, message)
        texts.append(text)
    return texts[0], texts[1]


def _check_fields(node: CommentedMap, allowed: tuple[str, ...], where: str, source: str) -> None:
    for key in node:
        if key not in allowed:
            close = get_close_matches(str(key), allowed, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; use {', '.join(allowed)}"
            message = f'{where} has "{key}", which is not a field of a safeguarding list{hint}'
            raise SafeguardingError(source, line_of(node, key), message)


def _text(node: CommentedMap, key: str, source: str, where: str) -> str:
    value = node.get(key)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a phone number such as 999 or 111
    if not isinstance(value, str):
        message = f'{where}: "{key}" should be some text, not {kind_of(value)}'
        raise SafeguardingError(source, line_of(node, key), message)
    return value.strip()


def _phrase_list(node: CommentedMap, key: str, source: str, where: str) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        message = f'{where}: "{key}" should be a list of phrases, one per line starting "- "'
        raise SafeguardingError(source, line_of(node, key), message)
    items: list[str] = []
    for position, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            line = line_of(value, position) or line_of(node, key)
            what = "empty" if isinstance(item, str) else kind_of(item)
            message = (
                f'{where}: item {position + 1} of "{key}" should be a phrase, not {what}; '
                "write the words, or remove the line"
            )
            raise SafeguardingError(source, line, message)
        items.append(" ".join(item.split()))
    return tuple(items)
