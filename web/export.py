"""The dashboard's CSV export: one row per answer, opening cleanly in Excel (UTF-8 with a byte
order mark) and guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import tzinfo

from storage.models import AnswerFact

COLUMNS = (
    "resident",
    "flow",
    "step",
    "question",
    "answer",
    "answered_at",
    "themes",
    "tone",
    "sentiment",
    "sign_of_risk",
)
# A cell starting with one of these is read by spreadsheets as a formula (or a DDE command).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character is quoted."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_of(facts: Iterable[AnswerFact], zone: tzinfo, redact: Callable[[str], str]) -> bytes:
    """The answers as CSV bytes: BOM first, CRLF lines, residents' words redacted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for fact in facts:
        writer.writerow(
            [
                cell(fact.resident),
                cell(fact.flow),
                cell(fact.step),
                cell(fact.question),
                cell(redact(fact.answer)),
                fact.answered_at.astimezone(zone).isoformat(timespec="seconds"),
                cell(";".join(fact.themes)),
                fact.tone or "",
                "" if fact.sentiment is None else f"{fact.sentiment:.2f}",
                "yes" if fact.held_back else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
