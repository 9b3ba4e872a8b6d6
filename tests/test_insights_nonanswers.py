"""Answers that answer nothing, read by the question they answer."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from insights import AsksFor, analyse
from tests.test_cli import whatmatters

NOTHINGS = (
    "Nothing", "None", "N/A", "n/a", "No", "Nothing really.", "No, not really", "none!",
    "Nothing for me.", "None in my opinion",
)  # fmt: skip
UNSURE = ("Don't know", "Not sure", "Can't think of anything", "dont know", "No idea")


@pytest.mark.parametrize("answer", NOTHINGS)
def test_nothing_to_what_could_be_better_is_praise(answer: str) -> None:
    """'Nothing' to 'What could we do better?' reads positive: nothing needs to change."""
    result = analyse(answer, asks_for="improvement")
    assert (result.tone, result.non_answer, result.trivial) == ("positive", "nothing", True)


@pytest.mark.parametrize("answer", NOTHINGS)
def test_nothing_to_what_was_good_is_a_complaint(answer: str) -> None:
    """'Nothing' to 'What was good?' reads negative: nothing was good."""
    result = analyse(answer, asks_for="praise")
    assert (result.tone, result.non_answer) == ("negative", "nothing")


@pytest.mark.parametrize("answer", NOTHINGS)
def test_nothing_to_why_is_neither(answer: str) -> None:
    """'Nothing' to an open question such as 'Why?' reads neutral."""
    result = analyse(answer, asks_for="open")
    assert (result.tone, result.non_answer) == ("neutral", "nothing")


@pytest.mark.parametrize("asks_for", ["open", "improvement", "praise"])
@pytest.mark.parametrize("answer", UNSURE)
def test_dont_know_is_neutral_whatever_was_asked(answer: str, asks_for: AsksFor) -> None:
    """'Don't know', 'Not sure' and 'Can't think of anything' read neutral to any question."""
    result = analyse(answer, asks_for=asks_for)
    assert (result.tone, result.non_answer) == ("neutral", "unsure")


def test_an_answer_that_says_more_is_not_a_non_answer() -> None:
    """'Nothing, the staff were lovely' and 'No parking' are read for what they say."""
    assert analyse("Nothing, the staff were lovely", asks_for="praise").non_answer == ""
    assert analyse("Nothing, the staff were lovely", asks_for="praise").tone == "positive"
    assert analyse("Nothing to improve", asks_for="open").tone == "positive"
    assert analyse("No parking spaces at all", asks_for="improvement").non_answer == ""
    assert analyse("Nothing to do all day", asks_for="improvement").tone == "negative"
    assert analyse("Nothing for me to do all day", asks_for="improvement").non_answer == ""


def test_analyse_reads_nothing_by_the_question_column(tmp_path: Path) -> None:
    """`whatmatters analyse` reads 'Nothing' by each row's question."""
    source = tmp_path / "feedback.csv"
    source.write_text(
        "question,comment\n"
        "What could we do better?,Nothing\n"
        "What was good?,Nothing\n"
        "Why did you give that score?,Nothing\n"
        "What was good?,Not sure\n",
        encoding="utf-8",
    )
    result = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--question-column", "question",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with (tmp_path / "feedback-analysed.csv").open(encoding="utf-8") as file:
        tones = [row["tone"] for row in csv.DictReader(file)]
    assert tones == ["positive", "negative", "neutral", "neutral"]


def test_a_flow_step_reads_nothing_by_what_it_asks_for(tmp_path: Path) -> None:
    """'Nothing' reads neutral to the flow's open step and praise to its improvement step."""
    typed = "\n".join(["yes", "Nothing", "Nothing", "skip", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    exported = whatmatters("export", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(row["answer"], float(row["sentiment"])) for row in rows[:2]] == [
        ("Nothing", 0.0),
        ("Nothing", 0.8),
    ]
