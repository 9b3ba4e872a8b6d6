"""Residents' answers as the bot stores them, made directly: for tests and benchmarks that need
people who already raised a theme and said yes (or no) to hearing back."""

from __future__ import annotations

from storage import NewAnswer, Turn
from storage.models import Analysed


def answered(resident_id: int, words: str, theme: str, *, hear_back: bool) -> list[Turn]:
    """The turns of a resident who said `words` (filed under `theme`) and answered "May we tell
    you what changes?"."""
    return [
        Turn(
            resident_id,
            None,
            "what-matters",
            1,
            None,
            "completed",
            "{}",
            NewAnswer(
                step,
                "?",
                text,
                follow_up_consent=consent,
                kind="text",
                analysed=Analysed(themes, -0.5, "negative", ()),
            ),
        )
        for step, text, consent, themes in (
            ("matters", words, None, (theme,)),
            ("hear-back", "yes" if hear_back else "no", hear_back, ()),
        )
    ]
