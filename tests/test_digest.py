"""The digest: aggregation of analysed answers, and its rendering for Telegram and the terminal."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest import chart_png, last_scheduled, render_sections, render_text, split_messages
from insights.digest import Digest, build_digest, trend_mark
from storage.models import AnswerFact

LONDON = ZoneInfo("Europe/London")
END = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
START = END - timedelta(days=7)


def fact(
    answer: str,
    themes: tuple[str, ...] = (),
    *,
    resident: str = "Calm Heron 482",
    tone: str = "neutral",
    sentiment: float = 0.0,
    kind: str = "text",
    number: float | None = None,
    phrases: tuple[str, ...] = (),
    hours: int = 1,
) -> AnswerFact:
    """A made-up analysed answer given `hours` into the period."""
    return AnswerFact(
        resident=resident,
        flow="what-matters",
        step="matters",
        question="What matters to you about living here?",
        kind=kind,
        answer=answer,
        number=number,
        answered_at=START + timedelta(hours=hours),
        themes=themes,
        sentiment=sentiment,
        tone=tone,
        key_phrases=phrases,
    )


def redact_phones(text: str) -> str:
    """A stand-in redactor for these tests: hides any run of 11 digits."""
    return re.sub(r"\d{11}", "[phone]", text)


FACTS = [
    fact("The boiler has been broken for three weeks now", ("Repairs",), tone="negative",
         sentiment=-0.7, resident="Amber Fox 001"),
    fact("Repairs team came the same day, lovely people", ("Repairs", "Staff kindness"),
         tone="positive", sentiment=0.8, resident="Blue Wren 002"),
    fact("Ring me on 07700900123 about the leak in the roof", ("Repairs",), tone="negative",
         sentiment=-0.4, resident="Calm Owl 003"),
    fact("Bins left out for days on our street", ("Bins and waste",), tone="negative",
         sentiment=-0.5, resident="Amber Fox 001", phrases=("bike storage",)),
    fact("We need somewhere to keep bikes", (), phrases=("bike storage",), resident="Dove 004"),
    fact("Bike storage please", (), phrases=("bike storage",), resident="Fern 005"),
    fact("Somewhere for bike storage would be good", (), phrases=("bike storage",)),
    fact("4", kind="scale", number=4.0, resident="Amber Fox 001"),
    fact("2", kind="scale", number=2.0, resident="Blue Wren 002"),
]  # fmt: skip


def digest_of(facts: list[AnswerFact]) -> Digest:
    return build_digest(
        facts,
        start=START,
        end=END,
        previous_counts=(2, 3),
        previous_themes=Counter({"Repairs": 1, "Bins and waste": 4}),
        redact=redact_phones,
    )


def test_counts_themes_and_trends_come_from_the_stored_analysis() -> None:
    """Residents, answers, theme counts, trend marks and the share negative are aggregated."""
    digest = digest_of(FACTS)
    assert (digest.residents, digest.answers) == (6, 9)
    assert [(t.name, t.count, t.trend) for t in digest.themes] == [
        ("Repairs", 3, "▲"),
        ("Bins and waste", 1, "▼"),
        ("Staff kindness", 1, "new"),
    ]
    repairs = digest.themes[0]
    assert round(repairs.negative_share, 2) == 0.67
    assert digest.scales[0].average == 3.0
    # Only answers no theme covered count: the bins answer mentions it but is themed.
    assert digest.emerging == (("bike storage", 3),)


def test_quotes_are_verbatim_redacted_and_show_the_range() -> None:
    """A theme's quotes are residents' own words, redacted, from most critical to warmest."""
    repairs = digest_of(FACTS).themes[0]
    assert [q.text for q in repairs.quotes] == [
        "The boiler has been broken for three weeks now",
        "Ring me on [phone] about the leak in the roof",
        "Repairs team came the same day, lovely people",
    ]
    assert all("07700900123" not in q.text for q in repairs.quotes)


def test_buttons_pressed_are_counted_but_never_quoted() -> None:
    """Scale answers count towards the figures but are not quotes."""
    digest = digest_of([fact("5", ("Repairs",), kind="scale", number=5.0)])
    assert digest.themes[0].quotes == ()


def test_trend_marks_need_a_real_change() -> None:
    """A change of one answer, or under a fifth, is 'about the same'."""
    assert trend_mark(11, 10) == "="
    assert trend_mark(13, 10) == "▲"
    assert trend_mark(7, 10) == "▼"
    assert trend_mark(3, 0) == "new"
    assert trend_mark(0, 0) == "="


def test_the_rendered_digest_escapes_residents_words_and_fits_telegram() -> None:
    """Residents' words are HTML-escaped, and long digests are split under 4,096 characters."""
    words = fact("Kids <script> & vandals near block B", ("Antisocial behaviour",))
    sections = render_sections(digest_of([words]), LONDON)
    html_text = "\n".join(sections)
    assert "&lt;script&gt; &amp; vandals" in html_text
    assert "<script>" not in html_text
    many = [fact(f"Answer number {n} about the damp in the flat", ("Damp",)) for n in range(200)]
    parts = split_messages(render_sections(digest_of(many), LONDON) * 20)
    assert len(parts) > 1
    assert all(len(part) <= 4000 for part in parts)


def test_the_terminal_preview_is_plain_text() -> None:
    """`digest preview` prints the digest without HTML tags."""
    text = render_text(digest_of(FACTS), LONDON)
    assert "<b>" not in text
    assert "Repairs — 3 answers ▲ · 67% negative" in text
    assert "Mon 16 Nov 2026, 09:00 to Mon 23 Nov 2026, 09:00" in text


def test_the_chart_is_a_png_and_absent_without_themes() -> None:
    """The themes-by-tone chart is a PNG image; an empty week has no chart."""
    png = chart_png(digest_of(FACTS))
    assert png is not None
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart_png(digest_of([])) is None


def test_the_last_scheduled_moment_is_found_in_local_time() -> None:
    """`mon 09:00` in London: the Monday 09:00 at or before now, across a clock change."""
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert last_scheduled(wednesday, 0, 9, 0, LONDON) == datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
    monday_early = datetime(2026, 11, 23, 8, 59, tzinfo=LONDON)
    assert last_scheduled(monday_early, 0, 9, 0, LONDON).day == 16
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    found = last_scheduled(summer, 0, 9, 0, LONDON)
    assert (found.hour, found.utcoffset()) == (9, timedelta(hours=1))
