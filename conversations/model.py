"""The flow format admins write in YAML: steps, their kinds, and the rules that keep a flow sound.

Rules that span several fields or steps report each problem with its place (see `FlowIssue`), so the
loader can point at the exact line and field rather than at the whole step or file.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cached_property
from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

StepKind = Literal["message", "text", "choice", "scale", "yesno", "consent", "end"]
AsksFor = Literal["open", "improvement", "praise"]
Records = Literal["follow_up_consent"]
Entry = Literal["start"]

STEP_KINDS: Final[tuple[StepKind, ...]] = get_args(StepKind)
QUESTION_KINDS: Final[frozenset[StepKind]] = frozenset({"text", "choice", "scale", "yesno"})
BRANCHING_KINDS: Final[frozenset[StepKind]] = frozenset({"choice", "scale", "yesno"})

# Ids go into 64-byte Telegram callback data next to a short value, so they are kept short and
# free of the "|" separator.
ID_REGEX: Final = r"[a-z0-9][a-z0-9_-]{0,31}"
MAX_TEXT_CHARS: Final = 4000
MAX_LABEL_CHARS: Final = 40
MIN_OPTIONS: Final = 2
# More buttons than this no longer fit on a phone screen without scrolling.
MAX_OPTIONS: Final = 10
SCALE_VALUES: Final = ("1", "2", "3", "4", "5")
YES: Final = "yes"
NO: Final = "no"

# The pydantic error type that carries a list of `FlowIssue`s in its context.
FLOW_ISSUES_ERROR: Final = "flow_issues"

Id = Annotated[str, StringConstraints(pattern=f"^{ID_REGEX}$")]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL_CHARS)
]
Wording = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]

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


class Option(BaseModel):
    """One button of a choice step."""

    model_config = _CONFIG

    label: Label

    @model_validator(mode="before")
    @classmethod
    def _from_bare_label(cls, data: object) -> object:
        # Admins can write `options: [Good, OK, Bad]` rather than a `label:` for each.
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"label": data}
        return data


class ScaleLabels(BaseModel):
    """The words that say what 1 and 5 mean on a scale step."""

    model_config = _CONFIG

    low: Label
    high: Label


# Which fields make sense on which kinds, and how to say so when one is used on the wrong kind.
_FIELD_KINDS: Final[dict[str, tuple[frozenset[StepKind], str]]] = {
    "options": (frozenset({"choice"}), "only a choice step has options"),
    "optional": (QUESTION_KINDS, "only a question can be optional"),
    "branches": (BRANCHING_KINDS, "only choice, scale and yesno steps can branch on the answer"),
    "asks_for": (QUESTION_KINDS, "only a question asks for something"),
    "records": (frozenset({"yesno"}), "only a yesno step can record consent to hear back"),
    "decline_text": (frozenset({"consent"}), "only a consent step has a decline_text"),
    "scale_labels": (frozenset({"scale"}), "only a scale step has scale_labels"),
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

    def _option_issues(self) -> Iterable[FlowIssue]:
        if len(self.options) < MIN_OPTIONS:
            yield FlowIssue(("options",), f"a choice needs at least {MIN_OPTIONS} options")
        if len(self.options) > MAX_OPTIONS:
            yield FlowIssue(
                ("options",),
                f"a choice can have at most {MAX_OPTIONS} options, so the buttons fit on a phone",
            )
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            if fold(option.label) in seen:
                yield FlowIssue(
                    ("options", index), f'"{option.label}" is listed twice (ignoring capitals)'
                )
            seen.add(fold(option.label))

    def _branch_key_issues(self) -> Iterable[FlowIssue]:
        if self.kind == "choice":
            allowed = [option.label for option in self.options]
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


class Flow(BaseModel):
    """A conversation: an id, a title, how residents enter it, and its steps in order."""

    model_config = _CONFIG

    id: Id
    title: Title
    language: Language = "en"
    entry: Entry | None = "start"
    steps: tuple[Step, ...] = Field(min_length=1)

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

    @model_validator(mode="after")
    def _check_structure(self) -> "Flow":
        _raise_issues(_StructureCheck(self.steps).issues())
        return self


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
