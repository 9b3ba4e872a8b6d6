"""The conversation engine, turn by turn, on flows parsed from real YAML."""

from textwrap import dedent

import pytest

from conversations import wording
from conversations.engine import (
    MAX_ANSWER_CHARS,
    MAX_BUTTON_DATA_BYTES,
    Answer,
    Begin,
    Button,
    Input,
    Message,
    Outcome,
    Press,
    State,
    Status,
    Text,
    Unreadable,
    advance,
    begin,
    current_prompt,
    parse_button_data,
)
from conversations.loader import parse_flow
from conversations.model import Flow


def make_flow(yaml: str) -> Flow:
    """Parse a flow written inline in a test."""
    return parse_flow(dedent(yaml), source="test.yaml")


def play(flow: Flow, *inputs: Input) -> list[Outcome]:
    """Begin the flow and send each input in turn; return every outcome, begin's first."""
    outcomes = [begin(flow)]
    for inp in inputs:
        outcomes.append(advance(flow, outcomes[-1].state, inp))
    return outcomes


def answers(outcomes: list[Outcome]) -> list[Answer]:
    """The answers recorded along the way."""
    return [outcome.answer for outcome in outcomes if outcome.answer is not None]


def texts(outcome: Outcome) -> list[str]:
    """What the resident sees, message by message."""
    return [message.text for message in outcome.messages]


def labels(message: Message) -> list[str]:
    """The labels of a message's buttons."""
    return [button.label for button in message.buttons]


def at(step_id: str, consent: bool | None = None) -> State:
    """An active state waiting at a step."""
    return State(step_id=step_id, status=Status.ACTIVE, consent=consent)


OPEN = make_flow(
    """
    id: open
    title: Open questions
    steps:
      - id: hello
        kind: message
        text: Hello.
      - id: matters
        kind: text
        text: What matters to you?
      - id: better
        kind: text
        text: What could be better?
        optional: true
        asks_for: improvement
      - id: thanks
        kind: end
        text: Thank you.
    """
)

CHOICE = make_flow(
    """
    id: choice
    title: Choice
    steps:
      - id: repairs
        kind: choice
        text: How were your repairs?
        options: [Good, Not good, Not sure]
        branches:
          good: glad
          Not Good: sorry
      - id: unsure
        kind: message
        text: That's fine.
        next: done
      - id: glad
        kind: message
        text: Glad to hear it.
        next: done
      - id: sorry
        kind: text
        text: What went wrong?
      - id: done
        kind: end
        text: Bye.
    """
)

SCALE = make_flow(
    """
    id: scale
    title: Scale
    steps:
      - id: happy
        kind: scale
        text: How happy are you here?
        scale_labels: {low: Not at all, high: Very}
        branches:
          1: why-low
      - id: thanks
        kind: end
        text: Thanks.
      - id: why-low
        kind: text
        text: What would help?
    """
)

YESNO = make_flow(
    """
    id: yesno
    title: Yes or no
    steps:
      - id: safe
        kind: yesno
        text: Do you feel safe at home?
        branches:
          no: unsafe
      - id: hear-back
        kind: yesno
        text: May we tell you what changes?
        records: follow_up_consent
      - id: bye
        kind: end
        text: Bye.
      - id: unsafe
        kind: text
        text: What makes you feel unsafe?
        next: hear-back
    """
)

CONSENT = make_flow(
    """
    id: consent
    title: Consent
    steps:
      - id: welcome
        kind: message
        text: Welcome.
      - id: ok
        kind: consent
        text: Staff will read your answers. Is that OK?
        decline_text: No problem at all.
      - id: matters
        kind: text
        text: What matters to you?
    """
)


def test_begin_shows_messages_up_to_the_first_question() -> None:
    """Beginning shows the opening message steps, then waits at the first question."""
    outcome = begin(OPEN)

    assert texts(outcome) == ["Hello.", "What matters to you?"]
    assert outcome.state == at("matters")
    assert outcome.accepted
    assert outcome.answer is None


def test_begin_waits_at_a_first_step_that_is_a_question() -> None:
    """A flow that opens with a question shows just that question."""
    outcome = begin(CHOICE)

    assert texts(outcome) == ["How were your repairs?"]
    assert outcome.state == at("repairs")


def test_typed_answer_is_recorded_verbatim() -> None:
    """Only the whitespace around a typed answer is removed; the words inside are kept as sent."""
    outcome = advance(OPEN, at("matters"), Text("  \nThe lift.\n\n  It breaks  a lot!  \n"))

    assert outcome.answer == Answer(
        step_id="matters", question="What matters to you?", text="The lift.\n\n  It breaks  a lot!"
    )
    assert outcome.accepted
    assert outcome.state == at("better")


def test_answer_of_the_longest_allowed_length_is_kept_whole() -> None:
    """An answer exactly MAX_ANSWER_CHARS long is recorded in full."""
    words = "x" * MAX_ANSWER_CHARS

    outcome = advance(OPEN, at("matters"), Text(words))

    assert outcome.answer is not None
    assert outcome.answer.text == words


def test_answer_too_long_is_refused_kindly_and_the_flow_stays() -> None:
    """A longer answer is refused with a request to shorten it, and nothing is recorded."""
    state = at("matters")

    outcome = advance(OPEN, state, Text("x" * (MAX_ANSWER_CHARS + 1)))

    assert texts(outcome) == [wording.TOO_LONG]
    assert "shorter" in wording.TOO_LONG
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


@pytest.mark.parametrize("empty", ["", "   ", "\n\t \n"])
def test_empty_answer_is_asked_for_again(empty: str) -> None:
    """An empty or blank message gets a kind re-ask and the question again."""
    state = at("matters")

    outcome = advance(OPEN, state, Text(empty))

    assert texts(outcome) == [wording.EMPTY_TEXT, "What matters to you?"]
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


def test_empty_answer_to_an_optional_question_mentions_skip() -> None:
    """On an optional question the re-ask also says the resident may skip it."""
    outcome = advance(OPEN, at("better"), Text(" "))

    assert texts(outcome)[0] == f"{wording.EMPTY_TEXT} {wording.SKIP_HINT}"
    assert labels(outcome.messages[-1]) == [wording.SKIP_LABEL]


def test_unreadable_message_to_an_open_question_asks_for_typed_words() -> None:
    """A voice message gets "I can only read typed words here", naming it, then the question."""
    state = at("matters")

    outcome = advance(OPEN, state, Unreadable("voice"))

    assert texts(outcome)[0].startswith("I can only read typed words here")
    assert "voice messages" in texts(outcome)[0]
    assert texts(outcome)[1] == "What matters to you?"
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


def test_unreadable_message_of_an_unknown_kind_still_gets_a_kind_reply() -> None:
    """Something the engine has no name for is answered without naming it."""
    outcome = advance(OPEN, at("matters"), Unreadable("hologram"))

    assert texts(outcome) == [wording.UNREADABLE_UNKNOWN, "What matters to you?"]


def test_button_pressed_on_an_open_question_shows_the_question_again() -> None:
    """A stale button from an earlier question re-shows the open question and records nothing."""
    state = at("matters")

    outcome = advance(OPEN, state, Press("repairs", "0"))

    assert texts(outcome) == [wording.MOVED_ON, "What matters to you?"]
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


def test_unknown_button_for_an_open_question_asks_for_typed_words() -> None:
    """A button value the open question never offered asks for typed words instead."""
    outcome = advance(OPEN, at("matters"), Press("matters", "0"))

    assert texts(outcome) == [wording.TYPE_INSTEAD, "What matters to you?"]
    assert not outcome.accepted


def test_optional_open_question_offers_a_skip_button() -> None:
    """An optional open question carries a single Skip button; a required one has none."""
    first = begin(OPEN).messages[-1]
    optional = advance(OPEN, at("matters"), Text("Parks")).messages[-1]

    assert first.buttons == ()
    assert optional.buttons == (Button(wording.SKIP_LABEL, "better", "skip"),)


@pytest.mark.parametrize("skip", [Press("better", "skip"), Text("skip"), Text(" Skip. ")])
def test_skipping_an_optional_question_records_nothing_and_moves_on(skip: Input) -> None:
    """The Skip button, or typing "skip", moves on without an answer."""
    outcome = advance(OPEN, at("better"), skip)

    assert outcome.answer is None
    assert outcome.accepted
    assert outcome.state.status is Status.COMPLETED
    assert texts(outcome) == ["Thank you."]


@pytest.mark.parametrize("typed", ["skip", " Skip. "])
def test_typing_skip_on_a_required_open_question_is_not_stored_as_the_answer(typed: str) -> None:
    """ "skip" at a question with no Skip button is not kept as the answer "skip": the resident
    is told it needs an answer, and asked again."""
    state = at("matters")
    outcome = advance(OPEN, state, Text(typed))

    assert outcome.answer is None
    assert not outcome.accepted
    assert outcome.state == state
    assert texts(outcome)[0] == wording.NOT_SKIPPABLE
    assert len(outcome.messages) == 2  # and the question again


def test_skip_button_on_a_required_question_is_not_a_skip() -> None:
    """A forged Skip press on a required question records nothing and stays put."""
    state = at("repairs")

    outcome = advance(CHOICE, state, Press("repairs", "skip"))

    assert outcome.state == state
    assert not outcome.accepted


def test_choice_shows_one_button_per_option() -> None:
    """A choice question carries its options as buttons whose values are their positions."""
    question = begin(CHOICE).messages[-1]

    assert question.buttons == (
        Button("Good", "repairs", "0"),
        Button("Not good", "repairs", "1"),
        Button("Not sure", "repairs", "2"),
    )


def test_choice_press_records_the_option_label() -> None:
    """Pressing an option records its label as the answer."""
    outcome = advance(CHOICE, at("repairs"), Press("repairs", "0"))

    assert outcome.answer == Answer(
        step_id="repairs", question="How were your repairs?", text="Good"
    )


@pytest.mark.parametrize("typed", ["Good", "good", "  GOOD ", "Good!", "good."])
def test_choice_accepts_a_typed_label(typed: str) -> None:
    """Typing an option's label, in any case and with spaces around it, chooses it."""
    outcome = advance(CHOICE, at("repairs"), Text(typed))

    assert outcome.answer is not None
    assert outcome.answer.text == "Good"


@pytest.mark.parametrize(
    "reply", [Text("it was fine"), Text("0"), Unreadable("sticker"), Press("repairs", "7")]
)
def test_choice_asks_again_with_the_buttons(reply: Input) -> None:
    """Anything that is not one of the options is met with a kind re-ask and the buttons."""
    state = at("repairs")

    outcome = advance(CHOICE, state, reply)

    assert texts(outcome) == [wording.PICK_OPTION, "How were your repairs?"]
    assert labels(outcome.messages[-1]) == ["Good", "Not good", "Not sure"]
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


def test_stale_press_on_a_choice_says_the_question_has_moved_on() -> None:
    """A button from an earlier question is not taken as an answer to the current one."""
    state = at("repairs")

    outcome = advance(CHOICE, state, Press("other-question", "0"))

    assert texts(outcome) == [wording.MOVED_ON, "How were your repairs?"]
    assert outcome.messages[-1].buttons == begin(CHOICE).messages[-1].buttons
    assert outcome.state == state
    assert not outcome.accepted


@pytest.mark.parametrize(
    ("press", "shown", "waiting"),
    [
        ("0", ["Glad to hear it.", "Bye."], None),
        ("1", ["What went wrong?"], "sorry"),
        ("2", ["That's fine.", "Bye."], None),
    ],
)
def test_choice_branches_on_the_option(press: str, shown: list[str], waiting: str | None) -> None:
    """Each option goes where its branch says; an option without one follows the next step."""
    outcome = advance(CHOICE, at("repairs"), Press("repairs", press))

    assert texts(outcome) == shown
    assert outcome.state.step_id == waiting


def test_scale_shows_numbers_and_what_they_mean() -> None:
    """A scale question has buttons 1 to 5 and says what 1 and 5 mean."""
    question = begin(SCALE).messages[-1]

    assert question.text == "How happy are you here?\n\n1 = Not at all, 5 = Very"
    assert labels(question) == ["1", "2", "3", "4", "5"]
    assert [button.value for button in question.buttons] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("reply", [Press("happy", "3"), Text("3"), Text(" 3 ")])
def test_scale_answer_is_recorded_as_text_and_number(reply: Input) -> None:
    """A scale answer is kept as the digit and as a number."""
    outcome = advance(SCALE, at("happy"), reply)

    assert outcome.answer == Answer(
        step_id="happy", question="How happy are you here?", text="3", number=3.0
    )
    assert outcome.state.status is Status.COMPLETED


@pytest.mark.parametrize("reply", [Text("6"), Text("three"), Text("0"), Press("happy", "9")])
def test_scale_asks_again_for_anything_but_1_to_5(reply: Input) -> None:
    """Replies outside 1 to 5 get a re-ask with the number buttons."""
    state = at("happy")

    outcome = advance(SCALE, state, reply)

    assert texts(outcome)[0] == wording.PICK_NUMBER
    assert labels(outcome.messages[-1]) == ["1", "2", "3", "4", "5"]
    assert outcome.state == state
    assert not outcome.accepted


def test_scale_branches_on_the_number() -> None:
    """A scale answer with a branch goes there; the others go on to the next step."""
    low = advance(SCALE, at("happy"), Press("happy", "1"))
    high = advance(SCALE, at("happy"), Press("happy", "5"))

    assert low.state == at("why-low")
    assert texts(low) == ["What would help?"]
    assert high.state.status is Status.COMPLETED


def test_yesno_shows_yes_and_no_buttons() -> None:
    """A yes/no question has Yes and No buttons."""
    question = begin(YESNO).messages[-1]

    assert question.buttons == (Button("Yes", "safe", "yes"), Button("No", "safe", "no"))


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("yes", "yes"),
        ("Y", "yes"),
        ("Yeah", "yes"),
        ("yep!", "yes"),
        ("  YES  ", "yes"),
        ("no", "no"),
        ("N", "no"),
        ("nope", "no"),
        ("No.", "no"),
    ],
)
def test_yesno_accepts_typed_yes_and_no(typed: str, meaning: str) -> None:
    """Common ways of typing yes or no are understood and recorded as "yes" or "no"."""
    outcome = advance(YESNO, at("hear-back"), Text(typed))

    assert outcome.answer is not None
    assert outcome.answer.text == meaning


@pytest.mark.parametrize("reply", [Text("maybe"), Unreadable("photo"), Press("safe", "perhaps")])
def test_yesno_asks_again_for_anything_else(reply: Input) -> None:
    """A reply that is neither yes nor no gets a re-ask with the buttons."""
    state = at("safe")

    outcome = advance(YESNO, state, reply)

    assert texts(outcome) == [wording.PICK_YES_NO, "Do you feel safe at home?"]
    assert labels(outcome.messages[-1]) == ["Yes", "No"]
    assert outcome.state == state
    assert not outcome.accepted


def test_yesno_branches_on_the_answer() -> None:
    """ "no" follows its branch; "yes" goes on to the following step."""
    no = advance(YESNO, at("safe"), Press("safe", "no"))
    yes = advance(YESNO, at("safe"), Press("safe", "yes"))

    assert no.state == at("unsafe")
    assert yes.state == at("hear-back")


def test_yesno_that_records_follow_up_consent_says_so_in_the_answer() -> None:
    """A yes/no marked `records: follow_up_consent` carries the resident's choice on the answer."""
    yes = advance(YESNO, at("hear-back"), Press("hear-back", "yes"))
    no = advance(YESNO, at("hear-back"), Press("hear-back", "no"))
    plain = advance(YESNO, at("safe"), Press("safe", "yes"))

    assert yes.answer is not None
    assert yes.answer.follow_up_consent is True
    assert no.answer is not None
    assert no.answer.follow_up_consent is False
    assert plain.answer is not None
    assert plain.answer.follow_up_consent is None


def test_next_after_a_question_is_followed() -> None:
    """A question with `next` goes there, not to the step written below it."""
    outcome = advance(YESNO, at("unsafe"), Text("The lighting"))

    assert outcome.state == at("hear-back")


def test_optional_button_question_is_skipped_by_press_or_word() -> None:
    """An optional choice offers Skip; skipping records nothing and ignores the branches."""
    flow = make_flow(
        """
        id: f
        title: F
        steps:
          - id: pick
            kind: choice
            text: Pick one.
            optional: true
            options: [A, B]
            branches: {A: a-only}
            next: after
          - id: a-only
            kind: text
            text: Why A?
          - id: after
            kind: text
            text: Anything else?
        """
    )
    assert labels(begin(flow).messages[-1]) == ["A", "B", "Skip"]

    for skip in (Press("pick", "skip"), Text("SKIP")):
        outcome = advance(flow, at("pick"), skip)

        assert outcome.answer is None
        assert outcome.accepted
        assert outcome.state == at("after")


def test_message_steps_are_passed_through_after_an_answer() -> None:
    """Message steps after a question are shown in order, then the next question."""
    flow = make_flow(
        """
        id: f
        title: F
        steps:
          - id: q1
            kind: text
            text: First?
          - id: m1
            kind: message
            text: Thanks for that.
          - id: m2
            kind: message
            text: Two more to go.
            next: q3
          - id: q2
            kind: text
            text: Never asked.
          - id: q3
            kind: text
            text: Second?
        """
    )

    outcome = advance(flow, at("q1"), Text("Hello"))

    assert texts(outcome) == ["Thanks for that.", "Two more to go.", "Second?"]
    assert outcome.state == at("q3")


def test_end_step_completes_the_flow() -> None:
    """Reaching an end step shows its text and marks the flow completed."""
    outcome = advance(OPEN, at("better"), Text("More benches"))

    assert texts(outcome) == ["Thank you."]
    assert outcome.state == State(step_id=None, status=Status.COMPLETED)
    assert outcome.answer is not None


def test_steps_after_an_end_step_are_not_shown() -> None:
    """An end step finishes the flow even when more steps are written below it."""
    outcome = advance(SCALE, at("happy"), Press("happy", "4"))

    assert texts(outcome) == ["Thanks."]
    assert outcome.state.status is Status.COMPLETED


def test_running_off_the_last_step_completes_with_a_thank_you() -> None:
    """A flow without an end step finishes after its last question, with a thank-you."""
    flow = make_flow(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Anything?
        """
    )

    outcome = advance(flow, at("q"), Text("No"))

    assert texts(outcome) == [wording.ALL_DONE]
    assert outcome.state.status is Status.COMPLETED


def test_running_off_after_a_closing_message_adds_nothing() -> None:
    """When the last step is a message, it is the goodbye; no second thank-you is added."""
    flow = make_flow(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Anything?
          - id: bye
            kind: message
            text: Thanks, bye.
        """
    )

    outcome = advance(flow, at("q"), Text("No"))

    assert texts(outcome) == ["Thanks, bye."]
    assert outcome.state.status is Status.COMPLETED


def test_consent_is_asked_with_yes_and_no_buttons() -> None:
    """The consent step waits with Yes and No buttons, after the opening message."""
    outcome = begin(CONSENT)

    assert texts(outcome) == ["Welcome.", "Staff will read your answers. Is that OK?"]
    assert labels(outcome.messages[-1]) == ["Yes", "No"]
    assert outcome.state == at("ok")


@pytest.mark.parametrize("agree", [Press("ok", "yes"), Text("Yes"), Text("yep")])
def test_consent_yes_is_kept_in_the_state_not_as_an_answer(agree: Input) -> None:
    """Agreeing moves on to the questions; consent is state, not a recorded answer."""
    outcome = advance(CONSENT, at("ok"), agree)

    assert outcome.answer is None
    assert outcome.accepted
    assert outcome.state == at("matters", consent=True)
    assert texts(outcome) == ["What matters to you?"]


@pytest.mark.parametrize("decline", [Press("ok", "no"), Text("No"), Text("nope")])
def test_resident_who_declines_consent_is_thanked_and_nothing_is_recorded(decline: Input) -> None:
    """A resident who declines consent is thanked and nothing is recorded."""
    outcome = advance(CONSENT, at("ok"), decline)

    assert texts(outcome) == ["No problem at all."]
    assert outcome.answer is None
    assert outcome.accepted
    assert outcome.state == State(step_id=None, status=Status.DECLINED, consent=False)


def test_declining_without_a_decline_text_gets_the_default_words() -> None:
    """A consent step without its own decline_text uses the engine's warm default."""
    flow = make_flow(
        """
        id: f
        title: F
        steps:
          - id: ok
            kind: consent
            text: OK?
          - id: q
            kind: text
            text: Anything?
        """
    )

    outcome = advance(flow, at("ok"), Press("ok", "no"))

    assert texts(outcome) == [wording.DECLINED]


def test_consent_asks_again_for_anything_but_yes_or_no() -> None:
    """An unclear reply to the consent step neither agrees nor declines."""
    state = at("ok")

    outcome = advance(CONSENT, state, Text("what is this?"))

    assert texts(outcome)[0] == wording.PICK_YES_NO
    assert outcome.state == state
    assert not outcome.accepted


def test_consent_is_carried_through_to_the_end() -> None:
    """Once given, consent stays in the state when the flow completes."""
    outcomes = play(CONSENT, Press("ok", "yes"), Text("Quiet"))

    assert outcomes[-1].state == State(step_id=None, status=Status.COMPLETED, consent=True)
    assert [answer.text for answer in answers(outcomes)] == ["Quiet"]


@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (Status.COMPLETED, wording.ALREADY_FINISHED),
        (Status.DECLINED, wording.ALREADY_DECLINED),
        (Status.EXPIRED, wording.ALREADY_EXPIRED),
    ],
)
@pytest.mark.parametrize(
    "inp", [Text("hello"), Press("matters", "yes"), Unreadable("photo"), Begin()]
)
def test_input_after_the_flow_is_over_changes_nothing(
    status: Status, reply: str, inp: Input
) -> None:
    """After completing, declining or expiring, anything sent gets a short note, records nothing."""
    state = State(step_id=None, status=status)

    outcome = advance(OPEN, state, inp)

    assert texts(outcome) == [reply]
    assert outcome.state == state
    assert outcome.answer is None
    assert not outcome.accepted


def test_begin_on_an_active_state_resumes_at_the_current_question() -> None:
    """Beginning again mid-flow welcomes the resident back to the same question."""
    state = at("better")

    outcome = advance(OPEN, state, Begin())

    assert texts(outcome) == [wording.WELCOME_BACK, "What could be better?"]
    assert labels(outcome.messages[-1]) == [wording.SKIP_LABEL]
    assert outcome.state == state
    assert outcome.answer is None


def test_current_prompt_repeats_the_question_with_its_buttons() -> None:
    """The current prompt is the question the resident is on, exactly as first asked."""
    asked = begin(CHOICE).messages[-1]

    assert current_prompt(CHOICE, at("repairs")) == (asked,)


def test_current_prompt_after_the_end_is_a_short_note() -> None:
    """With nothing left to ask, the prompt says the conversation is over."""
    finished = State(step_id=None, status=Status.COMPLETED)

    assert current_prompt(OPEN, finished) == (Message(wording.ALREADY_FINISHED),)


def test_state_survives_a_json_round_trip() -> None:
    """The stored JSON of a state reads back as the same state, and the flow carries on from it."""
    state = advance(CONSENT, at("ok"), Press("ok", "yes")).state

    restored = State.model_validate_json(state.model_dump_json())

    assert restored == state
    assert advance(CONSENT, restored, Text("Quiet")).state.status is Status.COMPLETED


@pytest.mark.parametrize(
    "state",
    [
        State(step_id=None, status=Status.COMPLETED, consent=True),
        State(step_id=None, status=Status.DECLINED, consent=False),
        State(step_id=None, status=Status.EXPIRED, consent=True, language="cy"),
        at("matters"),
    ],
)
def test_every_status_survives_a_json_round_trip(state: State) -> None:
    """Finished, declined, expired and active states all read back unchanged."""
    assert State.model_validate_json(state.model_dump_json()) == state


def test_a_state_stored_without_a_language_reads_back_as_the_main_language() -> None:
    """States stored before flows had languages have no `language`; they load with None."""
    stored = '{"step_id": "matters", "status": "active", "consent": null}'

    state = State.model_validate_json(stored)

    assert state == at("matters")
    assert state.language is None
    assert advance(OPEN, state, Text("Quiet")).state == at("better")


def test_begin_without_a_language_keeps_none_in_the_state() -> None:
    """A one-language flow begun without a language runs in its main language, as before."""
    assert begin(OPEN).state.language is None
    assert begin(OPEN, "en-GB").state.language == "en"


def test_state_for_a_step_the_flow_lacks_is_a_programming_error() -> None:
    """An active state pointing at no question of this flow is refused loudly, not guessed at."""
    with pytest.raises(ValueError, match="no step 'gone'"):
        advance(OPEN, at("gone"), Text("hello"))
    with pytest.raises(ValueError, match="does not wait"):
        advance(OPEN, at("hello"), Text("hello"))


def test_button_data_fits_telegram_for_the_longest_ids() -> None:
    """With a 32-character step id and ten options plus Skip, every button's data fits 64 bytes."""
    long_id = "a" * 32
    options = ", ".join(f"Option number {n}" for n in range(10))
    flow = make_flow(
        f"""
        id: {long_id}
        title: Long
        steps:
          - id: {long_id}
            kind: choice
            text: Pick one.
            optional: true
            options: [{options}]
        """
    )

    buttons = begin(flow).messages[-1].buttons

    assert len(buttons) == 11
    for button in buttons:
        assert len(button.data.encode("utf-8")) <= MAX_BUTTON_DATA_BYTES
        assert parse_button_data(button.data) == Press(button.step_id, button.value)


def test_button_data_round_trips_through_parse() -> None:
    """Every button the engine makes parses back to a press that the engine accepts."""
    for flow, step_id in [(CHOICE, "repairs"), (SCALE, "happy"), (YESNO, "safe"), (CONSENT, "ok")]:
        for button in current_prompt(flow, at(step_id))[0].buttons:
            press = parse_button_data(button.data)

            assert press == Press(step_id, button.value)
            assert advance(flow, at(step_id), press).accepted


@pytest.mark.parametrize(
    "data",
    [
        "",
        "repairs",
        "repairs|",
        "|0",
        "repairs|0|1",
        "Repairs|0",
        "repairs|YES",
        "repairs|0 ",
        "répairs|0",
        "repairs|" + "0" * 60,
        "a" * 40 + "|0",
    ],
)
def test_malformed_button_data_is_ignored(data: str) -> None:
    """Callback data that is not exactly "step|value" parses to None."""
    assert parse_button_data(data) is None
