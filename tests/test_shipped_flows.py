"""The flows that ship with whatmatters load, and a resident can go through them end to end."""

from datetime import timedelta

import pytest

from conversations import wording
from conversations.engine import (
    MAX_BUTTON_DATA_BYTES,
    Answer,
    Input,
    Outcome,
    Press,
    State,
    Status,
    Text,
    advance,
    begin,
    current_prompt,
    expire,
    expiry_due,
    reminder_due,
)
from conversations.loader import (
    SHIPPED_FLOWS_DIR,
    check_flow,
    flow_warnings,
    load_flow,
    parse_flow,
    shipped_flow_sources,
    shipped_flows,
)
from conversations.model import Flow


def what_matters() -> Flow:
    """The default flow residents get with /start."""
    return shipped_flows()["what-matters"]


def play(flow: Flow, *inputs: Input) -> list[Outcome]:
    """Begin the flow and send each input in turn, checking each one is accepted."""
    outcomes = [begin(flow)]
    for inp in inputs:
        outcome = advance(flow, outcomes[-1].state, inp)
        assert outcome.accepted, (inp, outcome.messages)
        outcomes.append(outcome)
    return outcomes


def answers(outcomes: list[Outcome]) -> list[Answer]:
    """The answers recorded along the way."""
    return [outcome.answer for outcome in outcomes if outcome.answer is not None]


def test_every_shipped_file_loads_under_its_own_id() -> None:
    """Each file in flows/ loads, and is named after the id inside it."""
    files = sorted(f.name for f in SHIPPED_FLOWS_DIR.iterdir() if f.name.endswith(".yaml"))
    flows = shipped_flows()

    assert files == sorted(f"{flow_id}.yaml" for flow_id in flows)
    for name in files:
        assert load_flow(SHIPPED_FLOWS_DIR / name) == flows[name.removesuffix(".yaml")]


def test_shipped_sources_are_the_files_and_parse_to_the_flows() -> None:
    """The YAML text handed to storage is each file as written, and parses to the same flow."""
    flows = shipped_flows()

    for flow_id, source in shipped_flow_sources().items():
        assert source == (SHIPPED_FLOWS_DIR / f"{flow_id}.yaml").read_text("utf-8")
        assert parse_flow(source) == flows[flow_id]


def test_what_matters_is_the_start_flow() -> None:
    """The what-matters flow is entered with /start, and only one shipped flow is."""
    flows = shipped_flows()

    assert flows["what-matters"].entry == "start"
    assert [flow.id for flow in flows.values() if flow.entry == "start"] == ["what-matters"]


def test_what_matters_asks_for_consent_first_and_explains_it() -> None:
    """The first thing a resident sees is the consent step, saying who reads and how to stop."""
    flow = what_matters()
    outcome = begin(flow)
    consent = outcome.messages[-1].text

    assert flow.consent_step is not None
    assert outcome.state.step_id == flow.consent_step.id
    assert "staff" in consent.lower()
    assert "name" in consent
    for command in ("/stop", "/mydata", "/forgetme"):
        assert command in consent


def test_happy_path_through_what_matters_records_every_answer() -> None:
    """A resident who agrees and answers everything leaves four answers and follow-up consent."""
    outcomes = play(
        what_matters(),
        Press("consent", "yes"),
        Text("Feeling safe, and neighbours who say hello."),
        Text("  Lifts that work.  "),
        Press("happy-here", "4"),
        Text("Yes"),
    )

    recorded = [(a.step_id, a.text, a.number, a.follow_up_consent) for a in answers(outcomes)]
    assert recorded == [
        ("matters", "Feeling safe, and neighbours who say hello.", None, None),
        ("biggest-difference", "Lifts that work.", None, None),
        ("happy-here", "4", 4.0, None),
        ("hear-back", "yes", None, True),
    ]
    assert outcomes[-1].state == State(step_id=None, status=Status.COMPLETED, consent=True)
    assert "Thank you" in outcomes[-1].messages[-1].text


def test_what_matters_tells_the_analysis_what_each_question_asks_for() -> None:
    """The first open question is open; the follow-up asks for an improvement."""
    flow = what_matters()

    assert flow.step("matters").asks_for == "open"
    assert flow.step("biggest-difference").asks_for == "improvement"
    assert flow.step("hear-back").records == "follow_up_consent"


def test_the_scale_in_what_matters_can_be_skipped() -> None:
    """Skipping the 1-5 question records nothing for it and carries on."""
    outcomes = play(
        what_matters(),
        Press("consent", "yes"),
        Text("Quiet"),
        Text("Parking"),
        Press("happy-here", "skip"),
        Press("hear-back", "no"),
    )

    assert [a.step_id for a in answers(outcomes)] == ["matters", "biggest-difference", "hear-back"]
    assert answers(outcomes)[-1].follow_up_consent is False
    assert outcomes[-1].state.status is Status.COMPLETED


def test_declining_what_matters_records_nothing() -> None:
    """A resident who declines consent is thanked and nothing is recorded."""
    outcomes = play(what_matters(), Press("consent", "no"))

    assert answers(outcomes) == []
    assert outcomes[-1].state.status is Status.DECLINED
    assert "/start" in outcomes[-1].messages[-1].text


@pytest.mark.parametrize("flow", shipped_flows().values(), ids=lambda flow: flow.id)
def test_every_button_in_a_shipped_flow_fits_in_callback_data(flow: Flow) -> None:
    """Every button of every waiting step fits Telegram's 64-byte callback data."""
    for step in flow.steps:
        if not step.waits:
            continue
        state = State(step_id=step.id, status=Status.ACTIVE)
        for message in current_prompt(flow, state):
            for button in message.buttons:
                assert len(button.data.encode("utf-8")) <= MAX_BUTTON_DATA_BYTES


@pytest.mark.parametrize("flow_id", shipped_flow_sources(), ids=str)
def test_shipped_flows_have_nothing_to_warn_about(flow_id: str) -> None:
    """The shipped flows are fully translated into every language they list."""
    flow, warnings = check_flow(shipped_flow_sources()[flow_id], source=f"{flow_id}.yaml")

    assert warnings == []
    assert flow_warnings(flow) == []


def test_what_matters_is_in_english_and_a_resident_in_another_language_still_reads_it() -> None:
    """The shipped flow is English; a Welsh Telegram user starts it in English, as before."""
    flow = what_matters()

    assert flow.languages == ("en",)
    assert begin(flow, "cy").messages == begin(flow).messages


def test_what_matters_nudges_once_about_the_first_question_then_closes_after_two_weeks() -> None:
    """A day after the first question goes unanswered, a short nudge; after 14 days, it closes."""
    flow = what_matters()
    waiting = State(step_id="matters", status=Status.ACTIVE, consent=True)

    due = reminder_due(flow, waiting)

    assert due is not None
    after, nudge = due
    assert after == timedelta(hours=24)
    assert "What matters to you about living here?" in nudge.text
    assert len(nudge.text.split("\n\n")[0]) <= 120
    assert expiry_due(flow, waiting) == timedelta(days=14)
    closed = expire(flow, waiting)
    assert closed.state.status is Status.EXPIRED
    assert closed.messages[0].text == wording.EXPIRED
