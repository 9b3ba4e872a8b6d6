"""The digest: aggregation of analysed answers, and its rendering for Telegram and the terminal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from insights.digest import Digest, trend_mark
from services.digest import (
    Digests,
    chart_figure,
    chart_png,
    last_scheduled,
    render_sections,
    render_text,
    split_messages,
)
from storage import NewAnswer, SQLiteStorage, Turn
from storage.models import Analysed
from tests.clock import HandClock

LONDON = ZoneInfo("Europe/London")
END = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
START = END - timedelta(days=7)


@dataclass(frozen=True)
class Said:
    """A made-up analysed answer."""

    answer: str
    themes: tuple[str, ...] = ()
    tone: str = "neutral"
    sentiment: float = 0.0
    resident: int = 1
    kind: str = "text"
    number: float | None = None
    phrases: tuple[str, ...] = ()


THIS_WEEK = [
    Said("The boiler has been broken for three weeks now", ("Repairs",), "negative", -0.7, 1),
    Said("Repairs team came the same day, lovely people", ("Repairs", "Staff kindness"),
         "positive", 0.8, 2),
    Said("Ring me on 07700900123 about the leak in the roof", ("Repairs",), "negative", -0.4, 3),
    Said("Bins left out for days on our street", ("Bins and waste",), "negative", -0.5, 1,
         phrases=("bike storage",)),
    Said("We need somewhere to keep bikes", resident=4, phrases=("bike storage",)),
    Said("Bike storage please", resident=5, phrases=("bike storage",)),
    Said("Somewhere for bike storage would be good", resident=6, phrases=("bike storage",)),
    Said("4", kind="scale", number=4.0, resident=1),
    Said("2", kind="scale", number=2.0, resident=2),
]  # fmt: skip
WEEK_BEFORE = [
    Said("The lift is broken", ("Repairs",), resident=7),
    *[Said(f"Bins missed again, week {n}", ("Bins and waste",), resident=8) for n in range(4)],
]


async def store(storage: SQLiteStorage, answers: list[Said]) -> None:
    """Store answers as the bot does, with the analysis they were given."""
    for said in answers:
        resident = await storage.resident(said.resident, said.resident)
        analysed = (
            Analysed(said.themes, said.sentiment, said.tone, said.phrases)
            if said.kind == "text"
            else None
        )
        answer = NewAnswer(
            "happy" if said.kind == "scale" else "matters",
            "How happy are you here?" if said.kind == "scale" else "What matters to you?",
            said.answer,
            number=said.number,
            kind=said.kind,
            analysed=analysed,
        )
        await storage.save_turn(
            Turn(resident.id, None, "what-matters", 1, "matters", "active", "{}", answer)
        )


def redact_phones(text: str) -> str:
    """A stand-in redactor for these tests: hides any run of 11 digits."""
    return re.sub(r"\d{11}", "[phone]", text)


@pytest.fixture
async def digest_of(tmp_path: Path) -> AsyncIterator[Callable[[list[Said]], Awaitable[Digest]]]:
    """Store this week's answers (and the week before's), then build the digest."""
    clock = HandClock(START + timedelta(hours=1))
    async with SQLiteStorage(tmp_path / "digest.db", clock=clock) as storage:

        async def build(answers: list[Said]) -> Digest:
            clock.now = START - timedelta(days=2)
            await store(storage, WEEK_BEFORE)
            clock.now = START + timedelta(hours=1)
            await store(storage, answers)
            return await Digests(storage, LONDON, redact_phones).build(END)

        yield build


DigestOf = Callable[[list[Said]], Awaitable[Digest]]


async def test_counts_themes_and_trends_come_from_the_stored_analysis(digest_of: DigestOf) -> None:
    """Residents, answers, theme counts, trend marks and the share negative are aggregated."""
    digest = await digest_of(THIS_WEEK)
    assert (digest.residents, digest.answers) == (6, 9)
    assert (digest.previous_residents, digest.previous_answers) == (2, 5)
    assert [(t.name, t.count, t.trend) for t in digest.themes] == [
        ("Repairs", 3, "▲"),
        ("Bins and waste", 1, "▼"),
        ("Staff kindness", 1, "new"),
    ]
    repairs = digest.themes[0]
    assert round(repairs.negative_share, 2) == 0.67
    assert [(s.question, s.average, s.count) for s in digest.scales] == [
        ("How happy are you here?", 3.0, 2)
    ]
    # Only answers no theme covered count: the bins answer mentions it but is themed.
    assert digest.emerging == (("bike storage", 3),)


async def test_quotes_are_verbatim_redacted_and_show_the_range(digest_of: DigestOf) -> None:
    """A theme's quotes are residents' own words, redacted, from most critical to warmest."""
    repairs = (await digest_of(THIS_WEEK)).themes[0]
    assert [q.text for q in repairs.quotes] == [
        "The boiler has been broken for three weeks now",
        "Ring me on [phone] about the leak in the roof",
        "Repairs team came the same day, lovely people",
    ]


async def test_buttons_pressed_are_counted_but_never_quoted(digest_of: DigestOf) -> None:
    """A pressed button is counted in the figures but is never a quote."""
    digest = await digest_of([Said("5", kind="scale", number=5.0)])
    assert digest.answers == 1
    assert digest.scales[0].average == 5.0
    assert all(theme.quotes == () for theme in digest.themes)


async def test_a_very_long_answer_is_counted_but_not_quoted(digest_of: DigestOf) -> None:
    """Quotes are whole answers of a readable length, never cut or reworded."""
    long = "The stairwell lights have been out " + "and nobody comes " * 20
    digest = await digest_of([Said(long.strip(), ("Streets",))])
    assert digest.themes[0].quotes == ()  # over 300 characters: not readable as a quote
    short = await digest_of([Said("The stairwell lights have been out for a month", ("Streets",))])
    assert short.themes[0].quotes[0].text == "The stairwell lights have been out for a month"


def test_trend_marks_need_a_real_change() -> None:
    """A change of one answer, or under a fifth, is 'about the same'."""
    assert trend_mark(11, 10) == "="
    assert trend_mark(13, 10) == "▲"
    assert trend_mark(7, 10) == "▼"
    assert trend_mark(3, 0) == "new"
    assert trend_mark(0, 0) == "="


async def test_the_rendered_digest_escapes_residents_words_and_fits_telegram(
    digest_of: DigestOf,
) -> None:
    """Residents' words are HTML-escaped, and long digests are split under 4,096 characters."""
    digest = await digest_of([Said("Kids <script> & vandals near block B", ("Safety",))])
    sections = render_sections(digest, LONDON)
    html_text = "\n".join(sections)
    assert "&lt;script&gt; &amp; vandals" in html_text
    assert "<script>" not in html_text
    parts = split_messages(sections * 200)
    assert len(parts) > 1
    assert all(len(part) <= 4000 for part in parts)
    assert "".join(parts).count("vandals") == 200


async def test_the_terminal_preview_is_plain_text(digest_of: DigestOf) -> None:
    """`digest preview` prints the digest without HTML tags."""
    text = render_text(await digest_of(THIS_WEEK), LONDON)
    assert "<b>" not in text
    assert "Repairs — 3 answers ▲ · 67% negative" in text
    assert "Mon 16 Nov 2026, 09:00 to Mon 23 Nov 2026, 09:00" in text


async def test_the_chart_is_a_png(digest_of: DigestOf) -> None:
    """The themes-by-tone chart is a PNG image."""
    png = chart_png(await digest_of(THIS_WEEK), LONDON)
    assert png is not None
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_week_without_themes_has_no_chart(digest_of: DigestOf) -> None:
    """With no themed answers there is nothing to draw."""
    assert chart_png(await digest_of([Said("3", kind="scale", number=3.0)]), LONDON) is None


def test_the_last_scheduled_moment_is_found_in_local_time() -> None:
    """`mon 09:00` in London: the Monday 09:00 at or before now, across a clock change."""
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert last_scheduled(wednesday, 0, 9, 0, LONDON) == datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
    monday_early = datetime(2026, 11, 23, 8, 59, tzinfo=LONDON)
    assert last_scheduled(monday_early, 0, 9, 0, LONDON).day == 16
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    found = last_scheduled(summer, 0, 9, 0, LONDON)
    assert (found.hour, found.utcoffset()) == (9, timedelta(hours=1))


async def test_the_chart_names_its_dates_and_counts_on_its_bars(digest_of: DigestOf) -> None:
    """Forwarded on its own, the chart still says which week it shows and how many answers."""
    digest = await digest_of(THIS_WEEK)
    figure = chart_figure(digest, LONDON)
    assert figure is not None
    (axes,) = figure.axes
    assert axes.get_title() == "Themes by tone, 16 Nov to 23 Nov 2026"
    labels = [text.get_text() for text in axes.texts if text.get_text()]
    repairs = next(theme for theme in digest.themes if theme.name == "Repairs")
    assert sum(int(label) for label in labels) == sum(t.count for t in digest.themes)
    assert str(repairs.tones["negative"]) in labels


async def test_one_score_reads_one_answer(digest_of: DigestOf) -> None:
    """A question scored once says "(1 answer)", not "(1 answers)"."""
    text = render_text(await digest_of([Said("3", kind="scale", number=3.0)]), LONDON)
    assert "out of 5 (1 answer)" in text
