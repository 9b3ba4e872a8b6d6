"""Reminders and expiry: what falls due how long after a question, and closing a quiet conversation.

All pure: the engine is told nothing about the clock, and the state records nothing about time.
"""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from conversations import wording
from conversations.changes import describe_changes
from conversations.engine import (
    Begin,
    Button,
    Input,
    Message,
    Press,
    State,
    Status,
    Text,
    Unreadable,
    advance,
    begin,
    current_prompt,
    expire,
    expiry_due,
    reminder_due,
)
from conversations.model import Localised, Reminder, format_duration, parse_duration
from tests.inline_flows import make_flow, only_problem, problems_in


def at(step_id: str, language: str | None = None) -> State:
    """An active state waiting at a step, after consent, read in a language."""
    return State(step_id=step_id, status=Status.ACTIVE, consent=True, language=language)


FLOW = make_flow(
    """
    id: nudges
    title: Nudges
    languages: [en, cy]
    steps:
      - id: ok
        kind: consent
        text: May we ask?
      - id: matters
        kind: text
        text: {en: What matters to you?, cy: Beth sy'n bwysig i chi?}
        reminder:
          after: 24h
          text: {en: Just a gentle nudge., cy: Dim ond atgoffa.}
        expires: 14d
      - id: repairs
        kind: choice
        text: How were the repairs?
        options: [Good, Bad]
        optional: true
        reminder: {after: 90m, text: Still there?}
        expires: 2d
        expired_text: {en: We've closed this for now. Thanks!, cy: Rydyn ni wedi cau hwn. Diolch!}
      - id: happy
        kind: scale
        text: How happy are you?
      - id: bye
        kind: end
        text: Thanks.
    """
)


# --- Lengths of time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("1m", timedelta(minutes=1)),
        ("30d", timedelta(days=30)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("1h30m", timedelta(minutes=90)),
        ("2 days", timedelta(days=2)),
        (" 45 Minutes ", timedelta(minutes=45)),
        ("1w", timedelta(weeks=1)),
        ("3 hours", timedelta(hours=3)),
    ],
)
def test_lengths_of_time_are_read_as_admins_write_them(written: str, meant: timedelta) -> None:
    """Minutes, hours, days and weeks, short or spelt out, alone or combined, are understood."""
    assert parse_duration(written) == meant


@pytest.mark.parametrize(
    ("duration", "said"),
    [
        (timedelta(minutes=90), "1h 30m"),
        (timedelta(hours=24), "1d"),
        (timedelta(days=14), "14d"),
        (timedelta(days=1, hours=2, minutes=3), "1d 2h 3m"),
    ],
)
def test_lengths_of_time_are_said_back_the_same_way(duration: timedelta, said: str) -> None:
    """format_duration writes a length of time in the same short form admins use."""
    assert format_duration(duration) == said
    assert parse_duration(said) == duration


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("24", "24 needs a unit: 24m for minutes, 24h for hours or 24d for days"),
        ("soon", '"soon" is not a length of time; write a whole number and a unit'),
        ("1.5h", '"1.5h" is not a length of time'),
        ("h", '"h" is not a length of time'),
        ("30s", '"s" is not a unit of time here; use m (minutes), h (hours) or d (days)'),
        ("0m", "this is too short; the shortest is 1 minute (1m)"),
        ("31d", "this is too long; the longest is 30 days (30d)"),
        ("5w", "this is too long; the longest is 30 days (30d)"),
        ("true", "this should be a length of time"),
        ("[1, h]", "this should be a length of time"),
    ],
)
def test_a_bad_length_of_time_is_named_at_its_line(written: str, message: str) -> None:
    """A reminder's `after` that is not a usable length of time is explained at its own line."""
    problem = only_problem(
        f"""
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            reminder:
              after: {written}
              text: Hello?
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (8, "reminder.after", "q")
    assert problem.message.startswith(message)


def test_a_bad_expiry_is_named_at_its_line() -> None:
    """`expires` is read and checked the same way, and reported at its line."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            expires: a fortnight
        """
    )

    assert (problem.line, problem.field) == (7, "expires")
    assert problem.message.startswith('"a fortnight" is not a length of time')


# --- What the YAML may say ----------------------------------------------------------------------


def test_reminders_and_expiry_load_with_the_question() -> None:
    """A question's reminder (after, text) and expiry (expires, expired_text) are kept on it."""
    step = FLOW.step("repairs")

    assert step.reminder == Reminder(after=timedelta(minutes=90), text=Localised("Still there?"))
    assert step.expires == timedelta(days=2)
    assert step.expired_text is not None
    assert step.expired_text.get("cy") == "Rydyn ni wedi cau hwn. Diolch!"
    assert FLOW.step("happy").reminder is None
    assert FLOW.step("happy").expires is None


@pytest.mark.parametrize("kind", ["message", "consent", "end"])
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("reminder", "{after: 1h, text: Hi}", "only a question can have a reminder"),
        ("expires", "2d", "only a question can expire"),
        ("expired_text", "Bye", "only a question can have an expired_text"),
    ],
)
def test_reminders_and_expiry_are_only_for_questions(
    kind: str, field: str, value: str, reason: str
) -> None:
    """A message, consent or end step cannot have a reminder or expire: only questions wait."""
    problem = only_problem(
        f"""
        id: f
        title: F
        steps:
          - id: hello
            kind: {kind}
            text: Hello.
            {field}: {value}
          - id: q
            kind: text
            text: Why?
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (7, field, "hello")
    assert problem.message.startswith(reason)


@pytest.mark.parametrize(("after", "expires"), [("2d", "2d"), ("3d", "48h")])
def test_a_reminder_must_come_before_the_expiry(after: str, expires: str) -> None:
    """A reminder due when or after the question expires would never be sent; it is refused."""
    problem = only_problem(
        f"""
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            reminder:
              after: {after}
              text: Hello?
            expires: {expires}
        """
    )

    assert (problem.line, problem.field) == (8, "reminder.after")
    assert "make the reminder sooner or the expiry later" in problem.message


def test_an_expired_text_needs_an_expiry() -> None:
    """Saying what to tell residents when a question expires means nothing if it never does."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            expired_text: Bye for now.
        """
    )

    assert (problem.line, problem.field) == (7, "expired_text")
    assert "needs expires:" in problem.message


def test_a_reminder_needs_both_when_and_what() -> None:
    """A reminder without `after` or `text` says which is missing, and what goes there."""
    problems = problems_in(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            reminder: {}
        """
    )

    assert [(problem.line, problem.field) for problem in problems] == [
        (7, "reminder.after"),
        (7, "reminder.text"),
    ]
    assert "say how long to wait" in problems[0].message
    assert "say what the reminder says" in problems[1].message


def test_an_unknown_field_in_a_reminder_lists_what_it_can_have() -> None:
    """A misspelt field in a reminder suggests the right one."""
    problems = problems_in(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            reminder:
              afer: 1h
              text: Hello?
        """
    )

    unknown = next(problem for problem in problems if problem.line == 8)
    assert unknown.message == (
        'there is no field called "afer" (did you mean "after"?); a reminder can have: after, text'
    )


def test_a_reminder_built_in_code_gets_the_same_checks() -> None:
    """The model checks lengths of time without the loader too."""
    with pytest.raises(ValidationError, match="the shortest is 1 minute"):
        Reminder(after="0m", text="Hi")


# --- Reminders ----------------------------------------------------------------------------------


def test_a_reminder_is_due_after_its_time_with_the_question_again() -> None:
    """The nudge is due `after` the question was asked: its text, then the question."""
    due = reminder_due(FLOW, at("matters"))

    assert due == (
        timedelta(hours=24),
        Message("Just a gentle nudge.\n\nWhat matters to you?"),
    )


def test_a_reminder_carries_the_questions_buttons() -> None:
    """A reminder for a choice brings its buttons, Skip included, so the resident can just tap."""
    due = reminder_due(FLOW, at("repairs"))

    assert due is not None
    after, message = due
    assert after == timedelta(minutes=90)
    assert message.text == "Still there?\n\nHow were the repairs?"
    assert message.buttons == (
        Button("Good", "repairs", "0"),
        Button("Bad", "repairs", "1"),
        Button(wording.SKIP_LABEL, "repairs", "skip"),
    )


def test_a_reminder_is_in_the_residents_language() -> None:
    """A Welsh reader is reminded in Welsh, and asked the question in Welsh."""
    due = reminder_due(FLOW, at("matters", "cy"))

    assert due is not None
    assert due[1].text == "Dim ond atgoffa.\n\nBeth sy'n bwysig i chi?"


def test_a_reminder_is_answered_like_the_question() -> None:
    """Tapping a button under the reminder answers the question, as under the question itself."""
    due = reminder_due(FLOW, at("repairs"))
    assert due is not None

    outcome = advance(FLOW, at("repairs"), Press("repairs", due[1].buttons[1].value))

    assert outcome.answer is not None
    assert outcome.answer.text == "Bad"


def test_no_reminder_is_due_for_a_question_without_one() -> None:
    """A question with no reminder never has one due."""
    assert reminder_due(FLOW, at("happy")) is None


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.DECLINED, Status.EXPIRED])
def test_nothing_is_due_once_the_conversation_is_over(status: Status) -> None:
    """A finished, declined or expired conversation has no reminder and no expiry due."""
    state = State(step_id=None, status=status)

    assert reminder_due(FLOW, state) is None
    assert expiry_due(FLOW, state) is None


def test_nothing_is_due_at_the_consent_step() -> None:
    """The consent step is not a question, so it neither reminds nor expires."""
    state = begin(FLOW).state

    assert state.step_id == "ok"
    assert reminder_due(FLOW, state) is None
    assert expiry_due(FLOW, state) is None


def test_asking_for_a_reminder_changes_nothing() -> None:
    """Looking up what is due is pure: the state is the same object, unchanged, afterwards."""
    state = at("matters")
    before = state.model_dump_json()

    reminder_due(FLOW, state)
    expiry_due(FLOW, state)

    assert state.model_dump_json() == before


def test_the_state_records_nothing_about_time() -> None:
    """When a question was asked is the bot's to keep; the stored state has no time in it."""
    assert set(State.model_fields) == {"step_id", "status", "consent", "language"}


# --- Expiry -------------------------------------------------------------------------------------


def test_expiry_is_due_after_the_questions_expires() -> None:
    """expiry_due gives how long after the question was asked the conversation closes."""
    assert expiry_due(FLOW, at("matters")) == timedelta(days=14)
    assert expiry_due(FLOW, at("repairs")) == timedelta(days=2)
    assert expiry_due(FLOW, at("happy")) is None


def test_expiring_closes_the_conversation_kindly_and_records_nothing() -> None:
    """Expiry sets status EXPIRED with no step, keeps consent and language, and records nothing."""
    outcome = expire(FLOW, at("matters", "cy"))

    assert outcome.state == State(step_id=None, status=Status.EXPIRED, consent=True, language="cy")
    assert outcome.messages == (Message(wording.EXPIRED),)
    assert outcome.answer is None
    assert outcome.accepted


def test_expiring_says_the_steps_own_expired_text_in_the_residents_language() -> None:
    """A step's expired_text is said instead of the default, translated where it can be."""
    english = expire(FLOW, at("repairs"))
    welsh = expire(FLOW, at("repairs", "cy"))

    assert english.messages == (Message("We've closed this for now. Thanks!"),)
    assert welsh.messages == (Message("Rydyn ni wedi cau hwn. Diolch!"),)


def test_the_default_expiry_words_are_warm_and_say_how_to_come_back() -> None:
    """The engine's own closing words thank the resident and mention /start."""
    assert "Thank you" in wording.EXPIRED
    assert "/start" in wording.EXPIRED
    assert "/start" in wording.ALREADY_EXPIRED


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.DECLINED, Status.EXPIRED])
def test_expiring_a_conversation_that_is_over_changes_nothing(status: Status) -> None:
    """If the resident finished just before the expiry was acted on, nothing happens or is said."""
    state = State(step_id=None, status=status, consent=True)

    outcome = expire(FLOW, state)

    assert outcome.state == state
    assert outcome.messages == ()
    assert not outcome.accepted


@pytest.mark.parametrize(
    "inp", [Text("Parks"), Press("matters", "skip"), Unreadable("photo"), Begin()]
)
def test_after_expiry_anything_sent_gets_a_short_note(inp: Input) -> None:
    """An expired conversation takes no more answers; the resident is told how to start again."""
    expired = expire(FLOW, at("matters")).state

    outcome = advance(FLOW, expired, inp)

    assert [message.text for message in outcome.messages] == [wording.ALREADY_EXPIRED]
    assert outcome.state == expired
    assert outcome.answer is None
    assert not outcome.accepted
    assert current_prompt(FLOW, expired) == (Message(wording.ALREADY_EXPIRED),)


def test_an_expired_state_survives_a_json_round_trip() -> None:
    """The EXPIRED status is stored and read back like the others."""
    expired = expire(FLOW, at("matters", "cy")).state

    assert State.model_validate_json(expired.model_dump_json()) == expired
    assert '"status":"expired"' in expired.model_dump_json()


def test_changing_a_reminder_is_named_when_publishing() -> None:
    """A new reminder time is a change of settings; new reminder words are a change of wording."""
    sooner = FLOW.model_copy(
        update={
            "steps": tuple(
                step.model_copy(
                    update={"reminder": Reminder(after="12h", text=Localised("Just a nudge."))}
                )
                if step.id == "matters"
                else step
                for step in FLOW.steps
            )
        }
    )

    assert describe_changes(FLOW, sooner) == [
        'changed the wording or translations of step "matters"',
        'changed the settings of step "matters"',
    ]
