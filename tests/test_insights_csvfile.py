"""`analyse_csv`: an existing feedback export, written back with themes, sentiment and tone."""

import csv
from pathlib import Path

import pytest

from insights import shipped_catalogue
from insights.csvfile import CsvFileError, analyse_csv, guess_asks_for


def write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(rows)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_round_trip_adds_three_columns_and_keeps_the_rest(tmp_path: Path) -> None:
    """Every row keeps its columns and gains `themes`, `sentiment` and `tone`."""
    source, result = tmp_path / "in.csv", tmp_path / "out.csv"
    write(
        source,
        [
            ["id", "question", "answer"],
            ["1", "What could we do better?", "Nothing"],
            [
                "2",
                "What could we do better?",
                "Bins are never collected, and the street lights are out",
            ],
            ["3", "What did we do well?", "The repairs team, so quick and friendly"],
            ["4", "Any comments?", 'Line one,\nline two with a "quote"'],
        ],
    )
    assert analyse_csv(source, result, "answer", question_column="question") == 4
    rows = read(result)
    assert list(rows[0]) == [
        "id",
        "question",
        "answer",
        "themes",
        "sentiment",
        "tone",
        "theme_tones",
    ]
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[3]["answer"] == 'Line one,\nline two with a "quote"'
    assert rows[0]["tone"] == "positive"
    assert rows[0]["themes"] == ""
    assert rows[1]["tone"] == "negative"
    assert rows[1]["themes"].split(";")[:2] == ["Bins and waste", "Streets and lighting"]
    assert rows[2]["tone"] == "positive"
    for row in rows:
        assert -1.0 <= float(row["sentiment"]) <= 1.0
        assert len(row["sentiment"].split(".")[1]) == 3


def test_the_question_decides_how_an_answer_is_read(tmp_path: Path) -> None:
    """'Nothing' answering an improvement question is praise; without the question it is milder."""
    source = tmp_path / "in.csv"
    write(source, [["q", "a"], ["What could be improved?", "The parking"]])
    with_question, without = tmp_path / "with.csv", tmp_path / "without.csv"
    analyse_csv(source, with_question, "a", question_column="q")
    analyse_csv(source, without, "a")
    assert read(with_question)[0]["tone"] == "negative"
    assert read(without)[0]["tone"] == "neutral"


def test_analysing_an_analysed_file_again_replaces_the_added_columns(tmp_path: Path) -> None:
    """Running twice gives the same columns, not duplicates."""
    source, once, twice = tmp_path / "in.csv", tmp_path / "once.csv", tmp_path / "twice.csv"
    write(source, [["answer"], ["Lovely staff"]])
    analyse_csv(source, once, "answer", catalogue=shipped_catalogue("health"))
    analyse_csv(once, twice, "answer", catalogue=shipped_catalogue("health"))
    assert read(once) == read(twice)


@pytest.mark.parametrize(
    ("question", "asks_for"),
    [
        ("What could we improve?", "improvement"),
        ("What would make it better?", "improvement"),
        ("Is there anything we could do differently?", "improvement"),
        ("What one thing would you change?", "improvement"),
        ("What did we do well?", "praise"),
        ("What was good about your visit?", "praise"),
        ("What did you like best?", "praise"),
        ("Tell us about your experience", "open"),
    ],
)
def test_guessing_what_a_question_asks_for(question: str, asks_for: str) -> None:
    """Improvement and praise questions are recognised from their wording."""
    assert guess_asks_for(question) == asks_for


def test_a_missing_column_lists_the_columns_there_are(tmp_path: Path) -> None:
    """Naming a column that is not there says which columns the file has."""
    source = tmp_path / "in.csv"
    write(source, [["id", "comment"], ["1", "ok"]])
    with pytest.raises(CsvFileError, match=r'no column "answer"; its columns are: "id", "comment"'):
        analyse_csv(source, tmp_path / "out.csv", "answer")
    with pytest.raises(CsvFileError, match=r'no column "question"'):
        analyse_csv(source, tmp_path / "out.csv", "comment", question_column="question")


def test_unreadable_and_non_utf8_files_are_refused_plainly(tmp_path: Path) -> None:
    """A missing file, a non-UTF-8 file and an empty file each get a plain message."""
    with pytest.raises(CsvFileError, match="cannot read"):
        analyse_csv(tmp_path / "missing.csv", tmp_path / "out.csv", "answer")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("answer\nCaf\xe9 was shut\n".encode("latin-1"))
    with pytest.raises(CsvFileError, match=r"not UTF-8 text \(first bad byte on line 2\)"):
        analyse_csv(latin, tmp_path / "out.csv", "answer")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CsvFileError, match="empty"):
        analyse_csv(empty, tmp_path / "out.csv", "answer")


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    """Spreadsheets' 'CSV UTF-8' files start with a BOM; the first column is still found."""
    source = tmp_path / "excel.csv"
    source.write_bytes("\ufeffanswer,id\r\nGreat service,1\r\n".encode())
    analyse_csv(source, tmp_path / "out.csv", "answer")
    assert read(tmp_path / "out.csv")[0]["tone"] == "positive"
