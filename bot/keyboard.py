"""Engine buttons as Telegram inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.engine import Button


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard: short ones (1–5, Yes/No) side by side, others one a row."""
    if not buttons:
        return None
    answers = [b for b in buttons if b.value != "skip"]
    skips = [b for b in buttons if b.value == "skip"]
    side_by_side = len(answers) <= 5 and all(len(b.label) <= 4 for b in answers)
    rows: list[list[Button]] = [answers] if side_by_side else [[b] for b in answers]
    if skips:
        rows.append(skips)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows if row]
    )
