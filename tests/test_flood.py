"""Flood control: a burst from one resident is all taken in, and answered with one kind word."""

from __future__ import annotations

import asyncio
import sqlite3

from bot import wording
from bot.flood import BURST, CALM, REPLIES, FloodGauge, Pace
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said


def test_the_gauge_holds_back_a_burst_and_waits_for_calm() -> None:
    """Sent without waiting: REPLIES replies, one SLOW_DOWN, then QUIET until CALM passes."""
    now = [0.0]
    gauge = FloodGauge(clock=lambda: now[0])
    paces = [gauge.note(1, replies=2, waiting=40) for _ in range(REPLIES // 2 + 3)]
    assert paces[: REPLIES // 2] == [Pace.NORMAL] * (REPLIES // 2)
    assert paces[REPLIES // 2 :] == [Pace.SLOW_DOWN, Pace.QUIET, Pace.QUIET]
    assert gauge.note(2, waiting=40) == Pace.NORMAL  # others are not held back
    assert gauge.calm_in(1) == CALM
    now[0] += CALM
    assert gauge.calm_in(1) == 0.0
    gauge.calmed(1)
    assert gauge.note(1) == Pace.NORMAL


def test_a_resident_who_waits_for_each_answer_is_never_held_back() -> None:
    """Quick, but waiting for each answer: every message answered, up to BURST in WINDOW."""
    gauge = FloodGauge(clock=lambda: 0.0)
    assert {gauge.note(1, replies=2) for _ in range(BURST)} == {Pace.NORMAL}
    assert gauge.note(1, replies=2) == Pace.SLOW_DOWN


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


async def processed(bot: RunningBot, update_ids: list[int], timeout: float = 10.0) -> int:  # noqa: ASYNC109
    """How many of these updates the bot has processed, waiting up to `timeout` for all."""
    done = 0
    for _ in range(int(timeout / 0.05)):
        with sqlite3.connect(bot.settings.database) as db:
            done = db.execute(
                "SELECT COUNT(*) FROM updates WHERE processed_at IS NOT NULL"
                " AND update_id BETWEEN ? AND ?",
                (update_ids[0], update_ids[-1]),
            ).fetchone()[0]
        if done == len(update_ids):
            break
        await asyncio.sleep(0.05)
    return int(done)


async def test_40_messages_in_a_burst_get_at_most_10_replies_while_others_are_answered(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """40 messages at once: all processed, at most 10 replies (one slow-down), others answered."""
    sam = await at_the_first_question(tg)
    before = len(sam.messages)
    update_ids = [sam.send(f"Message number {n}") for n in range(40)]
    ann = tg.resident(502)
    ann.send("/start")
    await said(ann)  # answered while the burst is being taken in
    assert await processed(bot, update_ids) == 40
    await asyncio.sleep(CALM + 1)  # the catch-up, once the burst has calmed
    replies = sam.messages[before:]
    assert 2 <= len(replies) <= 10
    assert [message.text for message in replies].count(wording.SLOW_DOWN) == 1
    assert replies[-1].text != wording.SLOW_DOWN  # the resident is left with a question


async def test_40_presses_in_a_burst_get_at_most_10_replies(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """40 presses of a button at once: all processed, at most 10 replies or edits, one slow-down."""
    sam = tg.resident(503)
    sam.send("/start")
    consent = await said(sam)
    before = len(sam.messages)
    data = consent.data_for("Yes")
    assert data is not None
    update_ids = [sam.press_data(consent.message_id, data) for _ in range(40)]
    assert await processed(bot, update_ids) == 40
    await asyncio.sleep(CALM + 1)
    replies = sam.messages[before:]
    assert len(replies) <= 10
    assert [message.text for message in replies].count(wording.SLOW_DOWN) == 1
