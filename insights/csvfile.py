"""Analyse a feedback export (CSV) and write it back with themes, sentiment and tone added."""

import csv
import io
import re
from pathlib import Path
from typing import Final

from insights.analysis import Analyser
from insights.sentiment import AsksFor
from insights.themes import ThemeCatalogue

ADDED_COLUMNS: Final = ("themes", "sentiment", "tone", "theme_tones")

_IMPROVEMENT: Final = re.compile(
    r"improv|better|change|could we do|could be done|differently|suggest|wish|worse|problem|"
    r"not go well|didn'?t go well|went wrong|dislike|complain",
    re.IGNORECASE,
)
_PRAISE: Final = re.compile(
    r"\bgood\b|went well|\bwell\b|\blike\b|\bliked\b|\bbest\b|enjoy|praise|thank|great|positive",
    re.IGNORECASE,
)


class CsvFileError(Exception):
    """A CSV file that cannot be analysed, said in plain words."""


def guess_asks_for(question: str) -> AsksFor:
    """What a survey question asks for, from its wording: improvement, praise, or open."""
    if _IMPROVEMENT.search(question):
        return "improvement"
    if _PRAISE.search(question):
        return "praise"
    return "open"


def analyse_csv(
    in_path: Path | str,
    out_path: Path | str,
    text_column: str,
    question_column: str | None = None,
    catalogue: ThemeCatalogue | None = None,
) -> int:
    """Add `themes` (`;`-separated), `sentiment` (−1..1), `tone` and `theme_tones` ("Repairs:
    negative;Staff kindness: positive") to each row; return how many.

    When `question_column` is given, each row's question text decides how its answer is read
    ("What could we do better?" leans critical, "What went well?" leans positive).
    """
    in_path, out_path = Path(in_path), Path(out_path)
    header, rows = _read(in_path)
    missing = [c for c in (text_column, question_column) if c is not None and c not in header]
    if missing:
        existing = ", ".join(f'"{c}"' for c in header) or "none"
        names = " and ".join(f'"{c}"' for c in missing)
        raise CsvFileError(f"{in_path} has no column {names}; its columns are: {existing}")
    analyser = Analyser(catalogue)
    text_at = header.index(text_column)
    question_at = header.index(question_column) if question_column is not None else None
    guesses: dict[str, AsksFor] = {}
    # Columns this adds replace any of the same name, so a file can be analysed again.
    kept = [i for i, name in enumerate(header) if name not in ADDED_COLUMNS]
    out_rows = [[header[i] for i in kept] + list(ADDED_COLUMNS)]
    for row in rows:
        row = row + [""] * (len(header) - len(row))
        asks_for: AsksFor = "open"
        if question_at is not None:
            question = row[question_at]
            if question not in guesses:
                guesses[question] = guess_asks_for(question)
            asks_for = guesses[question]
        result = analyser.analyse(row[text_at], asks_for=asks_for)
        out_rows.append(
            [row[i] for i in kept]
            + [
                ";".join(result.themes),
                f"{result.sentiment:.3f}",
                result.tone,
                ";".join(f"{theme}: {tone}" for theme, tone in result.theme_tones.items()),
            ]
        )
    try:
        with out_path.open("w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(out_rows)
    except OSError as exc:
        raise CsvFileError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    return len(rows)


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            f"{path} is not UTF-8 text (first bad byte on line {line}); "
            'save it as "CSV UTF-8" and try again'
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CsvFileError(f"{path} cannot be read as CSV: {exc}") from None
    if not rows:
        raise CsvFileError(f"{path} is empty; it needs a header row naming its columns")
    return [name.strip() for name in rows[0]], rows[1:]
