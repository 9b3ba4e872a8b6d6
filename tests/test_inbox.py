"""Updates are stored as they are fetched, before Telegram is told it may forget them, and an
update that a stop cut short is processed after the restart, once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot import wording
from bot.inbox import RecordingBot
from services.conversation import Conversations
from storage import Inbox, SQLiteStorage
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, said, settings_for

SAM = 501
ALI = 502


async def fetch_as_a_dying_bot(tg: FakeTelegram, database: Path, *, confirm: bool) -> list[int]:
    """Poll once as the bot does and die before processing; `confirm`: Telegram was told."""
    async with SQLiteStorage(database) as storage:
        polling = RecordingBot(tg.token, tg.base_url, tg.base_file_url, inbox=storage)
        async with polling:
            fetched = await polling.get_updates(timeout=0)
            ids = [update.update_id for update in fetched]
            if confirm and ids:
                # The next poll, which python-telegram-bot makes before processing the batch.
                await polling.get_updates(offset=ids[-1] + 1, timeout=0)
    return ids


async def all_finished(storage: Inbox, within: float = 3.0) -> bool:
    """Whether every stored update is processed and answered, waiting up to `within` seconds."""
    for _ in range(int(within / 0.05)):
        if not await storage.unfinished_updates():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_fetched_batch_is_stored_before_the_poll_returns(
    tg: FakeTelegram, database: Path
) -> None:
    """The moment the polling call returns, every update of the batch is in the database."""
    sam = tg.resident(SAM)
    pushed = [sam.send("/start"), sam.send("hello"), tg.resident(ALI).send("/help")]

    fetched = await fetch_as_a_dying_bot(tg, database, confirm=False)

    assert fetched == pushed
    async with SQLiteStorage(database) as storage:
        kept = await storage.unfinished_updates()
    assert [stored.update_id for stored in kept] == pushed
    assert '"text": "hello"' in kept[1].payload


async def test_an_update_confirmed_but_never_processed_is_answered_after_a_restart(
    tg: FakeTelegram, database: Path
) -> None:
    """Telegram will not send it again; the bot replays it from its own inbox."""
    sam = tg.resident(SAM)
    start = sam.send("/start")
    assert await fetch_as_a_dying_bot(tg, database, confirm=True) == [start]
    assert tg.is_confirmed(start)

    restarted = RunningBot(tg, settings_for(tg, database))
    await restarted.start()
    try:
        welcome = await said(sam)
        assert welcome.labels == ["Yes", "No"]
        sam.press("Yes")
        assert "What matters to you" in (await said(sam)).text
        assert await all_finished(restarted.storage)
        assert [m.plain[:5] for m in sam.messages if not m.edited] == ["Hello", "What "]
    finally:
        await restarted.stop()


async def test_an_update_both_replayed_and_sent_again_by_telegram_is_processed_once(
    tg: FakeTelegram, database: Path
) -> None:
    """Unconfirmed updates come twice after a crash (inbox and Telegram): one answer, one reply."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await fetch_as_a_dying_bot(tg, database, confirm=False)
    restarted = RunningBot(tg, settings_for(tg, database))
    await restarted.start()
    try:
        assert (await said(sam)).labels == ["Yes", "No"]
        sam.press("Yes")
        await said(sam)
        sam.send("Safer crossings near the school")
        await said(sam)
        await sam.no_reply()
        assert len([m for m in sam.messages if not m.edited]) == 3
        assert await restarted.storage.count_answers() == 1
    finally:
        await restarted.stop()


async def test_group_chat_updates_are_not_replayed_after_a_restart(
    tg: FakeTelegram, bot: RunningBot, database: Path
) -> None:
    """A message in a group gets its pointer to a private chat once, and is then done with."""
    sam = tg.resident(SAM)
    sam.send_in_group("hello bot")
    await tg.wait_for_call("sendMessage")
    await tg.wait_until_confirmed()
    await bot.restart()
    await sam.no_reply(within=0.5)
    assert len(tg.calls_to("sendMessage")) == 1
    assert await all_finished(bot.storage)


async def test_an_update_whose_handling_failed_is_not_replayed_at_every_start(
    tg: FakeTelegram, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error ends in one apology, not one more after each restart."""
    sam = tg.resident(SAM)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a fault injected by the test")

    monkeypatch.setattr(Conversations, "start", broken)
    sam.send("/start")
    assert (await said(sam)).text == wording.SOMETHING_WENT_WRONG
    assert await all_finished(bot.storage)
    monkeypatch.undo()
    await bot.restart()
    await sam.no_reply(within=0.5)
    sam.send("/start")
    assert (await said(sam)).labels == ["Yes", "No"]


async def test_names_usernames_and_shared_contacts_are_not_kept_with_raw_updates(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Data minimisation: answering needs the ids, not who someone is on Telegram."""
    samira = tg.resident(SAM, first_name="Samira", username="samira_k")
    samira.send("/start")
    await said(samira)
    samira.send_contact()
    await said(samira)
    assert await all_finished(bot.storage)
    with sqlite3.connect(bot.settings.database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(value) for value in row)
                assert "Samira" not in text, table
                assert "samira_k" not in text, table
                assert "7700900123" not in text, table
