"""The conversation engine: given a flow, where a resident is and what they sent, say what happens.

Pure and synchronous (no Telegram, storage or clock), so the bot and `whatmatters try` share it.
A reply the engine cannot use never moves the flow on and never produces an answer.

Languages: a resident reads a flow in `State.language` (chosen at `begin`), falling back to the
flow's main language for any text not translated. Whatever they read, an `Answer` is recorded in
the flow's main language: its `question` is the main-language text and a choice's answer is the
main-language label, so analytics group one question's answers across languages.

Time: the engine never reads a clock. `reminder_due` and `expiry_due` say how long after a question
was asked its reminder or its expiry falls due; the bot keeps when it asked, and calls `expire`.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final, TypeAlias

from pydantic import BaseModel, ConfigDict

from conversations import wording
from conversations.model import ID_REGEX, NO, SCALE_VALUES, YES, Flow, Localised, Step, fold

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
    # The resident did not answer a question before it expired, so the conversation closed.
    EXPIRED = "expired"


class State(BaseModel):
    """Where a resident is in a flow; the bot stores it as JSON between messages.

    Nothing in it is about time: the bot keeps when the current question was asked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The step waiting for the resident; None once the flow is no longer active.
    step_id: str | None
    status: Status
    # None until the resident answers a consent step (and for flows without one).
    consent: bool | None = None
    # The language the resident reads the flow in: one of the flow's languages, or None for its
    # main language. States stored before there were languages have none, and read back as None.
    language: str | None = None


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
    """Something the engine cannot read, named by its kind: sticker, photo, voice, …

    `caption` is any words sent with it: never an answer, but looked at for signs of risk.
    """

    kind: str
    caption: str = ""


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
    # Help that must reach the resident whatever else is held back (a burst of messages).
    urgent: bool = False


@dataclass(frozen=True)
class Answer:
    """A reply to record: the resident's words verbatim, or the label/number/yes-no they chose.

    `question` is the step's text in the flow's main language, and a choice's `text` is the
    option's main-language label, whichever language the resident read: one question's answers
    group together across languages. Typed words are kept as typed, in whatever language.
    """

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


@dataclass(frozen=True)
class _Voice:
    """The flow's texts and the engine's own words, in the language one resident reads."""

    language: str
    main_language: str
    words: wording.EngineWording
    main_words: wording.EngineWording

    def say(self, text: Localised) -> str:
        return text.get(self.language)

    def matches(self, typed: str, text: Localised) -> bool:
        """Whether typed words are this text, in the resident's language or the main one."""
        return typed in (_typed(text.get(self.language)), _typed(text.main))

    def typed_is(self, typed: str, meaning: str) -> bool:
        """Whether typed words mean yes, no or skip, in the resident's language or the main one."""
        return any(
            typed in {YES: w.yes_words, NO: w.no_words, SKIP: w.skip_words}[meaning]
            for w in (self.words, self.main_words)
        )


def _voice(flow: Flow, language: str | None) -> _Voice:
    reading = flow.match_language(language) or flow.language
    return _Voice(
        language=reading,
        main_language=flow.language,
        words=wording.for_language(reading),
        main_words=wording.for_language(flow.language),
    )


def begin(flow: Flow, language: str | None = None) -> Outcome:
    """Start the flow, showing its opening messages up to the first step that waits.

    `language` is the resident's language (e.g. Telegram's "cy" or "en-GB"); the closest of the
    flow's languages is kept in the state, or None (the main language) if it offers nothing close.
    """
    state = State(step_id=None, status=Status.ACTIVE, language=flow.match_language(language))
    new_state, messages = _arrive(flow, state, flow.first_step, consent=None)
    return Outcome(state=new_state, messages=messages, answer=None, accepted=True)


def advance(flow: Flow, state: State, inp: Input) -> Outcome:
    """Take one thing the resident sent and return what happens next."""
    voice = _voice(flow, state.language)
    if state.status is not Status.ACTIVE:
        return _stay(state, Message(_closed_text(state, voice)))
    step = _current_step(flow, state)
    if isinstance(inp, Begin):
        return _stay(state, Message(voice.words.welcome_back), _ask(step, voice))
    if isinstance(inp, Press) and inp.step_id != step.id:
        return _stay(state, Message(voice.words.moved_on), _ask(step, voice))
    if step.kind == "text":
        return _text_turn(flow, state, step, inp, voice)
    return _button_turn(flow, state, step, inp, voice)


def current_prompt(flow: Flow, state: State) -> tuple[Message, ...]:
    """Return the question the resident is on, or a short note if the flow is over."""
    voice = _voice(flow, state.language)
    if state.status is not Status.ACTIVE:
        return (Message(_closed_text(state, voice)),)
    return (_ask(_current_step(flow, state), voice),)


def change_language(flow: Flow, state: State, language: str) -> Outcome:
    """Switch the resident to another of the flow's languages, showing where they are again.

    Not accepted (nothing changes, the prompt is shown as it was) if the flow has no language
    close to `language`.
    """
    chosen = flow.match_language(language)
    if chosen is None:
        return _stay(state, *current_prompt(flow, state))
    new_state = state.model_copy(update={"language": chosen})
    return Outcome(
        state=new_state, messages=current_prompt(flow, new_state), answer=None, accepted=True
    )


def reminder_due(flow: Flow, state: State) -> tuple[timedelta, Message] | None:
    """When the current question's reminder is due, and what it says; None if there is none.

    The time is how long after the question was asked; the message is the reminder's text and
    the question again, with its buttons. None once the flow is not active.
    """
    if state.status is not Status.ACTIVE:
        return None
    step = _current_step(flow, state)
    if step.reminder is None:
        return None
    voice = _voice(flow, state.language)
    question = _ask(step, voice)
    text = f"{voice.say(step.reminder.text)}\n\n{question.text}"
    return step.reminder.after, Message(text=text, buttons=question.buttons)


def expiry_due(flow: Flow, state: State) -> timedelta | None:
    """How long after the current question was asked the conversation expires; None: never."""
    if state.status is not Status.ACTIVE:
        return None
    return _current_step(flow, state).expires


def expire(flow: Flow, state: State) -> Outcome:
    """Close an unanswered conversation: status EXPIRED, a kind closing message, no answer.

    A conversation that is no longer active is left as it is, with nothing to say (not
    accepted): the resident may have answered just before the expiry was acted on.
    """
    if state.status is not Status.ACTIVE:
        return _stay(state)
    step = _current_step(flow, state)
    voice = _voice(flow, state.language)
    text = voice.say(step.expired_text) if step.expired_text else voice.words.expired
    closed = state.model_copy(update={"step_id": None, "status": Status.EXPIRED})
    return Outcome(state=closed, messages=(Message(text),), answer=None, accepted=True)


def _closed_text(state: State, voice: _Voice) -> str:
    if state.status is Status.DECLINED:
        return voice.words.already_declined
    if state.status is Status.EXPIRED:
        return voice.words.already_expired
    return voice.words.already_finished


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


def _text_turn(
    flow: Flow, state: State, step: Step, inp: Text | Press | Unreadable, voice: _Voice
) -> Outcome:
    if isinstance(inp, Press):
        if inp.value == SKIP and step.optional:
            return _move_on(flow, state, step, answer=None, branch=None)
        return _stay(state, Message(voice.words.type_instead), _ask(step, voice))
    if isinstance(inp, Unreadable):
        return _stay(state, Message(_unreadable_text(inp.kind, step, voice)), _ask(step, voice))
    words = inp.text.strip()
    if not words:
        empty = _with_skip_hint(voice.words.empty_text, step, voice)
        return _stay(state, Message(empty), _ask(step, voice))
    if voice.typed_is(_typed(words), SKIP) or _typed(words) in _labels_for(SKIP, voice):
        if step.optional:
            return _move_on(flow, state, step, answer=None, branch=None)
        # Meant as the button a required question does not have, not as the answer "skip".
        return _stay(state, Message(voice.words.not_skippable), _ask(step, voice))
    if len(words) > MAX_ANSWER_CHARS:
        return _stay(state, Message(voice.words.too_long))
    answer = Answer(step_id=step.id, question=step.text.main, text=words)
    return _move_on(flow, state, step, answer=answer, branch=None)


def _button_turn(
    flow: Flow, state: State, step: Step, inp: Text | Press | Unreadable, voice: _Voice
) -> Outcome:
    values = {button.value for button in _buttons(step, voice)}
    value: str | None = None
    if isinstance(inp, Press) and inp.value in values:
        value = inp.value
    elif isinstance(inp, Text):
        value = _value_for_typed(step, inp.text, voice)
    if value is None:
        return _stay(state, Message(_pick_text(step, voice)), _ask(step, voice))
    if value == SKIP:
        return _move_on(flow, state, step, answer=None, branch=None)
    if step.kind == "consent":
        return _consent_turn(flow, state, step, agreed=value == YES, voice=voice)
    # Recorded, and branched on, in the main language whatever the resident read.
    label = step.options[int(value)].label.main if step.kind == "choice" else value
    answer = Answer(
        step_id=step.id,
        question=step.text.main,
        text=label,
        number=float(value) if step.kind == "scale" else None,
        follow_up_consent=value == YES if step.records == "follow_up_consent" else None,
    )
    return _move_on(flow, state, step, answer=answer, branch=label)


def _consent_turn(flow: Flow, state: State, step: Step, *, agreed: bool, voice: _Voice) -> Outcome:
    if not agreed:
        declined = State(
            step_id=None, status=Status.DECLINED, consent=False, language=state.language
        )
        text = voice.say(step.decline_text) if step.decline_text else voice.words.declined
        return Outcome(state=declined, messages=(Message(text),), answer=None, accepted=True)
    # Consent is part of the state rather than an answer: it gates the questions, it isn't one.
    new_state, messages = _arrive(flow, state, flow.after(step.id), consent=True)
    return Outcome(state=new_state, messages=messages, answer=None, accepted=True)


def _move_on(
    flow: Flow, state: State, step: Step, *, answer: Answer | None, branch: str | None
) -> Outcome:
    new_state, messages = _arrive(flow, state, flow.after(step.id, branch), consent=state.consent)
    return Outcome(state=new_state, messages=messages, answer=answer, accepted=True)


def _arrive(
    flow: Flow, state: State, target: Step | None, *, consent: bool | None
) -> tuple[State, tuple[Message, ...]]:
    """Show message steps from `target` on until one waits for the resident or the flow ends."""
    voice = _voice(flow, state.language)
    shown: list[Message] = []
    # The model rejects circles of message steps; the bound keeps a bug from hanging the bot.
    for _ in range(len(flow.steps) + 1):
        if target is None or target.kind != "message":
            break
        shown.append(Message(voice.say(target.text)))
        target = flow.after(target.id)
    else:
        raise RuntimeError(f"flow {flow.id!r} goes round a circle of message steps")
    if target is None or target.kind == "end":
        # Running off the last step without an end step still deserves a thank-you, unless a
        # message step has just said one.
        if target is not None:
            shown.append(Message(voice.say(target.text)))
        elif not shown:
            shown.append(Message(voice.words.all_done))
        done = State(
            step_id=None, status=Status.COMPLETED, consent=consent, language=state.language
        )
        return done, tuple(shown)
    shown.append(_ask(target, voice))
    waiting = State(
        step_id=target.id, status=Status.ACTIVE, consent=consent, language=state.language
    )
    return waiting, tuple(shown)


def _ask(step: Step, voice: _Voice) -> Message:
    text = voice.say(step.text)
    if step.kind == "scale" and step.scale_labels is not None:
        legend = voice.words.scale_legend.format(
            low=voice.say(step.scale_labels.low), high=voice.say(step.scale_labels.high)
        )
        text = f"{text}\n\n{legend}"
    return Message(text=text, buttons=_buttons(step, voice))


def _buttons(step: Step, voice: _Voice) -> tuple[Button, ...]:
    buttons: list[Button]
    if step.kind == "choice":
        # The option's position, not its label, goes into the callback data: labels can be long.
        buttons = [Button(voice.say(o.label), step.id, str(i)) for i, o in enumerate(step.options)]
    elif step.kind == "scale":
        buttons = [Button(value, step.id, value) for value in SCALE_VALUES]
    elif step.kind in ("yesno", "consent"):
        buttons = [
            Button(voice.words.yes_label, step.id, YES),
            Button(voice.words.no_label, step.id, NO),
        ]
    else:
        buttons = []
    if step.optional:
        buttons.append(Button(voice.words.skip_label, step.id, SKIP))
    return tuple(buttons)


def _typed(text: str) -> str:
    # A full stop or exclamation mark after "Yes" or a label shouldn't make it unrecognisable.
    return fold(text).rstrip(".!").strip()


def _value_for_typed(step: Step, text: str, voice: _Voice) -> str | None:
    typed = _typed(text)
    if step.kind == "choice":
        for index, option in enumerate(step.options):
            if voice.matches(typed, option.label):
                return str(index)
    if step.kind == "scale" and typed in SCALE_VALUES:
        return typed
    if step.kind in ("yesno", "consent"):
        for meaning in (YES, NO):
            if voice.typed_is(typed, meaning) or typed in _labels_for(meaning, voice):
                return meaning
    if step.optional and (voice.typed_is(typed, SKIP) or typed in _labels_for(SKIP, voice)):
        return SKIP
    return None


def _labels_for(meaning: str, voice: _Voice) -> Iterable[str]:
    # A resident may type what a button says, in their language or the main one.
    for words in (voice.words, voice.main_words):
        label = {YES: words.yes_label, NO: words.no_label, SKIP: words.skip_label}[meaning]
        yield _typed(label)


def _pick_text(step: Step, voice: _Voice) -> str:
    if step.kind == "scale":
        return voice.words.pick_number
    if step.kind in ("yesno", "consent"):
        return voice.words.pick_yes_no
    return voice.words.pick_option


def _unreadable_text(kind: str, step: Step, voice: _Voice) -> str:
    things = voice.words.unreadable_things.get(kind)
    unknown = voice.words.unreadable_unknown
    text = voice.words.unreadable.format(things=things) if things else unknown
    return _with_skip_hint(text, step, voice)


def _with_skip_hint(text: str, step: Step, voice: _Voice) -> str:
    return f"{text} {voice.words.skip_hint}" if step.optional else text
