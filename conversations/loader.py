"""Read flow YAML into a `Flow`, describing each problem in plain words at its file, line and field.

Admins write flows without a developer, so nothing here may surface a traceback or a raw pydantic
dump: every failure becomes a `FlowFileError` listing `FlowProblem`s.

Some things are worth saying but do not stop a flow from being used, such as a text not yet
translated into one of the flow's languages: `check_flow` returns those as warnings, also placed
at their line, and `flow_warnings` says them for a flow already loaded.
"""

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from conversations import wording
from conversations.model import (
    FLOW_ISSUES_ERROR,
    LANGUAGE_PATTERN,
    LANGUAGE_REGEX,
    STEP_KINDS,
    AsksFor,
    Flow,
    FlowIssue,
    Loc,
    Option,
    Records,
    Reminder,
    ScaleLabels,
    Step,
)

MAX_FLOW_BYTES: Final = 1_000_000
SHIPPED_FLOWS_DIR: Final[Traversable] = resources.files("conversations") / "flows"

# A flow nests a few levels deep and has at most tens of thousands of values. Past these, the
# YAML is either not a flow or uses anchors and aliases (&a / *a) to multiply itself, which would
# make validation take forever.
_MAX_DEPTH: Final = 20
_MAX_VALUES: Final = 200_000


@dataclass(frozen=True)
class FlowProblem:
    """One problem in a flow file: where it is, which field, and what to do about it."""

    line: int | None
    field: str
    message: str
    # The step the problem is in: its id when it has a usable one, and its position (from 1).
    step_id: str | None = None
    step_number: int | None = None

    def describe(self, source: str) -> str:
        """Say the problem in one line, e.g. `f.yaml, line 30, step "thanks" → next: …`.

        With an empty `source` and no line, just the place in the flow: `step "thanks" → …`.
        """
        where = [source] if source else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.step_id is not None:
            where.append(f'step "{self.step_id}"')
        elif self.step_number is not None:
            where.append(f"step {self.step_number}")
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{', '.join(where)} → {what}" if where else what


class FlowFileError(Exception):
    """A flow file that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[FlowProblem]) -> None:
        super().__init__(source, problems)
        self.source = source
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(problem.describe(self.source) for problem in self.problems)


def load_flow(path: Path | Traversable) -> Flow:
    """Read and check the flow in a YAML file."""
    return parse_flow(*_read_file(path))


def check_flow_file(path: Path | Traversable) -> tuple[Flow, list[FlowProblem]]:
    """Read and check the flow in a YAML file, as `check_flow` does; problems name the path."""
    return check_flow(*_read_file(path))


def _read_file(path: Path | Traversable) -> tuple[str, str]:
    """The text of a flow file and the name to give it in problems."""
    source = str(path) if isinstance(path, Path) else path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FlowFileError(source, [FlowProblem(None, "", f"cannot read it: {reason}")]) from None
    _check_size(len(raw), source)
    try:
        # utf-8-sig: editors on Windows often start the file with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "this is not UTF-8 text; save the file as UTF-8 and try again"
        raise FlowFileError(source, [FlowProblem(line, "", message)]) from None
    return text, source


def parse_flow(text: str, source: str = "<flow>") -> Flow:
    """Read and check a flow from YAML text; `source` names it in error messages."""
    flow, _, _ = _parse(text, source)
    return flow


def check_flow(text: str, source: str = "<flow>") -> tuple[Flow, list[FlowProblem]]:
    """Read and check a flow from YAML text, and what is worth a warning, top to bottom.

    Raises `FlowFileError`, as `parse_flow` does, if the flow cannot be used. The warnings are
    `FlowProblem`s with their line, e.g. a text with no translation into one of the languages;
    `problem.describe(source)` says each in one line.
    """
    flow, tree, data = _parse(text, source)
    warnings = [_problem_at(tree, data, issue.loc, issue.message) for issue in _warnings(flow)]
    return flow, sorted(dict.fromkeys(warnings), key=lambda problem: problem.line or 0)


def flow_warnings(flow: Flow) -> list[str]:
    """What is worth a warning in a flow, one line each, e.g.

    `step "matters" → text: no "cy" translation; residents choosing cy will see the en text`
    """
    warnings = []
    for issue in _warnings(flow):
        step_id, step_number, loc = None, None, issue.loc
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            step_id, step_number, loc = flow.steps[loc[1]].id, loc[1] + 1, loc[2:]
        problem = FlowProblem(None, _field_name(loc), issue.message, step_id, step_number)
        warnings.append(problem.describe(""))
    return warnings


def _warnings(flow: Flow) -> list[FlowIssue]:
    """Things a flow can be used with, but that residents choosing a language may notice."""
    issues: list[FlowIssue] = []
    texts = list(flow.localised_texts())
    main = flow.language
    for index, language in enumerate(flow.languages):
        engine_language = wording.translated_into(language)
        if engine_language.split("-")[0] != language.split("-")[0]:
            issues.append(
                FlowIssue(
                    ("languages", index),
                    f"the bot's own words (the Yes, No and Skip buttons, and what it says when it "
                    f'cannot use a reply) are not translated into "{language}" yet, so residents '
                    f"reading {language} will see those in {engine_language}",
                )
            )
        if index == 0:
            continue
        missing = [_text_place(loc) for loc, text in texts if language not in text.translations]
        if missing and len(missing) == len(texts):
            issues.append(
                FlowIssue(
                    ("languages", index),
                    f'nothing is translated into "{language}" yet; residents choosing {language} '
                    f"will see every text in {main}",
                )
            )
            continue
        issues.extend(
            FlowIssue(
                loc,
                f'no "{language}" translation; residents choosing {language} will see the '
                f"{main} text",
            )
            for loc in missing
        )
    return issues


def _text_place(loc: Loc) -> Loc:
    # An option's label is named as the option: it is often written bare, `- Good`.
    return loc[:-1] if loc[-1:] == ("label",) and loc[-3:-2] == ("options",) else loc


def _parse(text: str, source: str) -> tuple[Flow, CommentedMap, object]:
    """The flow in YAML text, with the YAML tree and plain data it was read from."""
    _check_size(len(text.encode("utf-8", errors="replace")), source)
    tree = _read_yaml(text, source)
    if tree is None:
        message = "the file is empty; a flow needs at least an id, a title and steps"
        raise FlowFileError(source, [FlowProblem(None, "", message)])
    if not isinstance(tree, CommentedMap):
        message = (
            "a flow file should be a set of fields (id:, title:, steps: …), "
            f"but this file is {_kind_of_value(tree)}"
        )
        raise FlowFileError(source, [FlowProblem(_line_of(tree), "", message)])
    data = _plain(tree, source)
    try:
        return Flow.model_validate(data), tree, data
    except ValidationError as exc:
        raise FlowFileError(source, _problems(exc, tree, data)) from None


def shipped_flows() -> dict[str, Flow]:
    """Return the flows that come with whatmatters, by flow id."""
    return {flow_id: flow for flow_id, (flow, _) in _shipped().items()}


def shipped_flow_sources() -> dict[str, str]:
    """Return the YAML text of each flow that comes with whatmatters, by flow id, once checked."""
    return {flow_id: source for flow_id, (_, source) in _shipped().items()}


def _shipped() -> dict[str, tuple[Flow, str]]:
    shipped: dict[str, tuple[Flow, str]] = {}
    files = sorted(
        (f for f in SHIPPED_FLOWS_DIR.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name
    )
    for file in files:
        source = file.read_text("utf-8")
        flow = parse_flow(source, source=file.name)
        if flow.id in shipped:
            message = f'another shipped flow already has the id "{flow.id}"'
            raise FlowFileError(file.name, [FlowProblem(None, "id", message)])
        shipped[flow.id] = (flow, source)
    return shipped


def _check_size(size: int, source: str) -> None:
    if size > MAX_FLOW_BYTES:
        message = f"the file is {size:,} bytes; a flow file can be at most {MAX_FLOW_BYTES:,} bytes"
        raise FlowFileError(source, [FlowProblem(None, "", message)])


# --- Reading YAML ---------------------------------------------------------------------------------


def _read_yaml(text: str, source: str) -> object:
    # A fresh round-trip loader each time: they are not thread-safe, and round-trip nodes keep
    # the line of every key and item.
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        problem = _syntax_problem(exc)
    except ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        problem = FlowProblem(
            line, "", "there is a special (control) character here that YAML does not allow"
        )
    except (YAMLError, ValueError, TypeError) as exc:
        # ruamel raises ValueError for values it cannot build, such as the date 2024-13-45.
        message = f"a value cannot be read ({exc}); if it is meant as text, put it in quotes"
        problem = FlowProblem(None, "", message)
    except RecursionError:
        problem = FlowProblem(None, "", "this is nested far too deeply to be a flow")
    raise FlowFileError(source, [problem])


_DUPLICATE_KEY = re.compile(r'found duplicate key "(?P<key>.*)" with value')


def _syntax_problem(exc: MarkedYAMLError) -> FlowProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = str(exc.problem or exc.context or "")
    if duplicate := _DUPLICATE_KEY.search(problem):
        message = f'"{duplicate["key"]}" appears twice here; each field can be given only once'
    elif "'\\t'" in problem:
        message = "there is a tab here; YAML needs spaces for indenting, not tabs"
    elif "mapping values are not allowed" in problem:
        message = (
            "there is a colon (:) where YAML does not expect one; check the indenting, and if "
            'the text itself contains ": ", put the whole text in quotes'
        )
    elif "quoted scalar" in str(exc.context):
        started = exc.context_mark.line + 1 if exc.context_mark is not None else line
        message = f"a quote opened on line {started} is never closed"
    else:
        message = f"this is not valid YAML ({problem}); check the indenting and quotes here"
    return FlowProblem(line, "", message)


def _plain(tree: object, source: str) -> object:
    """Copy the round-trip tree into plain dicts, lists and scalars for pydantic."""
    count = 0

    def copy(node: object, depth: int) -> object:
        nonlocal count
        count += 1
        if depth > _MAX_DEPTH or count > _MAX_VALUES:
            message = (
                "this is nested too deeply or repeats itself too often (through &anchors "
                "and *aliases) to be a flow"
            )
            raise FlowFileError(source, [FlowProblem(_line_of(node), "", message)])
        if isinstance(node, Mapping):
            return {copy(key, depth + 1): copy(value, depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [copy(item, depth + 1) for item in node]
        if isinstance(node, TaggedScalar):
            return node.value
        # ruamel's scalar types (LiteralScalarString, ScalarFloat, ScalarBoolean…) become the
        # plain ones, so no YAML-specific object ends up inside a Flow.
        for kind in (str, bool, float, int):
            if isinstance(node, kind):
                return kind(node)
        return node

    return copy(tree, 0)


def _line_of(node: object) -> int | None:
    if isinstance(node, CommentedMap | CommentedSeq):
        return int(node.lc.line) + 1
    return None


# --- Explaining validation errors -----------------------------------------------------------------


def _problems(exc: ValidationError, tree: CommentedMap, data: object) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and error["input"]:
            # pydantic counts only the items that passed, so a list whose items all have
            # problems is also "too short"; those items' own problems are the ones to fix.
            continue
        if loc[:1] == ("entry",):
            # One of two forms is wanted; say both, once, rather than why each form failed.
            message = (
                f"{_quoted(error['input'])} is not a way in; use start (the /start conversation)"
                " or a command of its own such as /youth (lowercase letters, digits and _)"
            )
            problems.append(_problem_at(tree, data, ("entry",), message))
            continue
        if error["type"] == FLOW_ISSUES_ERROR:
            issues: tuple[FlowIssue, ...] = error["ctx"]["issues"]
            problems.extend(_problem_at(tree, data, loc + i.loc, i.message) for i in issues)
        else:
            problems.append(_problem_at(tree, data, loc, _explain(error, loc)))
    # Top to bottom, as the admin reads the file.
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: problem.line or 0)


def _problem_at(tree: CommentedMap, data: object, loc: Loc, message: str) -> FlowProblem:
    if loc[:1] == ("languages",) and "languages" not in tree and "language" in tree:
        # `language: en` is read as `languages: [en]`; point at what the file says.
        loc = ("language", *loc[2:])
    line, reached, at_mapping = _walk(tree, loc)
    # The field is what the walk reached in the file, plus the key a mapping lacks, if any.
    shown = list(loc[:reached])
    if at_mapping and reached < len(loc) and isinstance(loc[reached], str):
        shown.append(loc[reached])
    step_id, step_number = None, None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step_number = loc[1] + 1
        step_id = _step_id(data, loc[1])
        shown = shown[2:]
    return FlowProblem(line, _field_name(shown), message, step_id, step_number)


def _walk(tree: CommentedMap, loc: Loc) -> tuple[int | None, int, bool]:
    """Follow a pydantic location into the YAML tree: (1-based line, parts reached, at mapping)."""
    node: Any = tree
    line: int | None = node.lc.line
    reached = 0
    for part in loc:
        if isinstance(node, CommentedMap):
            key = _find_key(node, part)
            if key is None and part == "label" and _is_bare_label(node):
                # An option written `- {en: Good, cy: Da}` is its label, without `label:`.
                reached += 1
                continue
            if key is None:
                break
            line = node.lc.key(key)[0]
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0]
            node = node[part]
        else:
            break
        reached += 1
    return (line + 1 if line is not None else None), reached, isinstance(node, CommentedMap)


def _is_bare_label(node: CommentedMap) -> bool:
    return "label" not in node and all(
        isinstance(key, str) and re.fullmatch(LANGUAGE_REGEX, key) for key in node
    )


def _find_key(node: CommentedMap, part: str | int) -> object | None:
    if part in node:
        return part
    # Keys YAML read as numbers (`1:` under branches) reach pydantic as text.
    return next((key for key in node if str(key) == str(part)), None)


def _step_id(data: object, index: int) -> str | None:
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not 0 <= index < len(steps):
        return None
    step = steps[index]
    step_id = step.get("id") if isinstance(step, dict) else None
    return step_id if isinstance(step_id, str) and 0 < len(step_id) <= 40 else None


def _field_name(parts: Sequence[str | int]) -> str:
    name = ""
    for index, part in enumerate(parts):
        if isinstance(part, int):
            name += f" #{part + 1}"
        elif index > 0 and parts[index - 1] == "branches":
            name += f' "{part}"'
        elif part != "[key]":
            name += f".{part}" if name else part
    return name


# What each field may be, for "use one of: …" in messages.
_LITERALS: Final[dict[str, tuple[str, ...]]] = {
    "kind": STEP_KINDS,
    "asks_for": get_args(AsksFor),
    "records": get_args(Records),
    "entry": ("start",),
}

_ID_HELP: Final = (
    "use lowercase letters, digits, - and _ (at most 32, starting with a letter or digit)"
)


def _explain(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    value = error["input"]
    ctx = error.get("ctx", {})
    name = next((part for part in reversed(loc) if isinstance(part, str) and part != "[key]"), "")
    if kind == "missing":
        if len(loc) >= 2 and loc[-2] == "reminder":
            return _MISSING_IN_REMINDER.get(name, "this is required but missing")
        return _MISSING.get(name, "this is required but missing")
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind == "literal_error":
        allowed = ", ".join(_LITERALS.get(name, ()))
        if name == "kind":
            return f"{_quoted(value)} is not a kind of step; use one of: {allowed}"
        return f"{_quoted(value)} is not allowed here; use one of: {allowed}"
    if kind == "string_pattern_mismatch":
        if name in ("language", "languages") or ctx.get("pattern") == LANGUAGE_PATTERN:
            return f'{_quoted(value)} is not a language code; use one such as "en" or "cy"'
        return f"{_quoted(value)} cannot be an id; {_ID_HELP}, such as {_quoted(_slug(value))}"
    if kind == "string_too_short":
        return "this cannot be empty"
    if kind == "string_too_long":
        size = len(value) if isinstance(value, str) else 0
        return f"this is too long ({size:,} characters); the most is {ctx['max_length']:,}"
    if kind == "string_type":
        return f"this should be text, but it is {_kind_of_value(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"this should be true or false, but it is {_kind_of_value(value)}"
    if kind in ("tuple_type", "list_type"):
        return (
            f'this should be a list (lines starting with "- "), but it is {_kind_of_value(value)}'
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"this should be a set of fields (name: value), but it is {_kind_of_value(value)}"
    if kind == "too_short" and name == "steps":
        return "a flow needs at least one step"
    if kind == "too_short" and name == "languages":
        return "a flow needs at least one language, e.g. languages: [en]"
    if kind == "too_long" and name == "languages":
        return f"a flow can have at most {ctx['max_length']} languages"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


_MISSING: Final[dict[str, str]] = {
    "id": 'this is missing; give it an id such as "welcome"',
    "kind": f"this is missing; say what kind of step this is: {', '.join(STEP_KINDS)}",
    "text": "this is missing; every step needs some text",
    "title": "this is missing; the flow needs a title",
    "steps": "this is missing; the flow needs a list of steps",
    "label": "this is missing; every option needs a label",
    "low": "this is missing; say what 1 means",
    "high": "this is missing; say what 5 means",
}

_MISSING_IN_REMINDER: Final[dict[str, str]] = {
    "after": "this is missing; say how long to wait before reminding, e.g. after: 24h",
    "text": "this is missing; say what the reminder says, e.g. text: Just a gentle reminder",
}


def _unknown_field(loc: Loc) -> str:
    name = str(loc[-1])
    owner: tuple[str, type[BaseModel]]
    match loc[:-1]:
        case ("steps", int()):
            owner = ("a step", Step)
        case ("steps", int(), "options", int()):
            owner = ("an option", Option)
        case ("steps", int(), "scale_labels"):
            owner = ("scale_labels", ScaleLabels)
        case ("steps", int(), "reminder"):
            owner = ("a reminder", Reminder)
        case _:
            owner = ("a flow", Flow)
    # Fields are named as they are written in YAML, which for some is their alias.
    allowed = [field.alias or name for name, field in owner[1].model_fields.items()]
    message = f'there is no field called "{name}"'
    if near := get_close_matches(name, allowed, n=1):
        message += f' (did you mean "{near[0]}"?)'
    return f"{message}; {owner[0]} can have: {', '.join(allowed)}"


def _quoted(value: object) -> str:
    text = str(value)
    return f'"{text[:40]}…"' if len(text) > 40 else f'"{text}"'


def _slug(value: object) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(value).casefold()).strip("-_")[:32]
    return slug or "welcome"


def _kind_of_value(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_quoted(value)}"
    if isinstance(value, Mapping):
        return "a set of fields"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the date {value}"
    return "something else"
