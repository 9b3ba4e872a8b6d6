"""Read the YAML files admins edit (theme catalogues, the lexicon) and say what is wrong by line."""

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

MAX_BYTES: Final = 2_000_000


class InsightsFileError(Exception):
    """A catalogue or lexicon file that cannot be used, with where and why in plain words."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        super().__init__(source, line, message)
        self.source = source
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.source}, line {self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


def read_text(path: Path | Traversable) -> tuple[str, str]:
    """Return (text, name for messages) of a UTF-8 YAML file."""
    source = str(path) if isinstance(path, Path) else path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InsightsFileError(source, None, f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        message = f"the file is {len(raw):,} bytes; it can be at most {MAX_BYTES:,}"
        raise InsightsFileError(source, None, message)
    try:
        return raw.decode("utf-8-sig"), source
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "this is not UTF-8 text; save the file as UTF-8 and try again"
        raise InsightsFileError(source, line, message) from None


def parse(text: str, source: str) -> object:
    """Parse YAML, keeping the line of every node (round-trip mode)."""
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = str(exc.problem or exc.context or "").strip()
        if "duplicate key" in problem:
            message = "a name appears twice here; each field can be given only once"
        elif "'\\t'" in problem:
            message = "there is a tab here; YAML needs spaces for indenting, not tabs"
        else:
            message = f"this is not valid YAML ({problem}); check the indenting and quotes here"
        raise InsightsFileError(source, line, message) from None
    except (YAMLError, ValueError, TypeError) as exc:
        message = f"a value cannot be read ({exc}); if it is meant as text, put it in quotes"
        raise InsightsFileError(source, None, message) from None


def line_of(node: object, key: str | int | None = None) -> int | None:
    """The 1-based line of a node, or of one of its keys or items."""
    if isinstance(node, CommentedMap):
        if key is not None and key in node:
            return int(node.lc.key(key)[0]) + 1
        return int(node.lc.line) + 1
    if isinstance(node, CommentedSeq):
        if isinstance(key, int) and 0 <= key < len(node):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.line) + 1
    return None


def kind_of(value: object) -> str:
    """Say what a YAML value is, as an admin would: "a list", "a number", "some text"."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "some text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a set of fields"
    return "something else"
