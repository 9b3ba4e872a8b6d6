"""Flood control: a burst from one resident is all taken in, and answered with one kind word."""

from __future__ import annotations

import asyncio
import sqlite3

from bot import wording
from bot.flood import BURST, WINDOW, FloodGauge, Pace
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said


def test_the_gauge_counts_each_resident_over_a_sliding_window() -> None:
    """Over BURST messages in WINDOW seconds: one SLOW_DOWN, then QUIET, until the window passes."""
    now = [0.0]
    gauge = FloodGauge(clock=lambda: now[0])
    paces = [gauge.note(1) for _ in range(BURST + 3)]
    assert paces[:BURST] == [Pace.NORMAL] * BURST
    assert paces[BURST:] == [Pace.SLOW_DOWN, Pace.QUIET, Pace.QUIET]
    assert gauge.note(2) == Pace.NORMAL  # others are not held back
    now[0] += WINDOW + 0.1
    assert gauge.note(1) == Pace.NORMAL


async def at_the_first_question(tg: FakeTelegram) -> Resident:
    """A resident who has started and agreed, and is asked the first open question."""
    sam = tg.resident(501)
    sam.send("/start")
    await said(sam)
    sam.press("Yes")
    await said(sam)
    return sam


async def test_a_burst_of_30_messages_gets_one_slow_down_and_loses_nothing(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """30 messages in a burst: every one processed, answers stored, one polite slow-down."""
    sam = await at_the_first_question(tg)
    update_ids = [sam.send(f"Message number {n}") for n in range(30)]
    await tg.wait_until_confirmed(update_ids[-1], timeout=10)
    for _ in range(100):  # at most 5 s for the last ones to be processed
        with sqlite3.connect(bot.settings.database) as db:
            done = db.execute(
                "SELECT COUNT(*) FROM updates WHERE processed_at IS NOT NULL AND update_id >= ?",
                (update_ids[0],),
            ).fetchone()[0]
        if done == 30:
            break
        await asyncio.sleep(0.05)
    assert done == 30
    texts = [message.text for message in tg.messages_to(501)]
    assert texts.count(wording.SLOW_DOWN) == 1
    rows = await bot.storage.export_rows()
    assert [row.answer for row in rows] == ["Message number 0", "Message number 1"]


async def test_help_after_a_sign_of_risk_gets_through_a_burst(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Replies are held back in a burst, but never the helplines a sign of risk brings."""
    sam = await at_the_first_question(tg)
    for _ in range(25):
        sam.send("/help")
    risky = sam.send("I can't go on, I want to end my life")
    await tg.wait_until_confirmed(risky, timeout=10)
    sent = tg.messages_to(501)
    for _ in range(100):  # at most 5 s for the answer to be processed and its replies sent
        sent = tg.messages_to(501)
        if any("116 123" in message.plain for message in sent):
            break
        await asyncio.sleep(0.05)
    assert any("116 123" in message.plain for message in sent)
    assert [message.text for message in sent].count(wording.SLOW_DOWN) == 1
    assert [row.answer for row in await bot.storage.export_rows()] == [
        "I can't go on, I want to end my life"
    ]
