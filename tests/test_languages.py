"""Flows in several languages: texts per language, the resident's language, warnings and errors."""

import copy
import json
import pickle
from textwrap import dedent

import pytest

from conversations import wording
from conversations.changes import describe_changes
from conversations.engine import (
    Answer,
    Begin,
    Button,
    Input,
    Outcome,
    Press,
    State,
    Status,
    Text,
    advance,
    begin,
    change_language,
    current_prompt,
)
from conversations.loader import check_flow, flow_warnings, parse_flow
from conversations.model import Flow, Localised, Step
from tests.inline_flows import make_flow, only_problem


def texts(outcome: Outcome) -> list[str]:
    """What the resident sees, message by message."""
    return [message.text for message in outcome.messages]


def labels(outcome: Outcome) -> list[str]:
    """The labels of the buttons under the last message."""
    return [button.label for button in outcome.messages[-1].buttons]


def at(step_id: str, language: str | None = None, consent: bool | None = None) -> State:
    """An active state waiting at a step, read in a language."""
    return State(step_id=step_id, status=Status.ACTIVE, consent=consent, language=language)


BILINGUAL = make_flow(
    """
    id: bilingual
    title: {en: Your home, cy: Eich cartref}
    languages: [en, cy]
    steps:
      - id: hello
        kind: message
        text:
          en: Hello.
          cy: Helo.
      - id: ok
        kind: consent
        text: {en: May we ask?, cy: Gawn ni ofyn?}
        decline_text: {en: No problem., cy: Dim problem.}
      - id: repairs
        kind: choice
        text: {en: How were the repairs?, cy: Sut oedd y gwaith trwsio?}
        options:
          - {en: Good, cy: Da}
          - label: {en: Bad, cy: Gwael}
          - Not sure
        branches:
          bad: why
      - id: happy
        kind: scale
        text: {en: How happy are you?, cy: Pa mor hapus ydych chi?}
        scale_labels:
          low: {en: Not at all, cy: Dim o gwbl}
          high: {en: Very, cy: Iawn}
      - id: bye
        kind: end
        text: {en: Thank you., cy: Diolch.}
      - id: why
        kind: text
        text: What went wrong?
        next: happy
    """
)


# --- The Localised text -------------------------------------------------------------------------


def test_a_localised_text_gives_each_language_and_falls_back_to_the_main_one() -> None:
    """`get` gives the translation for a language, and the main text for any other or None."""
    text = Localised("Hello", {"cy": "Helo"})

    assert text.get("cy") == "Helo"
    assert text.get("en") == "Hello"
    assert text.get("fr") == "Hello"
    assert text.get(None) == "Hello"
    assert text.main == "Hello"
    assert dict(text.translations) == {"cy": "Helo"}


def test_localised_texts_are_equal_by_value_and_cannot_change() -> None:
    """Two texts with the same words in the same languages are equal, hash alike, and are frozen."""
    one = Localised("Hello", {"cy": "Helo"})
    same = Localised("Hello", {"cy": "Helo"})

    assert one == same
    assert hash(one) == hash(same)
    assert one != Localised("Hello")
    assert one != "Hello"
    with pytest.raises(AttributeError):
        one._main = "Bye"


def test_a_flow_with_translations_can_be_copied_and_pickled() -> None:
    """Deep copies and pickles of a flow keep every translation."""
    assert copy.deepcopy(BILINGUAL) == BILINGUAL
    assert pickle.loads(pickle.dumps(BILINGUAL)) == BILINGUAL


def test_plain_and_per_language_texts_both_load() -> None:
    """Plain text is the main language; a mapping gives one text per language, in any order."""
    flow = BILINGUAL

    assert flow.step("why").text == Localised("What went wrong?")
    assert flow.step("ok").text == Localised("May we ask?", {"cy": "Gawn ni ofyn?"})
    assert [option.label.get("cy") for option in flow.step("repairs").options] == [
        "Da",
        "Gwael",
        "Not sure",
    ]
    assert flow.title == "Your home"
    assert flow.titles.get("cy") == "Eich cartref"


def test_the_first_language_is_the_main_one_whatever_order_texts_are_written_in() -> None:
    """With `languages: [cy, en]`, plain texts are Welsh and `{en: …, cy: …}` has Welsh as main."""
    flow = make_flow(
        """
        id: f
        title: Teitl
        languages: [cy, en]
        steps:
          - id: q
            kind: text
            text: {en: Why?, cy: Pam?}
        """
    )

    assert flow.language == "cy"
    assert flow.languages == ("cy", "en")
    assert flow.step("q").text == Localised("Pam?", {"en": "Why?"})
    assert flow.titles == Localised("Teitl")


def test_the_old_single_language_field_still_works() -> None:
    """`language: cy` (as older flow files have it) is read as `languages: [cy]`."""
    old = make_flow("id: f\ntitle: F\nlanguage: cy\nsteps:\n  - {id: q, kind: text, text: Pam?}\n")
    new = make_flow(
        "id: f\ntitle: F\nlanguages: [cy]\nsteps:\n  - {id: q, kind: text, text: Pam?}\n"
    )

    assert old == new
    assert old.language == "cy"
    assert old.languages == ("cy",)


def test_a_flow_without_languages_is_in_english() -> None:
    """Leaving languages out means English only."""
    flow = make_flow("id: f\ntitle: F\nsteps:\n  - {id: q, kind: text, text: Why?}\n")

    assert flow.languages == ("en",)
    assert flow.language == "en"


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ("cy", "cy"),
        ("CY", "cy"),
        ("cy-GB", "cy"),
        ("en_GB", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_a_residents_language_is_matched_to_the_closest_the_flow_offers(
    asked: str | None, found: str | None
) -> None:
    """Telegram's "cy-GB" finds "cy"; a language the flow does not offer finds nothing."""
    assert BILINGUAL.match_language(asked) == found


def test_a_step_built_in_code_takes_a_plain_or_localised_text() -> None:
    """In code, a text can be plain words or a Localised, and reads the same either way."""
    plain = Step(id="q", kind="text", text="Why?")
    localised = Step(id="q", kind="text", text=Localised("Why?"))

    assert plain == localised


def test_localised_texts_are_listed_with_their_places() -> None:
    """Every text a resident may see is listed with where it is, for checks and warnings."""
    places = [loc for loc, _ in BILINGUAL.localised_texts()]

    assert places[:3] == [("title",), ("steps", 0, "text"), ("steps", 1, "text")]
    assert ("steps", 1, "decline_text") in places
    assert ("steps", 2, "options", 2, "label") in places
    assert ("steps", 3, "scale_labels", "high") in places


# --- Residents reading a language ---------------------------------------------------------------


def test_begin_in_a_language_shows_its_texts_and_keeps_it_in_the_state() -> None:
    """A resident beginning in Welsh sees the Welsh texts, and the state remembers Welsh."""
    outcome = begin(BILINGUAL, "cy")

    assert texts(outcome) == ["Helo.", "Gawn ni ofyn?"]
    assert outcome.state == at("ok", language="cy")


def test_begin_with_a_regional_code_uses_the_flows_language() -> None:
    """Telegram's "cy-GB" is kept as the flow's "cy"."""
    assert begin(BILINGUAL, "cy-GB").state.language == "cy"


@pytest.mark.parametrize("language", [None, "fr"])
def test_begin_without_a_language_the_flow_has_uses_the_main_one(language: str | None) -> None:
    """No language, or one the flow does not offer, means the main language (state keeps None)."""
    outcome = begin(BILINGUAL, language)

    assert texts(outcome) == ["Hello.", "May we ask?"]
    assert outcome.state.language is None


def test_a_choice_shows_its_labels_in_the_residents_language() -> None:
    """Buttons carry the translated label, or the main one where there is none."""
    outcome = advance(BILINGUAL, at("ok", "cy"), Press("ok", "yes"))

    assert texts(outcome) == ["Sut oedd y gwaith trwsio?"]
    assert outcome.messages[-1].buttons == (
        Button("Da", "repairs", "0"),
        Button("Gwael", "repairs", "1"),
        Button("Not sure", "repairs", "2"),
    )


def test_a_scale_legend_is_in_the_residents_language() -> None:
    """What 1 and 5 mean is said in the resident's language."""
    (question,) = current_prompt(BILINGUAL, at("happy", "cy"))

    assert question.text == "Pa mor hapus ydych chi?\n\n1 = Dim o gwbl, 5 = Iawn"


def test_a_text_without_a_translation_is_shown_in_the_main_language() -> None:
    """A step not yet translated into the resident's language shows its main text."""
    outcome = advance(BILINGUAL, at("repairs", "cy"), Press("repairs", "1"))

    assert texts(outcome) == ["What went wrong?"]
    assert outcome.state == at("why", "cy")


def test_answers_are_recorded_in_the_main_language() -> None:
    """A Welsh reader's choice is recorded with the English question and label, and branches."""
    outcome = advance(BILINGUAL, at("repairs", "cy"), Press("repairs", "1"))

    assert outcome.answer == Answer(step_id="repairs", question="How were the repairs?", text="Bad")


def test_typed_answers_are_kept_as_typed_with_the_main_question() -> None:
    """Typed words are kept in the resident's own words, filed under the main-language question."""
    outcome = advance(BILINGUAL, at("why", "cy"), Text("Roedd y to yn gollwng."))

    assert outcome.answer == Answer(
        step_id="why", question="What went wrong?", text="Roedd y to yn gollwng."
    )


@pytest.mark.parametrize("typed", ["Gwael", "gwael!", "Bad", "  BAD "])
def test_a_typed_label_is_understood_in_the_residents_or_the_main_language(typed: str) -> None:
    """Typing the label a Welsh reader sees, or the English one, chooses that option."""
    outcome = advance(BILINGUAL, at("repairs", "cy"), Text(typed))

    assert outcome.answer is not None
    assert outcome.answer.text == "Bad"


def test_a_label_in_a_language_the_resident_is_not_reading_is_not_matched() -> None:
    """An English reader typing the Welsh label is asked again: they were never shown it."""
    outcome = advance(BILINGUAL, at("repairs"), Text("Gwael"))

    assert not outcome.accepted
    assert texts(outcome)[0] == wording.PICK_OPTION


def test_declining_in_a_language_gets_its_decline_text() -> None:
    """The consent step's decline_text is said in the resident's language; the state keeps it."""
    outcome = advance(BILINGUAL, at("ok", "cy"), Press("ok", "no"))

    assert texts(outcome) == ["Dim problem."]
    assert outcome.state == State(
        step_id=None, status=Status.DECLINED, consent=False, language="cy"
    )


def test_the_language_stays_with_the_resident_to_the_end() -> None:
    """Every state of a Welsh reader's conversation keeps Welsh, through to the thank-you."""
    outcomes = [begin(BILINGUAL, "cy")]
    inputs: list[Input] = [Press("ok", "yes"), Press("repairs", "0"), Press("happy", "5")]
    for inp in inputs:
        outcomes.append(advance(BILINGUAL, outcomes[-1].state, inp))

    assert [outcome.state.language for outcome in outcomes] == ["cy"] * 4
    assert texts(outcomes[-1]) == ["Diolch."]
    assert outcomes[-1].state.status is Status.COMPLETED


def test_the_engines_own_words_fall_back_to_english() -> None:
    """Until the engine's words are translated, a Welsh reader gets English re-asks and buttons."""
    outcome = advance(BILINGUAL, at("ok", "cy"), Text("beth?"))

    assert texts(outcome) == [wording.PICK_YES_NO, "Gawn ni ofyn?"]
    assert labels(outcome) == [wording.YES_LABEL, wording.NO_LABEL]


def test_welcome_back_is_in_the_residents_language() -> None:
    """Coming back mid-flow shows the question again in the resident's language."""
    outcome = advance(BILINGUAL, at("repairs", "cy"), Begin())

    assert texts(outcome) == [wording.WELCOME_BACK, "Sut oedd y gwaith trwsio?"]


def test_changing_language_mid_flow_shows_the_question_again_in_it() -> None:
    """Switching to Welsh keeps the place in the flow and re-asks the question in Welsh."""
    outcome = change_language(BILINGUAL, at("repairs", consent=True), "cy-GB")

    assert outcome.accepted
    assert outcome.answer is None
    assert outcome.state == at("repairs", "cy", consent=True)
    assert texts(outcome) == ["Sut oedd y gwaith trwsio?"]


def test_changing_to_a_language_the_flow_lacks_changes_nothing() -> None:
    """A language the flow does not offer is not accepted; the question is shown as it was."""
    state = at("repairs", "cy")

    outcome = change_language(BILINGUAL, state, "fr")

    assert not outcome.accepted
    assert outcome.state == state
    assert texts(outcome) == ["Sut oedd y gwaith trwsio?"]


# --- Stored states ------------------------------------------------------------------------------


def test_a_state_stored_before_languages_existed_still_loads() -> None:
    """State JSON without a `language` reads back with none, and the flow carries on from it."""
    stored = json.dumps({"step_id": "repairs", "status": "active", "consent": True})

    state = State.model_validate_json(stored)

    assert state == at("repairs", consent=True)
    assert state.language is None
    outcome = advance(BILINGUAL, state, Press("repairs", "0"))
    assert outcome.accepted
    assert texts(outcome) == ["How happy are you?\n\n1 = Not at all, 5 = Very"]


def test_a_state_with_a_language_survives_a_json_round_trip() -> None:
    """The resident's language is kept in the stored JSON and read back."""
    state = begin(BILINGUAL, "cy").state

    assert State.model_validate_json(state.model_dump_json()) == state


# --- Mistakes and warnings in the YAML ----------------------------------------------------------


def test_a_language_the_flow_does_not_list_is_a_problem_at_its_line() -> None:
    """A text in a language missing from `languages` is named at that language's line."""
    problem = only_problem(
        """
        id: f
        title: F
        languages: [en, cy]
        steps:
          - id: q
            kind: text
            text:
              en: Why?
              fr: Pourquoi ?
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (9, "text.fr", "q")
    assert problem.message.startswith('"fr" is not one of this flow\'s languages (en, cy)')


def test_a_translated_option_in_an_unlisted_language_is_named_at_its_line() -> None:
    """An option written `- {en: …, fr: …}` in a one-language flow is a problem at its `fr`."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: choice
            text: Which?
            options:
              - Good
              - {en: Bad, fr: Mauvais}
        """
    )

    assert (problem.line, problem.field) == (9, "options #2.label.fr")
    assert '"fr" is not one of this flow\'s languages (en)' in problem.message


def test_a_title_in_an_unlisted_language_is_a_problem() -> None:
    """The title's translations are checked like any other text."""
    problem = only_problem(
        """
        id: f
        title:
          en: F
          cy: Ff
        steps:
          - {id: q, kind: text, text: Why?}
        """
    )

    assert (problem.line, problem.field) == (4, "title.cy")


def test_a_key_that_is_not_a_language_code_is_a_problem() -> None:
    """Under a text, every key must be a language code such as "en" or "cy"."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: {en: Why?, Welsh: Pam?}
        """
    )

    assert (problem.line, problem.field) == (6, "text.Welsh")
    assert problem.message == '"Welsh" is not a language code; use one such as "en" or "cy"'


def test_a_text_without_the_main_language_is_a_problem() -> None:
    """Every text needs the main language: it is what the others fall back to."""
    problem = only_problem(
        """
        id: f
        title: F
        languages: [en, cy]
        steps:
          - id: q
            kind: text
            text:
              cy: Pam?
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (7, "text", "q")
    assert problem.message.startswith('there is no "en" text here; every text needs one in en')


@pytest.mark.parametrize(
    ("languages", "line", "field", "message"),
    [
        ("languages: [en, Welsh]", 3, "languages #2", '"Welsh" is not a language code'),
        ("languages: [en, cy, en]", 3, "languages #3", '"en" is listed twice'),
        ("language: Welsh", 3, "language", '"Welsh" is not a language code'),
        ("languages: []", 3, "languages", "a flow needs at least one language"),
    ],
)
def test_a_bad_list_of_languages_is_a_problem_at_its_line(
    languages: str, line: int, field: str, message: str
) -> None:
    """Language codes that are not codes, or are given twice, are named where they are."""
    problem = only_problem(
        f"id: f\ntitle: F\n{languages}\nsteps:\n  - {{id: q, kind: text, text: Why?}}\n"
    )

    assert (problem.line, problem.field) == (line, field)
    assert problem.message.startswith(message)


def test_language_and_languages_together_are_a_problem() -> None:
    """The old single `language` and the list `languages` cannot both be given."""
    problem = only_problem(
        "id: f\ntitle: F\nlanguages: [en]\nlanguage: en\nsteps:\n  - {id: q, kind: text, text: Q}\n"
    )

    assert (problem.line, problem.field) == (4, "language")
    assert "not both" in problem.message


def test_translated_labels_must_differ_too() -> None:
    """Two options with the same label in one language could not be told apart in it."""
    problem = only_problem(
        """
        id: f
        title: F
        languages: [en, cy]
        steps:
          - id: q
            kind: choice
            text: Which?
            options:
              - {en: Good, cy: Da}
              - {en: Fine, cy: da}
        """
    )

    assert (problem.line, problem.field) == (10, "options #2.label.cy")
    assert problem.message == '"da" is listed twice in cy (ignoring capitals)'


def test_a_translated_label_has_the_same_length_limit() -> None:
    """Each translation of a label is held to the 40 characters a button can show."""
    problem = only_problem(
        f"""
        id: f
        title: F
        languages: [en, cy]
        steps:
          - id: q
            kind: choice
            text: Which?
            options:
              - Good
              - label:
                  en: Bad
                  cy: {"x" * 41}
        """
    )

    assert (problem.line, problem.field) == (12, "options #2.label.cy")
    assert problem.message == "this is too long (41 characters); the most is 40"


def test_branches_name_the_main_language_labels() -> None:
    """Branches name main-language labels, as answers are recorded; a translated one is refused."""
    problem = only_problem(
        """
        id: f
        title: F
        languages: [en, cy]
        steps:
          - id: q
            kind: choice
            text: Which?
            options: [{en: Good, cy: Da}, {en: Bad, cy: Gwael}]
            branches: {Gwael: q}
        """
    )

    assert (problem.line, problem.field) == (9, 'branches "Gwael"')
    assert "use one of: Good, Bad" in problem.message


def test_a_missing_translation_is_a_warning_at_its_line_not_an_error() -> None:
    """check_flow loads a partly translated flow and warns, at each line, what is untranslated."""
    yaml = dedent(
        """
        id: f
        title: {en: F, cy: Ff}
        languages: [en, cy]
        steps:
          - id: matters
            kind: choice
            text: {en: Which?, cy: Pa un?}
            options: [{en: Good, cy: Da}, Bad]
          - id: why
            kind: text
            text: Why?
        """
    ).lstrip("\n")

    flow, warnings = check_flow(yaml, source="flow.yaml")

    assert flow == parse_flow(yaml)
    assert [warning.describe("flow.yaml") for warning in warnings[1:]] == [
        'flow.yaml, line 8, step "matters" → options #2: no "cy" translation; residents '
        "choosing cy will see the en text",
        'flow.yaml, line 11, step "why" → text: no "cy" translation; residents choosing cy will '
        "see the en text",
    ]
    assert (warnings[0].line, warnings[0].field) == (3, "languages #2")
    assert "the bot's own words" in warnings[0].message


def test_flow_warnings_say_each_untranslated_text_in_one_line() -> None:
    """flow_warnings names the step and field of each missing translation, without lines."""
    flow = make_flow(
        """
        id: f
        title: {en: F, cy: Ff}
        languages: [en, cy]
        steps:
          - id: hello
            kind: message
            text: {en: Hello, cy: Helo}
          - id: matters
            kind: text
            text: What matters to you?
        """
    )

    assert flow_warnings(flow)[1:] == [
        'step "matters" → text: no "cy" translation; residents choosing cy will see the en text'
    ]


def test_a_language_with_nothing_translated_gets_one_warning() -> None:
    """A language just added, with no translations yet, is one warning rather than one a text."""
    flow = make_flow(
        "id: f\ntitle: F\nlanguages: [en, cy]\nsteps:\n  - {id: q, kind: text, text: Why?}\n"
    )

    assert flow_warnings(flow)[1:] == [
        'languages #2: nothing is translated into "cy" yet; residents choosing cy will see every '
        "text in en"
    ]


def test_a_one_language_flow_has_no_warnings() -> None:
    """Nothing to translate, nothing to warn about."""
    yaml = "id: f\ntitle: F\nsteps:\n  - {id: q, kind: text, text: Why?}\n"

    assert check_flow(yaml)[1] == []
    assert flow_warnings(parse_flow(yaml)) == []


def test_the_engines_untranslated_words_are_a_warning_for_each_other_language() -> None:
    """Admins are told the Yes/No/Skip buttons and re-asks stay English for a language."""
    warnings = flow_warnings(BILINGUAL)

    assert warnings[0].startswith("languages #2: the bot's own words")
    assert 'not translated into "cy" yet' in warnings[0]


# --- The engine's wording table, and tools ------------------------------------------------------


@pytest.mark.parametrize("language", [None, "en", "en-GB", "cy", "fr"])
def test_the_engines_words_come_from_a_table_that_falls_back_to_english(
    language: str | None,
) -> None:
    """Until a language is added to wording.TRANSLATIONS, its residents get the English words."""
    assert wording.for_language(language) is wording.ENGLISH
    assert wording.ENGLISH.welcome_back == wording.WELCOME_BACK


def test_the_json_schema_accepts_a_title_in_several_languages() -> None:
    """Editors are told a text may be plain or one per language, and `language` still works."""
    schema = Flow.model_json_schema()

    title = schema["properties"]["title"]
    assert [option["type"] for option in title["anyOf"]] == ["string", "object"]
    assert "languages" in schema["properties"]
    assert "language" in schema["properties"]
    assert "title" in schema["required"]


def test_a_changed_translation_is_named_when_publishing() -> None:
    """Rewording only a translation is listed as such, not as a rewording of the main text."""
    steps = "steps:\n  - {id: q, kind: text, text: {en: Why?, cy: %s}}\n"
    old = make_flow("id: f\ntitle: F\nlanguages: [en, cy]\n" + steps % "Pam?")
    new = make_flow("id: f\ntitle: F\nlanguages: [en, cy]\n" + steps % "Pam hynny?")
    english_only = make_flow("id: f\ntitle: F\nsteps:\n  - {id: q, kind: text, text: Why?}\n")

    assert describe_changes(old, new) == ['changed the wording or translations of step "q"']
    assert describe_changes(english_only, old) == [
        'changed the wording or translations of step "q"',
        "languages are now en, cy (was en)",
    ]


def test_a_welsh_main_language_is_warned_about_the_engines_english_words() -> None:
    """A Welsh-only flow still gets English buttons and re-asks, so admins are told."""
    flow = make_flow(
        "id: f\ntitle: F\nlanguages: [cy]\nsteps:\n  - {id: q, kind: text, text: Pam?}\n"
    )

    assert flow_warnings(flow) == [
        "languages #1: the bot's own words (the Yes, No and Skip buttons, and what it says when "
        'it cannot use a reply) are not translated into "cy" yet, so residents reading cy will '
        "see those in en"
    ]


def test_a_regional_english_needs_no_warning_about_the_engines_words() -> None:
    """The engine's English serves "en-GB" as well as "en"."""
    flow = make_flow(
        "id: f\ntitle: F\nlanguages: [en-GB]\nsteps:\n  - {id: q, kind: text, text: Why?}\n"
    )

    assert flow_warnings(flow) == []
