"""Theme catalogues: what staff want answers sorted into, written by admins as YAML.

A theme is found in an answer by its keywords (matched after light stemming, so "repair" finds
"repairs" and "repaired"), its phrases (several words in a row, stronger evidence) and its
synonyms (other ways residents say it, abbreviations and common misspellings, matched exactly).
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final, Literal

from ruamel.yaml.comments import CommentedMap

from insights.text import Token, clean, tokenize
from insights.yamlfile import InsightsFileError, kind_of, line_of, parse, read_text

Pack = Literal["council", "health"]
SHIPPED_PACKS: Final[tuple[Pack, ...]] = ("council", "health")
SHIPPED_THEMES: Final[Traversable] = resources.files("insights") / "themes"
MAX_THEMES_PER_ANSWER: Final = 3
KEYWORD_WEIGHT: Final = 1.0
PHRASE_WEIGHT: Final = 2.0
# A theme after the first needs this much evidence (two of its words, or a phrase): one word in
# passing ("the shops", "I waited") is a loose association, not what the answer is about.
SECOND_THEME_MIN: Final = 2.0
_THEME_FIELDS: Final = (
    "name",
    "category",
    "description",
    "keywords",
    "phrases",
    "synonyms",
    "whole_service",
)
_TOP_FIELDS: Final = ("name", "description", "themes")


class CatalogueError(InsightsFileError):
    """A theme catalogue file that cannot be used."""


@dataclass(frozen=True)
class Theme:
    """One theme as the admin wrote it."""

    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    # The wider heading it sits under (the NHS framework's major category, say); may be empty.
    category: str = ""
    # The theme of the service as a whole: an answer that only praises and names no part of the
    # service ("Very helpful, thank you") is about all of it. At most one theme is marked so.
    whole_service: bool = False


# A term of several words: the words in a row it needs, which theme it speaks for, how strongly.
_Phrase = tuple[tuple[str, ...], int, float]


class ThemeCatalogue:
    """A set of themes, indexed so that finding them in an answer is a few dictionary look-ups."""

    def __init__(self, themes: Sequence[Theme], name: str = "") -> None:
        self.name = name
        self.themes: tuple[Theme, ...] = tuple(themes)
        # Keywords and phrases are matched on stems, synonyms on the exact lowercase words. Single
        # words are keyed by the word, longer terms by their first two words.
        self._stem_words: dict[str, list[tuple[int, float]]] = {}
        self._exact_words: dict[str, list[tuple[int, float]]] = {}
        self._stem_phrases: dict[tuple[str, str], list[_Phrase]] = {}
        self._exact_phrases: dict[tuple[str, str], list[_Phrase]] = {}
        # What each word on its own points at, worked out on first sight of the word.
        self._word_hits: dict[str, tuple[tuple[str, int, float], ...]] = {}
        for index, theme in enumerate(self.themes):
            for keyword in theme.keywords:
                self._add(_stems(keyword), index, KEYWORD_WEIGHT, exact=False)
            for phrase in theme.phrases:
                self._add(_stems(phrase), index, PHRASE_WEIGHT, exact=False)
            for synonym in theme.synonyms:
                self._add(_words(synonym), index, KEYWORD_WEIGHT, exact=True)
        self._stem_starts = frozenset(first for first, _ in self._stem_phrases)
        # The theme for praise of the whole service, when the catalogue marks one.
        self.whole_service: str | None = next(
            (theme.name for theme in self.themes if theme.whole_service), None
        )
        self._exact_starts = frozenset(first for first, _ in self._exact_phrases)

    def _hits(self, token: Token) -> tuple[tuple[str, int, float], ...]:
        hits = self._word_hits.get(token.lower)
        if hits is None:
            hits = tuple(
                [
                    (token.stem, theme, weight)
                    for theme, weight in self._stem_words.get(token.stem, ())
                ]
                + [
                    (token.lower, theme, weight)
                    for theme, weight in self._exact_words.get(token.lower, ())
                ]
            )
            if len(self._word_hits) < 100_000:
                self._word_hits[token.lower] = hits
        return hits

    def _add(self, words: tuple[str, ...], theme: int, weight: float, *, exact: bool) -> None:
        if len(words) == 1:
            singles = self._exact_words if exact else self._stem_words
            if (theme, weight) not in singles.setdefault(words[0], []):
                singles[words[0]].append((theme, weight))
        elif words:
            # A keyword of several words is a phrase, whatever the admin filed it under.
            phrases = self._exact_phrases if exact else self._stem_phrases
            phrases.setdefault((words[0], words[1]), []).append(
                (words, theme, max(weight, PHRASE_WEIGHT))
            )

    def category_of(self, name: str) -> str:
        """The category a theme sits under, or the theme's own name when it has none."""
        for theme in self.themes:
            if theme.name == name:
                return theme.category or theme.name
        return name

    @property
    def names(self) -> tuple[str, ...]:
        """The theme names, in catalogue order."""
        return tuple(theme.name for theme in self.themes)

    def find(self, tokens: Sequence[Token], limit: int = MAX_THEMES_PER_ANSWER) -> tuple[str, ...]:
        """The themes an answer speaks of: the one it opens with, then the rest, strongest first."""
        scores, first_seen, _ = self._scan(tokens)
        return self._rank(scores, first_seen, limit)

    def find_by_clause(
        self, tokens: Sequence[Token], starts: Sequence[int], limit: int = MAX_THEMES_PER_ANSWER
    ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The answer's themes, as `find` gives them, and the themes named in each clause.

        `starts` are the positions where clauses begin, in order, the first 0. One pass over the
        words serves both, so reading clause by clause costs little more than reading the whole.
        """
        scores, first_seen, hits = self._scan(tokens)
        per_clause: list[list[int]] = [[] for _ in starts]
        for position, theme in hits:
            found = per_clause[bisect_right(starts, position) - 1]
            if theme not in found:
                found.append(theme)
        names = [theme.name for theme in self.themes]
        return self._rank(scores, first_seen, limit), [
            tuple(names[theme] for theme in found) for found in per_clause
        ]

    def _scan(
        self, tokens: Sequence[Token]
    ) -> tuple[dict[int, float], dict[int, int], list[tuple[int, int]]]:
        """Each theme's score, where it is first named, and every (position, theme) named."""
        hits: list[tuple[int, int]] = []
        scores: dict[int, float] = {}
        first_seen: dict[int, int] = {}
        # Each term counts once: "wait… waited… waiting" is one mention of waiting.
        seen: set[tuple[str, int]] = set()
        stem_phrases, exact_phrases = self._stem_phrases, self._exact_phrases
        stem_starts, exact_starts = self._stem_starts, self._exact_starts
        n = len(tokens)
        for i, token in enumerate(tokens):
            if token.kind != "word":
                continue
            matches = self._hits(token)
            if i + 1 < n and (token.stem in stem_starts or token.lower in exact_starts):
                after = tokens[i + 1]
                found = [
                    (" ".join(words), theme, weight)
                    for words, theme, weight in stem_phrases.get((token.stem, after.stem), ())
                    if _follows(tokens, i, words, exact=False)
                ] + [
                    (" ".join(words), theme, weight)
                    for words, theme, weight in exact_phrases.get((token.lower, after.lower), ())
                    if _follows(tokens, i, words, exact=True)
                ]
                if found:
                    # A phrase says more than a word inside it: at one place, it leads ("walk in
                    # centre" opens Access, not the walks of Activities).
                    matches = (*found, *matches)
            for term, theme, weight in matches:
                hits.append((i, theme))
                if (term, theme) in seen:
                    continue
                seen.add((term, theme))
                scores[theme] = scores.get(theme, 0.0) + weight
                first_seen.setdefault(theme, i)
        return scores, first_seen, hits

    def _rank(
        self, scores: dict[int, float], first_seen: dict[int, int], limit: int
    ) -> tuple[str, ...]:
        if not scores:
            return ()
        # The first theme is the one the answer opens with: people lead with their main point
        # (on real feedback this matches people's own labels far better than counting words).
        # The others follow by weight of evidence.
        opening = min(first_seen, key=first_seen.__getitem__)
        rest = sorted(
            (theme for theme in scores if theme != opening and scores[theme] >= SECOND_THEME_MIN),
            key=lambda theme: (-scores[theme], first_seen[theme]),
        )
        return tuple(self.themes[theme].name for theme in [opening, *rest][:limit])

    def covers(self, phrase: str) -> bool:
        """Whether any theme would be found in this phrase on its own."""
        return bool(self.find(tokenize(clean(phrase)), limit=1))


def _follows(tokens: Sequence[Token], i: int, words: tuple[str, ...], *, exact: bool) -> bool:
    if i + len(words) > len(tokens):
        return False
    for k in range(2, len(words)):
        token = tokens[i + k]
        if (token.lower if exact else token.stem) != words[k]:
            return False
    return True


def _stems(text: str) -> tuple[str, ...]:
    return tuple(t.stem for t in tokenize(clean(text.lower())) if t.kind == "word")


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.lower for t in tokenize(clean(text.lower())) if t.kind == "word")


def load_catalogue(path: Path | Traversable) -> ThemeCatalogue:
    """Read and check a theme catalogue YAML file."""
    try:
        text, source = read_text(path)
    except InsightsFileError as exc:
        raise CatalogueError(exc.source, exc.line, exc.message) from None
    return parse_catalogue(text, source)


def shipped_catalogue(pack: Pack) -> ThemeCatalogue:
    """One of the catalogues that come with whatmatters: "council" or "health"."""
    return load_catalogue(SHIPPED_THEMES / f"{pack}.yaml")


def catalogue_for(setting: str) -> ThemeCatalogue:
    """The catalogue a setting names: a shipped pack ("council", "health") or a YAML file's path.

    A file that is missing or cannot be read raises `CatalogueError` naming the file (and the line,
    where there is one), so the command line can say it in one line.
    """
    for pack in SHIPPED_PACKS:
        if setting == pack:
            return shipped_catalogue(pack)
    return load_catalogue(Path(setting))


def parse_catalogue(text: str, source: str = "<catalogue>") -> ThemeCatalogue:
    """Read and check a theme catalogue from YAML text; `source` names it in messages."""
    try:
        tree = parse(text, source)
    except InsightsFileError as exc:
        raise CatalogueError(exc.source, exc.line, exc.message) from None
    if tree is None:
        raise CatalogueError(source, None, "the file is empty; a catalogue needs a list of themes")
    if not isinstance(tree, CommentedMap):
        message = f"a catalogue should be a set of fields (name:, themes:), not {kind_of(tree)}"
        raise CatalogueError(source, line_of(tree), message)
    _check_fields(tree, _TOP_FIELDS, "the catalogue", source)
    name = _text(tree, "name", source, "the catalogue")
    _text(tree, "description", source, "the catalogue")
    themes_node = tree.get("themes")
    if not isinstance(themes_node, list) or not themes_node:
        message = 'the catalogue needs "themes:", a list of themes, each starting with "- name:"'
        raise CatalogueError(source, line_of(tree, "themes") or line_of(tree), message)
    themes: list[Theme] = []
    lines: dict[str, int | None] = {}
    for position, node in enumerate(themes_node, start=1):
        line = line_of(themes_node, position - 1)
        where = f"theme {position}"
        if not isinstance(node, CommentedMap):
            message = (
                f"{where} should be a set of fields (name:, keywords:, …), not {kind_of(node)}"
            )
            raise CatalogueError(source, line, message)
        theme_name = _text(node, "name", source, where)
        if not theme_name:
            raise CatalogueError(source, line, f"{where} needs a name")
        where = f'theme "{theme_name}"'
        _check_fields(node, _THEME_FIELDS, where, source)
        if theme_name.casefold() in lines:
            earlier = lines[theme_name.casefold()]
            message = f"{where} is already named on line {earlier}; each theme needs its own name"
            raise CatalogueError(source, line_of(node, "name"), message)
        lines[theme_name.casefold()] = line_of(node, "name")
        theme = Theme(
            name=theme_name,
            description=_text(node, "description", source, where),
            keywords=_list(node, "keywords", source, where),
            phrases=_list(node, "phrases", source, where),
            synonyms=_list(node, "synonyms", source, where),
            category=_text(node, "category", source, where),
            whole_service=_flag(node, "whole_service", source, where),
        )
        if theme.whole_service and any(earlier.whole_service for earlier in themes):
            first = next(earlier.name for earlier in themes if earlier.whole_service)
            message = f'{where} and "{first}" are both marked whole_service; mark one theme only'
            raise CatalogueError(source, line_of(node, "whole_service"), message)
        if not (theme.keywords or theme.phrases or theme.synonyms):
            message = (
                f"{where} has no keywords, phrases or synonyms, so no answer could ever have it"
            )
            raise CatalogueError(source, line, message)
        themes.append(theme)
    return ThemeCatalogue(themes, name=name)


def _check_fields(node: CommentedMap, allowed: Iterable[str], where: str, source: str) -> None:
    allowed = tuple(allowed)
    for key in node:
        if key not in allowed:
            close = get_close_matches(str(key), allowed, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; use {', '.join(allowed)}"
            message = f'{where} has "{key}", which is not a field a catalogue knows{hint}'
            raise CatalogueError(source, line_of(node, key), message)


def _text(node: CommentedMap, key: str, source: str, where: str) -> str:
    value = node.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        message = f'{where}: "{key}" should be some text, not {kind_of(value)}'
        raise CatalogueError(source, line_of(node, key), message)
    return value.strip()


def _flag(node: CommentedMap, key: str, source: str, where: str) -> bool:
    value = node.get(key, False)
    if not isinstance(value, bool):
        message = f'{where}: "{key}" should be true or false, not {kind_of(value)}'
        raise CatalogueError(source, line_of(node, key), message)
    return value


def _list(node: CommentedMap, key: str, source: str, where: str) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        message = (
            f'{where}: "{key}" should be a list, like [word, another word], not {kind_of(value)}'
        )
        raise CatalogueError(source, line_of(node, key), message)
    items: list[str] = []
    for position, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            line = line_of(value, position) or line_of(node, key)
            what = kind_of(item)
            message = (
                f'{where}: item {position + 1} of "{key}" should be a word or phrase, not {what}'
            )
            raise CatalogueError(source, line, message)
        items.append(item.strip())
    return tuple(items)
