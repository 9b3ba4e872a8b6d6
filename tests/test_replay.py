"""Start-up replay after a crash: an update whose turn was committed is never taken as new input
again, and the replies Telegram could not take then reach the resident later, once.

Each test kills `whatmatters run` with SIGKILL while its replies hang in the local Bot API server,
then starts it again while that server fails in the way a Telegram outage does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot import wording
from storage import SQLiteStorage
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import BotProcess, RunningBot, said, settings_for

SAM = 611
ALI = 612
KIM = 613

CONSENT = "Are you happy to carry on?"
MATTERS = "What matters to you about living here?"
BIGGEST = "If one thing could change"
# Longer than the test: the reply is cut off by the kill, never delivered by the hung call.
FOR_EVER = 120.0


async def answers_of(database: Path, person: Resident) -> list[tuple[str, str]]:
    """(step, answer) of everything stored as this person's answers, in order."""
    async with SQLiteStorage(database) as storage:
        resident = await storage.resident(person.user_id, person.chat_id)
        data: dict[str, Any] = await storage.personal_data(resident)
    return [(answer["step_id"], answer["answer"]) for answer in data["answers"]]


async def step_of(database: Path, person: Resident) -> str | None:
    """The step this person's conversation is at, as committed."""
    async with SQLiteStorage(database) as storage:
        resident = await storage.resident(person.user_id, person.chat_id)
        session = await storage.active_session(resident.id)
    return session.step_id if session else None


async def until_at(database: Path, expected: dict[Resident, str], within: float = 10.0) -> None:
    """Wait until each person's conversation is committed at the given step."""
    steps: list[str | None] = []
    for _ in range(int(within / 0.1)):
        steps = [await step_of(database, person) for person in expected]
        if steps == list(expected.values()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the turns were not committed within {within} s: {steps}")


def new_messages(person: Resident) -> list[str]:
    """The text of every new (not edited) message this person has had from the bot."""
    return [message.plain for message in person.messages if not message.edited]


async def residents_at_their_questions(tg: FakeTelegram) -> tuple[Resident, Resident, Resident]:
    """Sam at the first open question, Ali and Kim at the consent question."""
    sam, ali, kim = tg.resident(SAM), tg.resident(ALI), tg.resident(KIM)
    for person in (sam, ali, kim):
        person.send("/start")
        assert CONSENT in (await said(person)).text
    sam.press("Yes")
    assert MATTERS in (await said(sam)).text
    return sam, ali, kim


async def cut_off_while_replying(
    tg: FakeTelegram, bot: BotProcess, database: Path, sam: Resident, ali: Resident, kim: Resident
) -> None:
    """Sam types an answer, Ali types "Yes" at consent, Kim presses Yes; each turn is committed,
    and the bot is killed while each reply hangs in Telegram."""
    sent_before = len(tg.calls_to("sendMessage"))
    tg.hang("sendMessage", FOR_EVER, times=3)
    sam.send("Safer crossings near the school")
    ali.send("Yes")
    kim.press("Yes")
    await tg.wait_for_call("sendMessage", timeout=10, count=sent_before + 3)
    await until_at(database, {sam: "biggest-difference", ali: "matters", kim: "matters"})
    await bot.kill()


async def test_replies_cut_off_reach_residents_once_telegram_is_back_and_nothing_is_reprocessed(
    tg: FakeTelegram, database: Path
) -> None:
    """SIGKILL while replies hang; start-up while sendMessage answers 500: each answer is stored
    once under its own question, each resident gets their next question once without writing,
    and two clean restarts later nobody gets anything and nothing more is stored."""
    settings = settings_for(tg, database)
    bot = BotProcess(tg, settings)
    await bot.start()
    sam, ali, kim = await residents_at_their_questions(tg)
    await cut_off_while_replying(tg, bot, database, sam, ali, kim)
    tg.clear_faults()

    tg.fail("sendMessage", 500, times=3)  # Telegram is down when the bot comes back
    await bot.start()
    try:
        # (The hung calls of the killed bot never delivered anything.)
        assert BIGGEST in (await said(sam, timeout=15)).text
        assert MATTERS in (await said(ali, timeout=15)).text
        assert MATTERS in (await said(kim, timeout=15)).text
        assert await answers_of(database, sam) == [("matters", "Safer crossings near the school")]
        assert await answers_of(database, ali) == []
        assert await answers_of(database, kim) == []

        sent = len(tg.calls_to("sendMessage"))
        for _ in range(2):
            await bot.stop()
            await bot.start()
            for person in (sam, ali, kim):
                await person.no_reply(within=1.0)
        assert len(tg.calls_to("sendMessage")) == sent
        assert [len(new_messages(person)) for person in (sam, ali, kim)] == [3, 2, 2]
        assert len(await answers_of(database, sam)) == 1
        assert await answers_of(database, ali) == await answers_of(database, kim) == []
        assert await step_of(database, ali) == await step_of(database, kim) == "matters"
    finally:
        await bot.stop()


async def test_a_replayed_reply_that_telegram_delivers_but_answers_502_is_not_taken_as_input(
    tg: FakeTelegram, database: Path
) -> None:
    """The re-sent reply arrives, but the bot hears 502: the answer stays stored once, under its
    question, and the resident's words are never stored as the answer to the next one."""
    settings = settings_for(tg, database)
    bot = BotProcess(tg, settings)
    await bot.start()
    sam, ali, kim = await residents_at_their_questions(tg)
    await cut_off_while_replying(tg, bot, database, sam, ali, kim)
    tg.clear_faults()

    tg.fail_after_delivering("sendMessage", 502, times=3)
    await bot.start()
    try:
        assert BIGGEST in (await said(sam, timeout=15)).text
        assert MATTERS in (await said(ali, timeout=15)).text
        assert MATTERS in (await said(kim, timeout=15)).text
        await asyncio.sleep(4.0)  # the outbox sends again what it did not hear back about
        counts = [len(new_messages(person)) for person in (sam, ali, kim)]
        await bot.stop()
        await bot.start()
        await asyncio.sleep(1.5)
        assert [len(new_messages(person)) for person in (sam, ali, kim)] == counts
        assert await answers_of(database, sam) == [("matters", "Safer crossings near the school")]
        assert await answers_of(database, ali) == []
        assert await answers_of(database, kim) == []
        # At most the one duplicate a 502 after delivery can cause (the outbox cannot know that
        # the message arrived).
        assert counts[0] in (3, 4)
        assert counts[1] in (2, 3)
        assert counts[2] in (2, 3)
    finally:
        await bot.stop()


async def test_a_reply_telegram_fails_is_sent_later_without_the_resident_writing(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """On the normal path, a 500 while sending the next question hands it to the outbox: the
    resident gets it once Telegram is back, and no apology."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    tg.fail("sendMessage", 500, times=2)
    sam.press("Yes")
    assert MATTERS in (await said(sam, timeout=15)).text
    sam.send("Safer crossings near the school")
    assert BIGGEST in (await said(sam)).text
    assert [text[:12] for text in new_messages(sam)] == ["Hello, and t", MATTERS[:12], BIGGEST[:12]]
    assert await bot.storage.count_answers() == 1


async def test_replies_waiting_for_telegram_stay_ahead_of_newer_ones(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A resident who sends /help while their next question waits for Telegram gets the
    question first, then the help."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    tg.fail("sendMessage", 500, times=2)  # the reply, and the outbox's first try
    sam.press("Yes")
    await tg.wait_for_call("sendMessage", count=3)
    sam.send("/help")
    assert MATTERS in (await said(sam, timeout=15)).text
    assert "/start" in (await said(sam)).text


async def test_a_reply_out_of_date_by_a_later_answer_is_dropped(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """The resident answered again before Telegram came back: the old question is not sent."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    sam.press("Yes")
    await said(sam)
    tg.fail("sendMessage", 500, times=2)  # the reply, and the outbox's first try
    sam.send("Safer crossings near the school")  # its reply (the next question) fails
    await tg.wait_for_call("sendMessage", count=4)
    sam.send("/stop")
    assert (await said(sam, timeout=15)).text == wording.STOPPED  # no apology before it
    await sam.no_reply(within=3.0)
    assert not any(BIGGEST in text for text in new_messages(sam))


async def test_a_cosmetic_call_that_fails_never_brings_an_apology(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """answerCallbackQuery failing (500) and editMessageReplyMarkup answering what the library
    cannot read leave the step as it worked: the next question, and no apology."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    tg.fail("answerCallbackQuery", 500)
    tg.answer_with("editMessageReplyMarkup", {"not": "a message"})
    sam.press("Yes")
    assert MATTERS in (await said(sam)).text
    await sam.no_reply(within=1.0)
