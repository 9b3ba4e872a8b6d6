"""The flow format admins write in YAML: steps, their kinds, and the rules that keep a flow sound.

Rules that span several fields or steps report each problem with its place (see `FlowIssue`), so the
loader can point at the exact line and field rather than at the whole step or file.

Every text a resident sees is a `Localised`: written either as plain text (in the flow's main
language, the first of its `languages`) or as one text per language, `{en: ..., cy: ...}`. A missing
translation is not an error (residents then see the main language); a language the flow does not
list is.

Reminders and expiry are lengths of time (`after: 24h`, `expires: 7d`); the model only holds them.
When a question was asked, and so when either falls due, is the bot's business, not the flow's.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from difflib import get_close_matches
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

StepKind = Literal["message", "text", "choice", "scale", "yesno", "consent", "end"]
AsksFor = Literal["open", "improvement", "praise"]
Records = Literal["follow_up_consent"]
# How a resident enters a flow: "start" for /start's default, or a command of its own such as
# "/youth" (lowercase letters, digits and _, as Telegram allows). Any flow can be entered by a
# deep link, t.me/<bot>?start=<flow id>.
EntryCommand = Annotated[str, StringConstraints(pattern=r"^/[a-z0-9_]{1,32}$")]
Entry = Literal["start"] | EntryCommand

STEP_KINDS: Final[tuple[StepKind, ...]] = get_args(StepKind)
QUESTION_KINDS: Final[frozenset[StepKind]] = frozenset({"text", "choice", "scale", "yesno"})
BRANCHING_KINDS: Final[frozenset[StepKind]] = frozenset({"choice", "scale", "yesno"})

# Ids go into 64-byte Telegram callback data next to a short value, so they are kept short and
# free of the "|" separator.
ID_REGEX: Final = r"[a-z0-9][a-z0-9_-]{0,31}"
MAX_TEXT_CHARS: Final = 4000
MAX_LABEL_CHARS: Final = 40
MAX_TITLE_CHARS: Final = 200
MIN_OPTIONS: Final = 2
# More buttons than this no longer fit on a phone screen without scrolling.
MAX_OPTIONS: Final = 10
SCALE_VALUES: Final = ("1", "2", "3", "4", "5")
YES: Final = "yes"
NO: Final = "no"

# The pydantic error type that carries a list of `FlowIssue`s in its context.
FLOW_ISSUES_ERROR: Final = "flow_issues"

# A language code such as "en", "cy" or "pt-BR" (BCP 47 style: a 2-3 letter language, then subtags).
LANGUAGE_REGEX: Final = r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*"
LANGUAGE_PATTERN: Final = f"^{LANGUAGE_REGEX}$"
DEFAULT_LANGUAGE: Final = "en"
MAX_LANGUAGES: Final = 10

# How long a reminder or an expiry may be: shorter would nag, longer would be forgotten.
MIN_DURATION: Final = timedelta(minutes=1)
MAX_DURATION: Final = timedelta(days=30)

Id = Annotated[str, StringConstraints(pattern=f"^{ID_REGEX}$")]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]

# Where a place in a flow is, as pydantic would say it: ("steps", 2, "options", 0, "label").
Loc = tuple[str | int, ...]

# Numbers are accepted where text is expected, because YAML reads `1:` or `next: 2024` as numbers
# and admins should not have to quote them.
_CONFIG = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def fold(text: str) -> str:
    """Return text in the form used to compare labels: spaces collapsed, case ignored."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class FlowIssue:
    """One broken rule, placed by `loc` relative to the model whose validator found it."""

    loc: tuple[str | int, ...]
    message: str


def _raise_issues(issues: Iterable[FlowIssue]) -> None:
    found = tuple(issues)
    if not found:
        return
    summary = "; ".join(
        f"{'.'.join(str(part) for part in issue.loc) or 'flow'}: {issue.message}" for issue in found
    )
    # One error carrying every issue: pydantic would otherwise keep only the first, and without
    # the field each one is about.
    raise PydanticCustomError(FLOW_ISSUES_ERROR, "{summary}", {"summary": summary, "issues": found})


# --- Texts in several languages ---------------------------------------------------------------


class Localised:
    """One text a resident sees, in the flow's main language and any translations of it.

    `main` is the text in the flow's main language (the first of `Flow.languages`); it is always
    there. `translations` holds the other languages it has been written in, by language code.
    `get(language)` gives the text to show a resident reading `language`, falling back to `main`.

    In YAML a text is either plain (`text: Hello`, the main language) or one text per language
    (`text: {en: Hello, cy: Helo}`). Immutable and hashable, like the models that hold it.
    """

    __slots__ = ("_main", "_translations")

    _main: str
    _translations: Mapping[str, str]

    def __init__(self, main: str, translations: Mapping[str, str] | None = None) -> None:
        object.__setattr__(self, "_main", main)
        object.__setattr__(self, "_translations", MappingProxyType(dict(translations or {})))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Localised text cannot be changed (tried to set {name!r})")

    @property
    def main(self) -> str:
        """The text in the flow's main language."""
        return self._main

    @property
    def translations(self) -> Mapping[str, str]:
        """The text in each other language it is written in, by language code."""
        return self._translations

    def get(self, language: str | None) -> str:
        """The text for a resident reading `language`: its translation, else the main text."""
        if language is None:
            return self._main
        return self._translations.get(language, self._main)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Localised):
            return NotImplemented
        return self._main == other._main and dict(self._translations) == dict(other._translations)

    def __hash__(self) -> int:
        return hash((self._main, frozenset(self._translations.items())))

    def __reduce__(self) -> tuple[type["Localised"], tuple[str, dict[str, str]]]:
        # For copy, deepcopy and pickle, which would otherwise try to set the frozen slots.
        return (Localised, (self._main, dict(self._translations)))

    def __repr__(self) -> str:
        if not self._translations:
            return f"Localised({self._main!r})"
        return f"Localised({self._main!r}, {dict(self._translations)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return _localised_schema(MAX_TEXT_CHARS)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _localised_json_schema(MAX_TEXT_CHARS)


# While a flow is validated, the language that plain texts are in and that `{en: …, cy: …}` texts
# must include: the flow's first language. Texts are validated inside the flow, before the flow
# itself exists, so this is how they learn it. Outside a flow (a Step built in code) it is "en";
# None means the flow's languages are themselves broken, so no text is blamed for them.
_MAIN_LANGUAGE: ContextVar[str | None] = ContextVar("main_language", default=DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class TextRules:
    """Marks a `Localised` field with the most characters each of its texts may have."""

    max_chars: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return _localised_schema(self.max_chars)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _localised_json_schema(self.max_chars)


def _localised_schema(max_chars: int) -> CoreSchema:
    one_text = core_schema.str_schema(strip_whitespace=True, min_length=1, max_length=max_chars)
    # Plain text is checked as `{main language: text}`, so every text, plain or not, gets the
    # same checks and errors located at the text (or at the language inside it).
    by_language = core_schema.dict_schema(
        keys_schema=core_schema.str_schema(pattern=LANGUAGE_PATTERN), values_schema=one_text
    )
    return core_schema.no_info_wrap_validator_function(
        _validate_localised,
        by_language,
        serialization=core_schema.plain_serializer_function_ser_schema(_dump_localised),
    )


def _localised_json_schema(max_chars: int) -> JsonSchemaValue:
    one_text = {"type": "string", "minLength": 1, "maxLength": max_chars}
    return {
        "anyOf": [
            {**one_text, "description": "the text in the flow's main language"},
            {
                "type": "object",
                "description": (
                    "the text in each language, by language code, e.g. {en: Hello, cy: Helo}; "
                    "the main language is required, the others are optional"
                ),
                "propertyNames": {"pattern": LANGUAGE_PATTERN},
                "additionalProperties": one_text,
                "minProperties": 1,
            },
        ]
    }


def _as_text(value: object) -> object:
    # YAML reads `1` or `2024` as numbers; admins should not have to quote them.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _validate_localised(value: object, handler: ValidatorFunctionWrapHandler) -> Localised:
    if isinstance(value, Localised):
        return value
    main = _MAIN_LANGUAGE.get()
    if isinstance(value, Mapping):
        texts: dict[str, str] = handler({key: _as_text(text) for key, text in value.items()})
        if main is None:
            main = next(iter(texts), DEFAULT_LANGUAGE)
        if main not in texts:
            raise PydanticCustomError(
                "main_language_missing",
                'there is no "{main}" text here; every text needs one in {main}, the flow\'s '
                "main language (the first of its languages:)",
                {"main": main},
            )
    else:
        main = main or DEFAULT_LANGUAGE
        texts = handler({main: _as_text(value)})
    return Localised(texts[main], {key: text for key, text in texts.items() if key != main})


def _dump_localised(value: Localised) -> object:
    if not value.translations:
        return value.main
    return {"main": value.main, "translations": dict(value.translations)}


Wording = Annotated[Localised, TextRules(MAX_TEXT_CHARS)]
Label = Annotated[Localised, TextRules(MAX_LABEL_CHARS)]
Title = Annotated[Localised, TextRules(MAX_TITLE_CHARS)]


# --- Lengths of time --------------------------------------------------------------------------

_DURATION_UNITS: Final[dict[str, timedelta]] = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "week", "weeks"), timedelta(weeks=1)),
}
_DURATION = re.compile(r"(?:\s*\d+\s*[a-z]+)+\s*")
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION_HELP: Final = (
    "write a whole number and a unit, such as 90m, 24h or 2d (minutes, hours, days)"
)


def _duration_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("duration", "{message}", {"message": message})


def parse_duration(value: object) -> timedelta:
    """Read a length of time as admins write it: `90m`, `24h`, `2d`, `1d 12h`, `2 days`.

    Between `MIN_DURATION` and `MAX_DURATION`; raises a pydantic error in plain words otherwise.
    """
    if isinstance(value, timedelta):
        total = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise _duration_error(
            f"{value} needs a unit: {value}m for minutes, {value}h for hours or {value}d for days"
        )
    elif not isinstance(value, str):
        raise _duration_error(f"this should be a length of time; {_DURATION_HELP}")
    else:
        written = value.strip().casefold()
        if not _DURATION.fullmatch(written):
            raise _duration_error(f'"{value}" is not a length of time; {_DURATION_HELP}')
        total = timedelta()
        for number, unit in _DURATION_PART.findall(written):
            if unit not in _DURATION_UNITS:
                raise _duration_error(
                    f'"{unit}" is not a unit of time here; use m (minutes), h (hours) or d (days)'
                )
            total += int(number) * _DURATION_UNITS[unit]
    if total < MIN_DURATION:
        raise _duration_error("this is too short; the shortest is 1 minute (1m)")
    if total > MAX_DURATION:
        raise _duration_error("this is too long; the longest is 30 days (30d)")
    return total


def format_duration(duration: timedelta) -> str:
    """Say a length of time the way admins write it: `90m` → `1h 30m`, `24h` → `1d`."""
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


Duration = Annotated[
    timedelta,
    PlainValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\s*\d+\s*[a-zA-Z]+)+\s*$",
            "description": "a length of time from 1m to 30d, e.g. 90m, 24h, 2d",
            "examples": ["90m", "24h", "2d"],
        }
    ),
]


def _is_language_code(key: object) -> bool:
    return isinstance(key, str) and re.fullmatch(LANGUAGE_REGEX, key) is not None


class Option(BaseModel):
    """One button of a choice step."""

    model_config = _CONFIG

    label: Label

    @model_validator(mode="before")
    @classmethod
    def _from_bare_label(cls, data: object) -> object:
        # Admins can write `options: [Good, OK, Bad]` rather than a `label:` for each, and
        # `- {en: Good, cy: Da}` for a translated one.
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"label": data}
        if isinstance(data, Mapping) and data and all(_is_language_code(key) for key in data):
            return {"label": data}
        return data


class ScaleLabels(BaseModel):
    """The words that say what 1 and 5 mean on a scale step."""

    model_config = _CONFIG

    low: Label
    high: Label


class Reminder(BaseModel):
    """A nudge for a resident who has not answered a question `after` this long."""

    model_config = _CONFIG

    after: Duration
    text: Wording


# Which fields make sense on which kinds, and how to say so when one is used on the wrong kind.
_FIELD_KINDS: Final[dict[str, tuple[frozenset[StepKind], str]]] = {
    "options": (frozenset({"choice"}), "only a choice step has options"),
    "optional": (QUESTION_KINDS, "only a question can be optional"),
    "branches": (BRANCHING_KINDS, "only choice, scale and yesno steps can branch on the answer"),
    "asks_for": (QUESTION_KINDS, "only a question asks for something"),
    "records": (frozenset({"yesno"}), "only a yesno step can record consent to hear back"),
    "decline_text": (frozenset({"consent"}), "only a consent step has a decline_text"),
    "scale_labels": (frozenset({"scale"}), "only a scale step has scale_labels"),
    "reminder": (QUESTION_KINDS, "only a question can have a reminder"),
    "expires": (QUESTION_KINDS, "only a question can expire"),
    "expired_text": (QUESTION_KINDS, "only a question can have an expired_text"),
}


class Step(BaseModel):
    """One thing the bot says or asks."""

    model_config = _CONFIG

    id: Id
    kind: StepKind
    text: Wording
    options: tuple[Option, ...] = ()
    optional: bool = False
    next: str | None = None
    branches: dict[str, str] = Field(default_factory=dict)
    asks_for: AsksFor = "open"
    records: Records | None = None
    decline_text: Wording | None = None
    scale_labels: ScaleLabels | None = None
    # Sent once if the resident has not answered `reminder.after` the question was asked.
    reminder: Reminder | None = None
    # How long after the question was asked an unanswered conversation closes (status EXPIRED),
    # and what the resident is told then (the engine's own kind words if not given).
    expires: Duration | None = None
    expired_text: Wording | None = None

    @property
    def is_question(self) -> bool:
        """Whether the resident's reply is recorded as an answer."""
        return self.kind in QUESTION_KINDS

    @property
    def waits(self) -> bool:
        """Whether the flow stops here until the resident replies."""
        return self.is_question or self.kind == "consent"

    def branch_target(self, answer: str) -> str | None:
        """Return the step id this answer branches to, if any (labels match ignoring case)."""
        wanted = fold(answer)
        for key, target in self.branches.items():
            if fold(key) == wanted:
                return target
        return None

    def localised_texts(self) -> Iterator[tuple[Loc, Localised]]:
        """Every text of this step a resident may see, with where it is in the step."""
        yield ("text",), self.text
        if self.decline_text is not None:
            yield ("decline_text",), self.decline_text
        for index, option in enumerate(self.options):
            yield ("options", index, "label"), option.label
        if self.scale_labels is not None:
            yield ("scale_labels", "low"), self.scale_labels.low
            yield ("scale_labels", "high"), self.scale_labels.high
        if self.reminder is not None:
            yield ("reminder", "text"), self.reminder.text
        if self.expired_text is not None:
            yield ("expired_text",), self.expired_text

    @model_validator(mode="after")
    def _check_fields_fit_kind(self) -> "Step":
        _raise_issues(self._kind_issues())
        return self

    def _kind_issues(self) -> Iterable[FlowIssue]:
        for name, (kinds, reason) in _FIELD_KINDS.items():
            if name in self.model_fields_set and self.kind not in kinds:
                yield FlowIssue((name,), f'{reason}, and this is a "{self.kind}" step')
        if self.kind == "end" and self.next is not None:
            yield FlowIssue(("next",), "an end step finishes the conversation, so it has no next")
        if self.kind == "choice":
            yield from self._option_issues()
        if self.kind in BRANCHING_KINDS:
            yield from self._branch_key_issues()
        if self.is_question:
            yield from self._timing_issues()

    def _option_issues(self) -> Iterable[FlowIssue]:
        if len(self.options) < MIN_OPTIONS:
            yield FlowIssue(("options",), f"a choice needs at least {MIN_OPTIONS} options")
        if len(self.options) > MAX_OPTIONS:
            yield FlowIssue(
                ("options",),
                f"a choice can have at most {MAX_OPTIONS} options, so the buttons fit on a phone",
            )
        seen: set[str] = set()
        seen_translated: set[tuple[str, str]] = set()
        for index, option in enumerate(self.options):
            if fold(option.label.main) in seen:
                yield FlowIssue(
                    ("options", index), f'"{option.label.main}" is listed twice (ignoring capitals)'
                )
            seen.add(fold(option.label.main))
            # Residents reading a translation tell the buttons apart by it, so it must differ too.
            for language, label in option.label.translations.items():
                if (language, fold(label)) in seen_translated:
                    yield FlowIssue(
                        ("options", index, "label", language),
                        f'"{label}" is listed twice in {language} (ignoring capitals)',
                    )
                seen_translated.add((language, fold(label)))

    def _branch_key_issues(self) -> Iterable[FlowIssue]:
        # Branches name answers in the main language, as they are recorded.
        if self.kind == "choice":
            allowed = [option.label.main for option in self.options]
        elif self.kind == "scale":
            allowed = list(SCALE_VALUES)
        else:
            allowed = [YES, NO]
        by_fold = {fold(value): value for value in allowed}
        used: set[str] = set()
        for key in self.branches:
            if fold(key) not in by_fold:
                yield FlowIssue(
                    ("branches", key),
                    f'"{key}" is not an answer to this step; use one of: {", ".join(allowed)}',
                )
            elif fold(key) in used:
                yield FlowIssue(("branches", key), f'"{key}" is listed twice (ignoring capitals)')
            used.add(fold(key))

    def _timing_issues(self) -> Iterable[FlowIssue]:
        if self.expired_text is not None and self.expires is None:
            yield FlowIssue(
                ("expired_text",),
                "expired_text is what residents are told when the question expires, so the step "
                "also needs expires:, e.g. expires: 7d",
            )
        if (
            self.reminder is not None
            and self.expires is not None
            and self.reminder.after >= self.expires
        ):
            yield FlowIssue(
                ("reminder", "after"),
                f"the reminder would come {format_duration(self.reminder.after)} after the "
                f"question, but the question expires after {format_duration(self.expires)}; "
                "make the reminder sooner or the expiry later",
            )


def _flow_json_schema(schema: dict[str, Any]) -> None:
    # `language: en` is still read (older flow files use it), as a one-language `languages`.
    properties = schema.get("properties")
    if isinstance(properties, dict):
        properties["language"] = {
            "type": "string",
            "pattern": LANGUAGE_PATTERN,
            "description": "the flow's only language; the same as `languages: [it]`",
        }


class Flow(BaseModel):
    """A conversation: an id, a title, its languages, how residents enter it, and its steps."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
        json_schema_extra=_flow_json_schema,
    )

    id: Id
    # The title in every language; `title` is the main language's, as plain text.
    titles: Title = Field(alias="title")
    # The languages residents can read the flow in; the first is its main language, which every
    # text is written in (and answers are recorded in).
    languages: tuple[Language, ...] = Field(
        default=(DEFAULT_LANGUAGE,), min_length=1, max_length=MAX_LANGUAGES
    )
    entry: Entry | None = "start"
    steps: tuple[Step, ...] = Field(min_length=1)

    @property
    def title(self) -> str:
        """The title in the flow's main language."""
        return self.titles.main

    @property
    def language(self) -> str:
        """The flow's main language: every text is written in it, and answers are kept in it."""
        return self.languages[0]

    def match_language(self, language: str | None) -> str | None:
        """The flow's language closest to `language` (e.g. Telegram's "en-GB"), or None.

        An exact match (ignoring capitals) wins; otherwise the same base language ("en-GB" finds
        "en", "pt" finds "pt-BR"). None when the flow offers nothing close.
        """
        if not language:
            return None
        wanted = language.replace("_", "-").casefold()
        for offered in self.languages:
            if offered.casefold() == wanted:
                return offered
        base = wanted.split("-")[0]
        for offered in self.languages:
            if offered.casefold().split("-")[0] == base:
                return offered
        return None

    def localised_texts(self) -> Iterator[tuple[Loc, Localised]]:
        """Every text a resident may see, with its place: ("title",), ("steps", 0, "text"), …"""
        yield ("title",), self.titles
        for index, step in enumerate(self.steps):
            for loc, text in step.localised_texts():
                yield ("steps", index, *loc), text

    def missing_translations(self) -> list[tuple[Loc, str]]:
        """Each text without a translation into one of the flow's other languages, and which."""
        return [
            (loc, language)
            for language in self.languages[1:]
            for loc, text in self.localised_texts()
            if language not in text.translations
        ]

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {step.id: index for index, step in enumerate(self.steps)}

    def _position(self, step_id: str) -> int:
        # The index is checked rather than trusted, because `model_copy(update=...)` carries it
        # over unchanged; when it is stale, a plain scan still gives the right answer.
        index = self._positions.get(step_id)
        if index is not None and index < len(self.steps) and self.steps[index].id == step_id:
            return index
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        raise KeyError(f"flow {self.id!r} has no step {step_id!r}")

    def step(self, step_id: str) -> Step:
        """Return the step with this id; KeyError if there is none."""
        return self.steps[self._position(step_id)]

    def has_step(self, step_id: str) -> bool:
        """Whether the flow has a step with this id."""
        try:
            self._position(step_id)
        except KeyError:
            return False
        return True

    @property
    def first_step(self) -> Step:
        """The step every resident starts at."""
        return self.steps[0]

    def following(self, step_id: str) -> Step | None:
        """Return the step written after this one, or None after the last."""
        position = self._position(step_id) + 1
        return self.steps[position] if position < len(self.steps) else None

    def after(self, step_id: str, answer: str | None = None) -> Step | None:
        """Return the step after this one: the answer's branch, else `next`, else the one below."""
        step = self.step(step_id)
        target = step.branch_target(answer) if answer is not None else None
        target = target or step.next
        return self.step(target) if target is not None else self.following(step_id)

    @property
    def questions(self) -> tuple[Step, ...]:
        """The steps whose replies are recorded as answers, in order."""
        return tuple(step for step in self.steps if step.is_question)

    @property
    def consent_step(self) -> Step | None:
        """The consent step, if the flow has one."""
        return next((step for step in self.steps if step.kind == "consent"), None)

    @model_validator(mode="wrap")
    @classmethod
    def _in_its_main_language(cls, data: Any, handler: ModelWrapValidatorHandler["Flow"]) -> "Flow":
        # The texts are checked against the main language, so it is read before anything else.
        if not isinstance(data, Mapping):
            return handler(data)
        data = _languages_from_synonym(data)
        token = _MAIN_LANGUAGE.set(_main_language(data))
        try:
            return handler(data)
        finally:
            _MAIN_LANGUAGE.reset(token)

    @model_validator(mode="after")
    def _check_structure(self) -> "Flow":
        _raise_issues([*self._language_issues(), *_StructureCheck(self.steps).issues()])
        return self

    def _language_issues(self) -> Iterable[FlowIssue]:
        for index, language in enumerate(self.languages):
            if language in self.languages[:index]:
                yield FlowIssue(("languages", index), f'"{language}" is listed twice')
        listed = ", ".join(self.languages)
        for loc, text in self.localised_texts():
            for language in text.translations:
                if language not in self.languages:
                    yield FlowIssue(
                        (*loc, language),
                        f'"{language}" is not one of this flow\'s languages ({listed}); add it '
                        "to languages: at the top, or correct the language code",
                    )


def _languages_from_synonym(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Read `language: en`, as older flow files have it, as `languages: [en]`."""
    if "language" not in data:
        return data
    if "languages" in data:
        _raise_issues(
            [
                FlowIssue(
                    ("language",),
                    "give either language: (one language) or languages: (a list), not both",
                )
            ]
        )
    plain = {key: value for key, value in data.items() if key != "language"}
    language = data["language"]
    plain["languages"] = language if isinstance(language, list | tuple) else [language]
    return plain


def _main_language(data: Mapping[Any, Any]) -> str | None:
    languages = data.get("languages", (DEFAULT_LANGUAGE,))
    if isinstance(languages, list | tuple) and languages and _is_language_code(languages[0]):
        return str(languages[0])
    return None


class _StructureCheck:
    """The rules that span steps: ids, targets, consent and circles, in one pass each."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.steps = steps
        self.positions: dict[str, int] = {}
        for index, step in enumerate(steps):
            self.positions.setdefault(step.id, index)

    def issues(self) -> list[FlowIssue]:
        issues = [*self._duplicate_ids(), *self._missing_targets()]
        if not any(step.is_question for step in self.steps):
            issues.append(
                FlowIssue(
                    ("steps",), "a flow needs at least one question (text, choice, scale or yesno)"
                )
            )
        issues.extend(self._consent())
        # Walking the steps needs every id to be unique and every target to exist.
        if not issues:
            issues.extend(self._message_circles())
        return issues

    def _duplicate_ids(self) -> Iterable[FlowIssue]:
        for index, step in enumerate(self.steps):
            first = self.positions[step.id]
            if first != index:
                yield FlowIssue(
                    ("steps", index, "id"),
                    f'step {first + 1} is already called "{step.id}"; each step needs its own id',
                )

    def _missing_targets(self) -> Iterable[FlowIssue]:
        for index, step in enumerate(self.steps):
            if step.next is not None and step.next not in self.positions:
                yield FlowIssue(("steps", index, "next"), self._no_such_step(step.next))
            for key, target in step.branches.items():
                if target not in self.positions:
                    yield FlowIssue(("steps", index, "branches", key), self._no_such_step(target))

    def _no_such_step(self, target: str) -> str:
        message = f'there is no step called "{target}"'
        near = [step_id for step_id in self.positions if fold(step_id) == fold(target)]
        if not near:
            near = get_close_matches(target, list(self.positions), n=1)
        return f'{message}; did you mean "{near[0]}"?' if near else message

    def _consent(self) -> Iterable[FlowIssue]:
        consents = [index for index, step in enumerate(self.steps) if step.kind == "consent"]
        for extra in consents[1:]:
            yield FlowIssue(("steps", extra, "kind"), "a flow can have only one consent step")
        if not consents:
            return
        at = consents[0]
        earlier = [step for step in self.steps[:at] if step.is_question]
        if earlier:
            yield FlowIssue(
                ("steps", at, "kind"),
                f'the consent step must come before every question, but "{earlier[0].id}" '
                "comes before it",
            )
            return
        # Before the consent step there are only messages (and ends), so the only way round it
        # is a `next` that jumps past it.
        for index, step in enumerate(self.steps[:at]):
            if step.next is not None and self.positions.get(step.next, -1) > at:
                yield FlowIssue(
                    ("steps", index, "next"),
                    f'this jumps past the consent step "{self.steps[at].id}"; residents must '
                    "answer it before any question",
                )

    def _message_circles(self) -> Iterable[FlowIssue]:
        # Message steps move on by themselves, so a circle made only of them would never stop.
        settled: set[int] = set()
        for start in range(len(self.steps)):
            path: dict[int, None] = {}  # insertion-ordered, with fast membership
            index: int | None = start
            while index is not None and self.steps[index].kind == "message":
                if index in settled:
                    break
                if index in path:
                    circle = list(path)[list(path).index(index) :]
                    yield self._circle_issue(circle)
                    break
                path[index] = None
                index = self._after_message(index)
            settled.update(path)

    def _after_message(self, index: int) -> int | None:
        step = self.steps[index]
        if step.next is not None:
            return self.positions[step.next]
        return index + 1 if index + 1 < len(self.steps) else None

    def _circle_issue(self, circle: list[int]) -> FlowIssue:
        # Only a `next` can send a message back up the page, so one of them must have one.
        culprit = min((index for index in circle if self.steps[index].next), default=circle[0])
        route = " → ".join(self.steps[index].id for index in [*circle, circle[0]])
        return FlowIssue(
            ("steps", culprit, "next"),
            "these message steps go round in a circle with no question between them, so the "
            f"conversation would never stop: {route}",
        )
