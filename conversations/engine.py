"""The conversation engine: given a flow, where a resident is and what they sent, say what happens.

Pure and synchronous (no Telegram, storage or clock), so the bot and `whatmatters try` share it.
A reply the engine cannot use never moves the flow on and never produces an answer.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeAlias

from pydantic import BaseModel, ConfigDict

from conversations import wording
from conversations.model import ID_REGEX, NO, SCALE_VALUES, YES, Flow, Step, fold

# Anything longer is refused rather than cut, so nothing a resident wrote is silently lost.
MAX_ANSWER_CHARS: Final = 10_000
# The button value of "Skip"; also kept short because it goes into callback data.
SKIP: Final = "skip"
# Telegram's limit on callback data.
MAX_BUTTON_DATA_BYTES: Final = 64

_BUTTON_DATA = re.compile(rf"({ID_REGEX})\|([a-z0-9]{{1,8}})")


class Status(StrEnum):
    """Where a resident is in a flow as a whole."""

    ACTIVE = "active"
    COMPLETED = "completed"
    DECLINED = "declined"


class State(BaseModel):
    """Where a resident is in a flow; the bot stores it as JSON between messages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The step waiting for the resident; None once the flow is no longer active.
    step_id: str | None
    status: Status
    # None until the resident answers a consent step (and for flows without one).
    consent: bool | None = None


@dataclass(frozen=True)
class Begin:
    """Start the flow, or pick it up again after /start or a restart."""


@dataclass(frozen=True)
class Text:
    """Words the resident typed."""

    text: str


@dataclass(frozen=True)
class Press:
    """A button the resident tapped, as decoded by `parse_button_data`."""

    step_id: str
    value: str


@dataclass(frozen=True)
class Unreadable:
    """Something the engine cannot read, named by its kind: sticker, photo, voice, …"""

    kind: str


Input: TypeAlias = Begin | Text | Press | Unreadable


@dataclass(frozen=True)
class Button:
    """A button under a question; `value` is short so `data` fits in Telegram's 64 bytes."""

    label: str
    step_id: str
    value: str

    @property
    def data(self) -> str:
        """The callback data that comes back when the button is tapped."""
        return f"{self.step_id}|{self.value}"


def parse_button_data(data: str) -> Press | None:
    """Turn callback data back into a Press, or None if it is not ours or is malformed."""
    if len(data.encode("utf-8")) > MAX_BUTTON_DATA_BYTES:
        return None
    found = _BUTTON_DATA.fullmatch(data)
    return Press(step_id=found[1], value=found[2]) if found else None


@dataclass(frozen=True)
class Message:
    """Something to show the resident; a question carries its buttons."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A reply to record: the resident's words verbatim, or the label/number/yes-no they chose."""

    step_id: str
    question: str
    text: str
    number: float | None = None
    # Set only by a yesno step that `records: follow_up_consent`.
    follow_up_consent: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """The result of one turn; `accepted` is False when the flow stayed where it was."""

    state: State
    messages: tuple[Message, ...]
    answer: Answer | None
    accepted: bool


def begin(flow: Flow) -> Outcome:
    """Start the flow, showing its opening messages up to the first step that waits."""
    state, messages = _arrive(flow, flow.first_step, consent=None)
    return Outcome(state=state, messages=messages, answer=None, accepted=True)


def advance(flow: Flow, state: State, inp: Input) -> Outcome:
    """Take one thing the resident sent and return what happens next."""
    if state.status is not Status.ACTIVE:
        return _stay(state, Message(_closed_text(state)))
    step = _current_step(flow, state)
    if isinstance(inp, Begin):
        return _stay(state, Message(wording.WELCOME_BACK), _ask(step))
    if isinstance(inp, Press) and inp.step_id != step.id:
        return _stay(state, Message(wording.MOVED_ON), _ask(step))
    if step.kind == "text":
        return _text_turn(flow, state, step, inp)
    return _button_turn(flow, state, step, inp)


def current_prompt(flow: Flow, state: State) -> tuple[Message, ...]:
    """Return the question the resident is on, or a short note if the flow is over."""
    if state.status is not Status.ACTIVE:
        return (Message(_closed_text(state)),)
    return (_ask(_current_step(flow, state)),)


def _closed_text(state: State) -> str:
    if state.status is Status.DECLINED:
        return wording.ALREADY_DECLINED
    return wording.ALREADY_FINISHED


def _current_step(flow: Flow, state: State) -> Step:
    # The bot pairs each state with the flow version it was made from, so a mismatch is a bug
    # there, not something a resident did.
    if state.step_id is None or not flow.has_step(state.step_id):
        raise ValueError(f"flow {flow.id!r} has no step {state.step_id!r} for an active state")
    step = flow.step(state.step_id)
    if not step.waits:
        raise ValueError(f"step {step.id!r} of flow {flow.id!r} does not wait for a reply")
    return step


def _stay(state: State, *messages: Message) -> Outcome:
    return Outcome(state=state, messages=messages, answer=None, accepted=False)


def _text_turn(flow: Flow, state: State, step: Step, inp: Text | Press | Unreadable) -> Outcome:
    if isinstance(inp, Press):
        if inp.value == SKIP and step.optional:
            return _move_on(flow, state, step, answer=None, branch=None)
        return _stay(state, Message(wording.TYPE_INSTEAD), _ask(step))
    if isinstance(inp, Unreadable):
        return _stay(state, Message(_unreadable_text(inp.kind, step)), _ask(step))
    words = inp.text.strip()
    if not words:
        return _stay(state, Message(_with_skip_hint(wording.EMPTY_TEXT, step)), _ask(step))
    if step.optional and _typed(words) in wording.SKIP_WORDS:
        return _move_on(flow, state, step, answer=None, branch=None)
    if len(words) > MAX_ANSWER_CHARS:
        return _stay(state, Message(wording.TOO_LONG))
    answer = Answer(step_id=step.id, question=step.text, text=words)
    return _move_on(flow, state, step, answer=answer, branch=None)


def _button_turn(flow: Flow, state: State, step: Step, inp: Text | Press | Unreadable) -> Outcome:
    choices = {button.value: button for button in _buttons(step)}
    value: str | None = None
    if isinstance(inp, Press) and inp.value in choices:
        value = inp.value
    elif isinstance(inp, Text):
        value = _value_for_typed(step, choices.values(), inp.text)
    if value is None:
        return _stay(state, Message(_pick_text(step)), _ask(step))
    if value == SKIP:
        return _move_on(flow, state, step, answer=None, branch=None)
    if step.kind == "consent":
        return _consent_turn(flow, state, step, agreed=value == YES)
    label = choices[value].label if step.kind == "choice" else value
    answer = Answer(
        step_id=step.id,
        question=step.text,
        text=label,
        number=float(value) if step.kind == "scale" else None,
        follow_up_consent=value == YES if step.records == "follow_up_consent" else None,
    )
    return _move_on(flow, state, step, answer=answer, branch=label)


def _consent_turn(flow: Flow, state: State, step: Step, *, agreed: bool) -> Outcome:
    if not agreed:
        declined = State(step_id=None, status=Status.DECLINED, consent=False)
        text = step.decline_text or wording.DECLINED
        return Outcome(state=declined, messages=(Message(text),), answer=None, accepted=True)
    # Consent is part of the state rather than an answer: it gates the questions, it isn't one.
    new_state, messages = _arrive(flow, flow.after(step.id), consent=True)
    return Outcome(state=new_state, messages=messages, answer=None, accepted=True)


def _move_on(
    flow: Flow, state: State, step: Step, *, answer: Answer | None, branch: str | None
) -> Outcome:
    new_state, messages = _arrive(flow, flow.after(step.id, branch), consent=state.consent)
    return Outcome(state=new_state, messages=messages, answer=answer, accepted=True)


def _arrive(
    flow: Flow, target: Step | None, *, consent: bool | None
) -> tuple[State, tuple[Message, ...]]:
    """Show message steps from `target` on until one waits for the resident or the flow ends."""
    shown: list[Message] = []
    # The model rejects circles of message steps; the bound keeps a bug from hanging the bot.
    for _ in range(len(flow.steps) + 1):
        if target is None or target.kind != "message":
            break
        shown.append(Message(target.text))
        target = flow.after(target.id)
    else:
        raise RuntimeError(f"flow {flow.id!r} goes round a circle of message steps")
    if target is None or target.kind == "end":
        # Running off the last step without an end step still deserves a thank-you, unless a
        # message step has just said one.
        if target is not None:
            shown.append(Message(target.text))
        elif not shown:
            shown.append(Message(wording.ALL_DONE))
        return State(step_id=None, status=Status.COMPLETED, consent=consent), tuple(shown)
    shown.append(_ask(target))
    return State(step_id=target.id, status=Status.ACTIVE, consent=consent), tuple(shown)


def _ask(step: Step) -> Message:
    text = step.text
    if step.kind == "scale" and step.scale_labels is not None:
        legend = wording.SCALE_LEGEND.format(low=step.scale_labels.low, high=step.scale_labels.high)
        text = f"{text}\n\n{legend}"
    return Message(text=text, buttons=_buttons(step))


def _buttons(step: Step) -> tuple[Button, ...]:
    buttons: list[Button]
    if step.kind == "choice":
        # The option's position, not its label, goes into the callback data: labels can be long.
        buttons = [Button(o.label, step.id, str(i)) for i, o in enumerate(step.options)]
    elif step.kind == "scale":
        buttons = [Button(value, step.id, value) for value in SCALE_VALUES]
    elif step.kind in ("yesno", "consent"):
        buttons = [Button(wording.YES_LABEL, step.id, YES), Button(wording.NO_LABEL, step.id, NO)]
    else:
        buttons = []
    if step.optional:
        buttons.append(Button(wording.SKIP_LABEL, step.id, SKIP))
    return tuple(buttons)


def _typed(text: str) -> str:
    # A full stop or exclamation mark after "Yes" or a label shouldn't make it unrecognisable.
    return fold(text).rstrip(".!").strip()


def _value_for_typed(step: Step, buttons: Iterable[Button], text: str) -> str | None:
    typed = _typed(text)
    for button in buttons:
        if typed == _typed(button.label):
            return button.value
    if step.kind in ("yesno", "consent"):
        if typed in wording.YES_WORDS:
            return YES
        if typed in wording.NO_WORDS:
            return NO
    if step.optional and typed in wording.SKIP_WORDS:
        return SKIP
    return None


def _pick_text(step: Step) -> str:
    if step.kind == "scale":
        return wording.PICK_NUMBER
    if step.kind in ("yesno", "consent"):
        return wording.PICK_YES_NO
    return wording.PICK_OPTION


def _unreadable_text(kind: str, step: Step) -> str:
    things = wording.UNREADABLE_THINGS.get(kind)
    text = wording.UNREADABLE.format(things=things) if things else wording.UNREADABLE_UNKNOWN
    return _with_skip_hint(text, step)


def _with_skip_hint(text: str, step: Step) -> str:
    return f"{text} {wording.SKIP_HINT}" if step.optional else text
