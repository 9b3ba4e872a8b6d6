"""End to end: a resident deletes one answer (/forget), and it is gone from every table."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from bot import wording
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said

SAM = 7301234568
LIFT = "The lift in Beacon House has been broken since the spring"
BINS = "The bins on Ash Road are never emptied"


async def two_answers(sam: Resident) -> None:
    """Agree, answer the first question, then the next one."""
    sam.send("/start")
    await said(sam)
    sam.press("Yes")
    await said(sam)
    sam.send(LIFT)
    await said(sam)
    sam.send(BINS)
    await said(sam)
    sam.unread()


def everything_stored(bot: RunningBot) -> str:
    """Every row of every table, as one text."""
    with sqlite3.connect(bot.settings.database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            " ".join(str(value) for value in row)
            for table in tables
            for row in db.execute(f"SELECT * FROM {table}")
        )


async def test_forget_last_deletes_the_latest_answer_from_every_table_after_a_yes(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/forget last shows the latest answer; after "Yes" it is in no table, the others stay."""
    sam = tg.resident(SAM)
    await two_answers(sam)
    assert BINS in everything_stored(bot)
    sam.send("/forget last")
    confirm = await said(sam)
    assert BINS in confirm.plain
    assert confirm.labels == ["Yes, delete it", "No, keep it"]
    sam.press("Yes, delete it")
    assert (await said(sam)).text == wording.FORGOTTEN_ONE
    assert [row.answer for row in await bot.storage.export_rows()] == [LIFT]
    assert BINS not in everything_stored(bot)
    assert "Ash Road" not in everything_stored(bot)
    with sqlite3.connect(bot.settings.database) as db:
        orphans = db.execute(
            "SELECT COUNT(*) FROM answer_themes WHERE answer_id NOT IN (SELECT id FROM answers)"
        ).fetchone()[0]
    assert orphans == 0


async def test_forget_lists_the_latest_answers_and_no_keeps_them(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/forget offers the newest answers, shortened, as buttons; "No" keeps the one picked."""
    sam = tg.resident(SAM)
    await two_answers(sam)
    sam.send("/forget")
    picker = await said(sam)
    assert picker.text == wording.FORGET_PICK
    assert picker.labels == [wording.shortened(BINS), wording.shortened(LIFT)]
    assert wording.shortened(LIFT).endswith("…")
    sam.press(wording.shortened(LIFT))
    assert LIFT in (await said(sam)).plain
    sam.press("No, keep it")
    assert (await said(sam)).text == wording.FORGET_KEPT
    assert [row.answer for row in await bot.storage.export_rows()] == [LIFT, BINS]


async def test_a_deleted_answer_no_longer_counts_for_its_theme(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """You said, we did: once the resident deletes their answer on a theme, they no longer count."""
    sam = tg.resident(SAM)
    await two_answers(sam)
    since = bot.storage.now() - timedelta(days=1)
    before = {count.theme: count for count in await bot.storage.theme_counts(since)}
    assert before  # the answers were about themes
    for _ in range(2):
        sam.send("/forget last")
        await said(sam)
        sam.press("Yes, delete it")
        assert (await said(sam)).text == wording.FORGOTTEN_ONE
    assert await bot.storage.theme_counts(since) == []
    sam.send("/forget")
    assert (await said(sam)).text == wording.FORGET_NOTHING


async def test_mydata_offers_deleting_one_answer(tg: FakeTelegram, bot: RunningBot) -> None:
    """The /mydata message says how to delete one answer (/forget) as well as everything."""
    sam = tg.resident(SAM)
    await two_answers(sam)
    sam.send("/mydata")
    sent = await said(sam)
    assert "/forget " in sent.plain
    assert "/forgetme" in sent.plain
