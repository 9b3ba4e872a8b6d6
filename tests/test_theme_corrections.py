"""Staff correct a quote's theme from `/theme`, and each theme of an answer keeps its own tone."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.staff import NOT_STAFF
from insights import redact
from services.digest import Digests, answers_csv
from storage import SQLiteStorage
from storage.models import Analysed, CorrectionCount, NewAnswer, Turn
from tests.clock import HandClock
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, said, settings_for
from tests.test_bot_staff import ANSWERS, PRIYA, complete_flow, invite_and_join

REPO = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def bot(admin_bot: RunningBot) -> RunningBot:
    """The real bot, with one admin, on the council themes."""
    return admin_bot


def first_quote(text: str) -> str:
    """The words of quote 1 of a `/theme` answer."""
    match = re.search(r"1\. “(.+?)”", text)
    assert match is not None, text
    return match[1]


async def test_staff_move_a_quote_to_another_theme_and_everything_counts_it_there(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Wrong theme? then a theme, under a /theme quote: /theme, digest, export and CSV follow."""
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    priya.send("/theme repairs")
    listing = await said(priya)
    assert "Wrong theme? 1" in listing.labels
    # The button names the answer by its internal id, never a Telegram id.
    match = re.fullmatch(r"_tc\|ask\|(\d+)\|\d+\|1", listing.data_for("Wrong theme? 1") or "")
    assert match is not None
    assert int(match[1]) not in {600, 601, 602, PRIYA, ADMIN}
    moved = first_quote(listing.plain)
    now = bot.storage.now()
    before = await bot.storage.period_figures(now - timedelta(days=7), now + timedelta(seconds=1))
    priya.press("Wrong theme? 1")
    picker = await said(priya)
    assert "Quote 1 is under Repairs" in picker.plain
    assert "Repairs" not in picker.labels
    assert {"Bins and waste", "None of these", "Cancel"} <= set(picker.labels)
    priya.press("Bins and waste")
    assert "Moved from Repairs to Bins and waste" in (await said(priya)).plain

    last = (await bot.storage.audit_log())[-1]
    assert (last.actor, last.action) == (PRIYA, "correct theme")
    assert (last.detail["from"], last.detail["to"]) == ("Repairs", "Bins and waste")
    assert await bot.storage.correction_counts() == [
        CorrectionCount("Repairs", 1, 0),
        CorrectionCount("Bins and waste", 0, 1),
    ]
    # The digest's counts (answer_themes) and every reading of the answer's themes follow.
    after = await bot.storage.period_figures(now - timedelta(days=7), now + timedelta(seconds=1))
    assert after.theme_count("Repairs") == before.theme_count("Repairs") - 1
    assert after.theme_count("Bins and waste") == before.theme_count("Bins and waste") + 1
    start = now - timedelta(days=7)
    quotes = await bot.storage.quote_candidates("Bins and waste", start, now + timedelta(1))
    assert any(redact(q.answer).startswith(moved[:30]) for q in quotes)
    (exported,) = [row for row in await bot.storage.export_rows() if redact(row.answer) == moved]
    assert "Repairs" not in exported.themes
    assert "Bins and waste" in exported.themes
    facts = await bot.storage.answers_between(start, now + timedelta(seconds=1))
    table = answers_csv(facts, LONDON, redact).decode("utf-8-sig")
    (line,) = [line for line in table.splitlines() if moved[:30] in line]
    assert "Bins and waste" in line
    assert "Repairs" not in line.split(moved[:30])[1]
    priya.send("/theme repairs")
    assert moved not in (await said(priya)).plain
    priya.send("/theme bins")
    assert moved in (await said(priya)).plain
    # Pressed again (a second member of staff, or a second tap): nothing more changes.
    priya.press("Bins and waste")
    assert "no longer under Repairs" in (await said(priya)).plain
    assert len(await bot.storage.correction_counts()) == 2


def answered(tg: FakeTelegram) -> int:
    """How many button presses the bot has answered so far."""
    return sum(call.method == "answerCallbackQuery" for call in tg.calls)


async def test_the_role_is_checked_at_every_press(tg: FakeTelegram, bot: RunningBot) -> None:
    """A resident's forged press and a press by staff removed mid-way change nothing."""
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    priya.send("/theme repairs")
    await said(priya)
    priya.press("Wrong theme? 1")
    picker = await said(priya)
    data = picker.data_for("None of these")
    assert data is not None
    resident = tg.resident(600)
    pressed = answered(tg)
    resident.press_data(picker.message_id, data)
    refused = await tg.wait_for_call("answerCallbackQuery", count=pressed + 1)
    assert refused.params.get("text") == NOT_STAFF
    admin = tg.resident(ADMIN)
    admin.send("/staff")
    await said(admin)
    admin.press("Remove Priya")
    assert "Priya was removed" in (await said(admin)).plain
    pressed = answered(tg)
    priya.press("None of these")
    assert (await tg.wait_for_call("answerCallbackQuery", count=pressed + 1)).params.get(
        "text"
    ) == NOT_STAFF
    assert await bot.storage.correction_counts() == []
    # An admin may correct without being on the staff list; "None of these" leaves no theme.
    admin.press_data(picker.message_id, data)
    assert "off it" in (await said(admin)).plain
    assert await bot.storage.correction_counts() == [CorrectionCount("Repairs", 1, 0)]


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    """A fresh SQLite database on a hand-moved clock."""
    async with SQLiteStorage(tmp_path / "c.db", clock=HandClock()) as opened:
        yield opened


async def keep(storage: SQLiteStorage, text: str, analysed: Analysed) -> int:
    """Store one analysed answer as the bot does; its internal id."""
    resident = await storage.resident(7, 7)
    answer = NewAnswer("matters", "What matters to you?", text, kind="text", analysed=analysed)
    await storage.save_turn(Turn(resident.id, None, "f", 1, "matters", "active", "{}", answer))
    now = storage.now()
    (fact,) = await storage.answers_between(now - timedelta(1), now + timedelta(1))
    assert fact.answer_id is not None
    return fact.answer_id


async def test_a_correction_carries_the_theme_tone_and_outlives_its_answer(
    storage: SQLiteStorage,
) -> None:
    """The moved theme's own tone goes with it; the correction is counted after /forgetme."""
    tones = {"Staff attitude": "positive", "Food": "negative"}
    analysed = Analysed(("Staff attitude", "Food"), 0.0, "neutral", (), tones)
    answer_id = await keep(storage, "Kind staff, cold food", analysed)
    done = await storage.correct_theme(answer_id, "Food", "Catering", 42, "Priya")
    assert done is not None
    assert done.themes == ("Staff attitude", "Catering")
    now = storage.now()
    figures = await storage.period_figures(now - timedelta(1), now + timedelta(1))
    assert figures.theme_tones == {
        "Staff attitude": {"positive": 1},
        "Catering": {"negative": 1},
    }
    assert await storage.correct_theme(answer_id, "Food", None, 42, "Priya") is None
    # Onto a theme it already has: the wrong one just goes.
    again = await storage.correct_theme(answer_id, "Catering", "Staff attitude", 42, "Priya")
    assert again is not None
    assert again.themes == ("Staff attitude",)
    resident = await storage.resident(7, 7)
    await storage.forget(resident)
    assert await storage.correction_counts() == [
        CorrectionCount("Catering", 1, 1),
        CorrectionCount("Food", 1, 0),
        CorrectionCount("Staff attitude", 0, 1),
    ]


async def test_a_theme_without_its_own_tone_takes_the_answer_tone(storage: SQLiteStorage) -> None:
    """An answer analysed without per-theme tones counts each theme under the answer's tone."""
    await keep(storage, "Bins left out", Analysed(("Bins",), -0.5, "negative", ()))
    now = storage.now()
    figures = await storage.period_figures(now - timedelta(1), now + timedelta(1))
    assert figures.theme_tones == {"Bins": {"negative": 1}}


async def test_the_migration_gives_themes_kept_before_it_their_answer_tone(tmp_path: Path) -> None:
    """Migration 0015 fills `answer_themes.tone` of older answers with the answer's tone."""
    path = tmp_path / "old.db"
    async with SQLiteStorage(path, clock=HandClock()) as storage:
        await keep(storage, "Bins left out", Analysed(("Bins",), -0.5, "negative", ()))
    # Back to how a database at migration 0014 looks (0016 undone too).
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(
            "DROP TABLE workers; DROP TABLE claims; DROP INDEX updates_unfinished;"
            " ALTER TABLE updates DROP COLUMN sent_by; ALTER TABLE outbox DROP COLUMN claimed_by;"
            " DROP TABLE theme_corrections; ALTER TABLE answer_themes DROP COLUMN tone;"
            " PRAGMA user_version = 14;"
        )
    async with SQLiteStorage(path, clock=HandClock()) as storage:
        now = storage.now()
        figures = await storage.period_figures(now - timedelta(1), now + timedelta(1))
    assert figures.theme_tones == {"Bins": {"negative": 1}}
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT theme, tone FROM answer_themes").fetchall() == [
            ("Bins", "negative")
        ]


async def test_a_mixed_comment_gives_each_theme_its_own_tone_in_the_digest(
    tg: FakeTelegram, database: Path
) -> None:
    """ "The nurses were lovely but I waited four hours": Staff positive, waiting negative."""
    running = RunningBot(tg, settings_for(tg, database, themes="health"))
    await running.start()
    try:
        await complete_flow(
            tg.resident(600), "The nurses were lovely but I waited four hours", "Nothing"
        )
        now = running.storage.now()
        digest = await Digests(running.storage, LONDON, redact).build(now + timedelta(seconds=1))
    finally:
        await running.stop()
    tones = {theme.name: theme.tones for theme in digest.themes}
    assert tones["Staff attitude"] == {"positive": 1}
    assert tones["Access and waiting"] == {"negative": 1}


def test_the_listening_benchmark_counts_corrections_from_a_database(tmp_path: Path) -> None:
    """`bench/listening.py --database` prints corrections per theme, or says there are none."""

    async def corrected() -> Path:
        path = tmp_path / "bot.db"
        async with SQLiteStorage(path) as storage:
            analysed = Analysed(("Repairs",), -0.5, "negative", ())
            answer_id = await keep(storage, "The lift is broken", analysed)
            await storage.correct_theme(answer_id, "Repairs", "Building safety", 42, "Priya")
        return path

    path = asyncio.run(corrected())
    sample = REPO / "tests" / "data" / "nhs_fft_sample.csv"
    command = [sys.executable, str(REPO / "bench" / "listening.py"), "--data", str(sample)]
    runs = [
        subprocess.run(command + extra, capture_output=True, text=True, timeout=120, check=False)
        for extra in ([], ["--database", str(path)])
    ]
    assert "Staff corrections of themes: none counted (no --database given)" in runs[0].stdout
    assert "Staff corrections of themes in bot.db: 1" in runs[1].stdout
    assert re.search(r"Repairs +off +1 +onto +0", runs[1].stdout), runs[1].stdout
    assert re.search(r"Building safety +off +0 +onto +1", runs[1].stdout)
