"""Reading flow YAML: good flows load, and every problem names the file, line and field."""

from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import ValidationError

from conversations.loader import (
    MAX_FLOW_BYTES,
    FlowFileError,
    FlowProblem,
    check_flow_file,
    load_flow,
    parse_flow,
)
from conversations.model import Flow, Localised, Option, ScaleLabels, Step


def problems_in(yaml: str) -> FlowFileError:
    """Parse a flow that is expected to be refused, and return the error."""
    with pytest.raises(FlowFileError) as caught:
        parse_flow(dedent(yaml).lstrip("\n"), source="flow.yaml")
    return caught.value


def only_problem(yaml: str) -> FlowProblem:
    """Parse a flow expected to have exactly one problem, and return it."""
    error = problems_in(yaml)
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def test_a_sound_flow_loads_with_every_field() -> None:
    """A flow using every kind and field loads into the model as written."""
    flow = parse_flow(
        dedent(
            """
            id: every-kind
            title: "  Every kind  "
            language: cy
            entry: start
            steps:
              - id: hello
                kind: message
                text: |
                  Hello.
                  Two lines.
              - id: ok
                kind: consent
                text: OK?
                decline_text: Fine.
              - id: pick
                kind: choice
                text: Pick.
                options: [Good, {label: " Bad "}]
                branches: {good: rate}
                optional: true
                next: open
              - id: rate
                kind: scale
                text: Rate.
                scale_labels: {low: Bad, high: Good}
                branches: {1: open}
              - id: open
                kind: text
                text: Why?
                asks_for: praise
              - id: hear-back
                kind: yesno
                text: May we?
                records: follow_up_consent
                branches: {No: bye}
              - id: bye
                kind: end
                text: Bye.
            """
        )
    )

    assert flow.id == "every-kind"
    assert flow.title == "Every kind"
    assert flow.language == "cy"
    assert [step.kind for step in flow.steps] == [
        "message",
        "consent",
        "choice",
        "scale",
        "text",
        "yesno",
        "end",
    ]
    assert flow.step("hello").text == Localised("Hello.\nTwo lines.")
    assert flow.step("pick").options == (Option(label="Good"), Option(label="Bad"))
    assert flow.step("rate").branches == {"1": "open"}
    assert flow.step("rate").scale_labels == ScaleLabels(low="Bad", high="Good")
    assert flow.step("open").asks_for == "praise"
    assert [step.id for step in flow.questions] == ["pick", "rate", "open", "hear-back"]
    assert flow.consent_step == flow.step("ok")
    assert flow.after("pick", "GOOD") == flow.step("rate")
    assert flow.after("pick", "Bad") == flow.step("open")
    assert flow.after("pick") == flow.step("open")
    assert flow.following("bye") is None


def test_defaults_fill_in_what_a_minimal_flow_leaves_out() -> None:
    """Language, entry, optional and asks_for have sensible defaults."""
    flow = parse_flow("id: f\ntitle: F\nsteps:\n  - {id: q, kind: text, text: Why?}\n")

    assert flow.language == "en"
    assert flow.entry == "start"
    assert flow.first_step.optional is False
    assert flow.first_step.asks_for == "open"


def test_yaml_syntax_error_names_the_line() -> None:
    """Broken YAML is reported at its line, in plain words, without a traceback."""
    problem = only_problem(
        """
        id: f
        title: Hello
        steps:
          - id: q
            kind: text
            text: Note: this needs quotes
        """
    )

    assert problem.line == 6
    assert "colon" in problem.message
    assert "quotes" in problem.message


def test_tab_indentation_is_explained() -> None:
    """A tab used for indenting is named as the problem, at its line."""
    error = problems_in("id: f\ntitle: F\nsteps:\n\t- id: q\n")

    assert str(error) == (
        "flow.yaml, line 4 → there is a tab here; YAML needs spaces for indenting, not tabs"
    )


def test_unclosed_quote_names_where_it_opened() -> None:
    """A quote left open says which line it was opened on."""
    problem = only_problem('id: f\ntitle: "Hello\nsteps: []\n')

    assert "line 2" in problem.message


def test_a_field_given_twice_is_a_problem() -> None:
    """The same key twice in one place is reported at the second one."""
    error = problems_in("id: f\ntitle: F\nid: g\n")

    assert str(error) == (
        'flow.yaml, line 3 → "id" appears twice here; each field can be given only once'
    )


def test_empty_file_is_a_problem() -> None:
    """A file with nothing but comments says what a flow needs."""
    error = problems_in("# nothing here yet\n")

    assert str(error) == (
        "flow.yaml → the file is empty; a flow needs at least an id, a title and steps"
    )


@pytest.mark.parametrize(
    ("yaml", "what"), [("- id: f\n- title: F\n", "a list"), ("just some words\n", "the text")]
)
def test_yaml_that_is_not_a_mapping_is_a_problem(yaml: str, what: str) -> None:
    """A file that is a list or plain text says it should be a set of fields."""
    message = str(problems_in(yaml))

    assert message.startswith("flow.yaml")
    assert "should be a set of fields" in message
    assert what in message


def test_file_over_the_size_limit_is_refused() -> None:
    """A flow bigger than MAX_FLOW_BYTES is refused before it is read."""
    text = "id: f\n# " + "x" * MAX_FLOW_BYTES + "\n"

    error = problems_in(text)

    assert "at most 1,000,000 bytes" in str(error)


def test_unknown_field_names_the_line_and_the_fields_allowed() -> None:
    """An unknown field on a step is named, with a suggestion and the fields a step can have."""
    error = problems_in(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            nxt: q
        """
    )

    assert str(error) == (
        'flow.yaml, line 7, step "q" → nxt: there is no field called "nxt" (did you mean "next"?); '
        "a step can have: id, kind, text, options, optional, next, branches, asks_for, records, "
        "decline_text, scale_labels, reminder, expires, expired_text"
    )


def test_unknown_field_at_the_top_names_the_flow_fields() -> None:
    """An unknown top-level field lists the flow's own fields."""
    problem = only_problem(
        "id: f\ntitle: F\nauthor: Sam\nsteps:\n  - {id: q, kind: text, text: Q}\n"
    )

    assert (problem.line, problem.field) == (3, "author")
    assert "a flow can have: id, title, languages, entry, steps" in problem.message


def test_unknown_kind_lists_the_kinds() -> None:
    """A misspelt kind is named at its line, with every kind there is."""
    error = problems_in(
        """
        id: what-matters
        title: F
        steps:
          - id: more
            kind: texte
            text: Tell us more.
        """
    )

    assert str(error) == (
        'flow.yaml, line 5, step "more" → kind: "texte" is not a kind of step; use one of: '
        "message, text, choice, scale, yesno, consent, end"
    )


def test_missing_next_target_is_named_with_a_suggestion() -> None:
    """A `next` naming no step points at that line and suggests the closest id."""
    error = problems_in(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
            next: thank
          - id: thanks
            kind: end
            text: Thanks.
        """
    )

    assert str(error) == (
        'flow.yaml, line 7, step "q" → next: there is no step called "thank"; '
        'did you mean "thanks"?'
    )


def test_missing_branch_target_points_at_the_branch() -> None:
    """A branch to a step that does not exist is reported at that branch's line."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: yesno
            text: OK?
            branches:
              yes: q
              no: nowhere
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (9, 'branches "no"', "q")
    assert problem.message == 'there is no step called "nowhere"'


def test_duplicate_step_ids_point_at_the_second() -> None:
    """Two steps with one id are reported at the second one's id."""
    error = problems_in(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: One?
          - id: q
            kind: text
            text: Two?
        """
    )

    assert str(error) == (
        'flow.yaml, line 7, step "q" → id: step 1 is already called "q"; each step needs its own id'
    )


def test_consent_after_a_question_is_a_problem() -> None:
    """Consent must come before every question; the consent step's kind is pointed at."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
          - id: ok
            kind: consent
            text: OK?
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (8, "kind", "ok")
    assert 'must come before every question, but "q" comes before it' in problem.message


def test_a_second_consent_step_is_a_problem() -> None:
    """Only one consent step is allowed."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - {id: ok, kind: consent, text: OK?}
          - {id: again, kind: consent, text: Sure?}
          - {id: q, kind: text, text: Why?}
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (5, "kind", "again")
    assert "only one consent step" in problem.message


def test_jumping_past_consent_is_a_problem() -> None:
    """A message before the consent step cannot `next` straight to a question after it."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - id: hello
            kind: message
            text: Hello.
            next: q
          - {id: ok, kind: consent, text: OK?}
          - {id: q, kind: text, text: Why?}
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (7, "next", "hello")
    assert "jumps past the consent step" in problem.message


@pytest.mark.parametrize(
    ("kind", "field", "value", "reason"),
    [
        ("text", "options", "[A, B]", "only a choice step has options"),
        ("text", "records", "follow_up_consent", "only a yesno step can record consent"),
        ("text", "branches", "{a: q}", "only choice, scale and yesno steps can branch"),
        ("text", "scale_labels", "{low: a, high: b}", "only a scale step has scale_labels"),
        ("text", "decline_text", "Bye", "only a consent step has a decline_text"),
        ("message", "optional", "true", "only a question can be optional"),
        ("message", "asks_for", "praise", "only a question asks for something"),
        ("end", "next", "q", "an end step finishes the conversation"),
    ],
)
def test_field_on_the_wrong_kind_of_step_is_a_problem(
    kind: str, field: str, value: str, reason: str
) -> None:
    """A field that means nothing for this kind of step is named at its own line."""
    problem = only_problem(
        f"""
        id: f
        title: F
        steps:
          - id: q
            kind: text
            text: Why?
          - id: wrong
            kind: {kind}
            text: Words.
            {field}: {value}
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (10, field, "wrong")
    assert reason in problem.message
    assert f'this is a "{kind}" step' in problem.message or kind == "end"


@pytest.mark.parametrize(
    ("kind", "extra", "key", "allowed"),
    [
        ("choice", "options: [Good, Bad]", "Maybe", "use one of: Good, Bad"),
        ("yesno", "", "perhaps", "use one of: yes, no"),
        ("scale", "", "6", "use one of: 1, 2, 3, 4, 5"),
    ],
)
def test_branch_key_that_is_not_an_answer_is_a_problem(
    kind: str, extra: str, key: str, allowed: str
) -> None:
    """Branch keys must be answers the step can get; a wrong one is named at its line."""
    problem = only_problem(
        f"""
        id: f
        title: F
        steps:
          - id: q
            kind: {kind}
            text: Well?
            {extra}
            branches:
              {key}: q
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (9, f'branches "{key}"', "q")
    assert problem.message == f'"{key}" is not an answer to this step; {allowed}'


def test_choice_needs_two_to_ten_distinct_options() -> None:
    """Too few options, and labels repeated ignoring case, are each reported."""
    few = only_problem(
        "id: f\ntitle: F\nsteps:\n  - {id: q, kind: choice, text: Hm, options: [A]}\n"
    )
    many = only_problem(
        "id: f\ntitle: F\nsteps:\n  - id: q\n    kind: choice\n    text: Hm\n"
        f"    options: [{', '.join(str(n) for n in range(11))}]\n"
    )
    twice = only_problem(
        "id: f\ntitle: F\nsteps:\n  - id: q\n    kind: choice\n    text: Hm\n"
        "    options:\n      - Good\n      - good\n"
    )

    assert (few.line, few.field, few.message) == (4, "options", "a choice needs at least 2 options")
    assert (many.line, many.field) == (7, "options")
    assert "at most 10 options" in many.message
    assert (twice.line, twice.field) == (9, "options #2")
    assert twice.message == '"good" is listed twice (ignoring capitals)'


def test_option_label_too_long_names_the_option() -> None:
    """An option label over 40 characters is reported at that option."""
    problem = only_problem(
        "id: f\ntitle: F\nsteps:\n  - id: q\n    kind: choice\n    text: Hm\n"
        f"    options:\n      - Fine\n      - {'x' * 41}\n"
    )

    assert (problem.line, problem.field) == (9, "options #2")
    assert problem.message == "this is too long (41 characters); the most is 40"


def test_message_steps_in_a_circle_are_a_problem() -> None:
    """Message steps that lead back to each other would never stop, so they are refused."""
    problem = only_problem(
        """
        id: f
        title: F
        steps:
          - {id: q, kind: text, text: Why?}
          - {id: one, kind: message, text: One.}
          - {id: two, kind: message, text: Two., next: one}
        """
    )

    assert (problem.line, problem.field, problem.step_id) == (6, "next", "two")
    assert "one → two → one" in problem.message


def test_a_loop_through_a_question_is_allowed() -> None:
    """Going back to a question (e.g. "anything else?") is fine: the resident stops it."""
    flow = parse_flow(
        dedent(
            """
            id: f
            title: F
            steps:
              - {id: more, kind: text, text: Tell us.}
              - {id: again, kind: yesno, text: Anything else?, branches: {yes: more}}
            """
        )
    )

    assert flow.after("again", "yes") == flow.step("more")


def test_flow_without_a_question_is_a_problem() -> None:
    """A flow of messages only is refused, at its steps."""
    problem = only_problem("id: f\ntitle: F\nsteps:\n  - {id: hi, kind: message, text: Hi}\n")

    assert (problem.line, problem.field) == (3, "steps")
    assert "at least one question" in problem.message


def test_flow_without_steps_is_a_problem() -> None:
    """An empty list of steps is refused."""
    problem = only_problem("id: f\ntitle: F\nsteps: []\n")

    assert (problem.line, problem.field, problem.message) == (
        3,
        "steps",
        "a flow needs at least one step",
    )


def test_missing_required_fields_are_named_at_their_step() -> None:
    """A step without text, and a flow without a title, say what is missing and where."""
    error = problems_in(
        """
        id: f
        steps:
          - id: q
            kind: text
        """
    )

    assert str(error) == (
        "flow.yaml, line 1 → title: this is missing; the flow needs a title\n"
        'flow.yaml, line 3, step "q" → text: this is missing; every step needs some text'
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("optional", "maybe", 'this should be true or false, but it is the text "maybe"'),
        ("text", "[a, b]", "this should be text, but it is a list"),
        ("next", "{a: b}", "this should be text, but it is a set of fields"),
        ("asks_for", "praises", '"praises" is not allowed here; use one of: open, improvement'),
        ("id", "More Info", '"More Info" cannot be an id; use lowercase letters'),
    ],
)
def test_wrong_types_are_explained_at_their_field(field: str, value: str, expected: str) -> None:
    """A value of the wrong type or shape is reported in plain words at its line and field."""
    step = {"id": "q", "kind": "text", "text": "Why?", field: value}
    lines = ["id: f", "title: F", "steps:", "  -"] + [f"    {k}: {v}" for k, v in step.items()]

    problem = only_problem("\n".join(lines) + "\n")

    assert problem.line == lines.index(f"    {field}: {value}") + 1
    assert problem.field == field
    assert problem.message.startswith(expected)


def test_a_step_that_is_not_a_mapping_is_explained() -> None:
    """A step written as bare text is reported as needing fields."""
    error = problems_in("id: f\ntitle: F\nsteps:\n  - hello\n")

    assert str(error) == (
        "flow.yaml, line 4, step 1 → this should be a set of fields (name: value), but it is the "
        'text "hello"'
    )


def test_several_problems_are_reported_together_top_to_bottom() -> None:
    """Every problem the checks find is listed, in the order of the file's lines."""
    error = problems_in(
        """
        id: Bad Id
        title: F
        steps:
          - id: q
            kind: txt
            text: Why?
          - id: r
            kind: text
            text: Why?
            colour: red
        """
    )

    assert [(problem.line, problem.field) for problem in error.problems] == [
        (1, "id"),
        (5, "kind"),
        (10, "colour"),
    ]
    assert len(str(error).splitlines()) == 3


def test_numbers_work_where_text_is_expected() -> None:
    """Numbers YAML reads as numbers (scale branch keys, option labels) need no quotes."""
    flow = parse_flow(
        dedent(
            """
            id: f
            title: F
            steps:
              - {id: q, kind: choice, text: How many?, options: [1, 2, 3 or more]}
              - {id: s, kind: scale, text: Rate., branches: {5: q}}
            """
        )
    )

    assert [option.label.main for option in flow.step("q").options] == ["1", "2", "3 or more"]
    assert flow.step("s").branch_target("5") == "q"


def test_anchors_that_multiply_the_file_are_refused() -> None:
    """YAML aliases that blow a small file up into millions of values are refused quickly."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdef", "abcde", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")

    error = problems_in("\n".join(lines) + "\n")

    assert "repeats itself too often" in str(error)


def test_load_flow_reads_a_file_and_names_it_in_problems(tmp_path: Path) -> None:
    """load_flow reads UTF-8 YAML from disk, and its problems start with the file's path."""
    good = tmp_path / "good.yaml"
    good.write_text("id: f\ntitle: Café\nsteps:\n  - {id: q, kind: text, text: Why?}\n", "utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: f\ntitle: F\nsteps:\n  - {id: q, kind: txt, text: Why?}\n", "utf-8")

    assert load_flow(good).title == "Café"
    with pytest.raises(FlowFileError) as caught:
        load_flow(bad)
    assert str(caught.value).startswith(f'{bad}, line 4, step "q" → kind: ')
    assert caught.value.source == str(bad)


def test_load_flow_refuses_a_file_that_is_too_big(tmp_path: Path) -> None:
    """A file over MAX_FLOW_BYTES is refused without reading it as YAML."""
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FLOW_BYTES + 1))

    with pytest.raises(FlowFileError, match="at most 1,000,000 bytes"):
        load_flow(path)


def test_load_flow_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    """A file in another encoding is named at the line with the first bad byte."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: f\ntitle: Caf\u00e9\n".encode("latin-1"))

    with pytest.raises(FlowFileError) as caught:
        load_flow(path)
    assert caught.value.problems == [
        FlowProblem(2, "", "this is not UTF-8 text; save the file as UTF-8 and try again")
    ]


def test_load_flow_reports_a_missing_file(tmp_path: Path) -> None:
    """A path with no file behind it is a FlowFileError, not an OSError."""
    with pytest.raises(FlowFileError, match="cannot read it"):
        load_flow(tmp_path / "nowhere.yaml")


def test_flow_built_in_code_gets_the_same_checks() -> None:
    """The model's own checks apply without the loader, with a readable pydantic message."""
    step = Step(id="q", kind="text", text="Why?", next="nowhere")

    with pytest.raises(ValidationError, match=r'steps\.0\.next: there is no step called "nowhere"'):
        Flow(id="f", title="F", steps=(step,))


def test_load_flow_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    """A file saved by an editor that adds a UTF-8 byte-order mark still loads."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfid: f\ntitle: F\nsteps:\n  - {id: q, kind: text, text: Why?}\n")

    assert load_flow(path).id == "f"


def test_a_copied_flow_finds_its_own_steps() -> None:
    """Looking steps up stays right in a copy whose steps were replaced."""
    flow = parse_flow(
        "id: f\ntitle: F\nsteps:\n"
        "  - {id: a, kind: text, text: A?}\n"
        "  - {id: b, kind: text, text: B?}\n"
    )

    swapped = flow.model_copy(update={"steps": flow.steps[::-1]})

    assert flow.following("a") == flow.step("b")
    assert swapped.following("b") == swapped.step("a")
    assert swapped.following("a") is None


def test_check_flow_file_reads_a_file_and_gives_its_warnings(tmp_path: Path) -> None:
    """check_flow_file loads like load_flow, and returns the warnings placed at their lines."""
    path = tmp_path / "two.yaml"
    path.write_text(
        "id: f\ntitle: F\nlanguages: [en, cy]\nsteps:\n"
        "  - {id: q, kind: text, text: {en: Why?, cy: Pam?}}\n"
        "  - {id: r, kind: text, text: How?}\n",
        "utf-8",
    )

    flow, warnings = check_flow_file(path)

    assert flow == load_flow(path)
    assert [(warning.line, warning.field, warning.step_id) for warning in warnings] == [
        (2, "title", None),
        (3, "languages #2", None),
        (6, "text", "r"),
    ]
    assert warnings[2].describe(str(path)).startswith(f'{path}, line 6, step "r" → text: no "cy"')


def test_a_problem_described_without_a_source_names_just_its_place() -> None:
    """With no file name and no line, a problem still says its step and field."""
    assert FlowProblem(None, "text", "hm", "q", 1).describe("") == 'step "q" → text: hm'
    assert FlowProblem(None, "", "hm").describe("") == "hm"
