"""Reminders and expiry, worked out from stored times: the clock is moved, nobody sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.outbox import Outbox
from bot.reminders import nudge_and_expire
from conversations.engine import Press, Text
from insights import Analyser
from services.conversation import Conversations
from services.library import FlowLibrary
from storage import SQLiteStorage
from tests.clock import HandClock
from tests.fake_telegram import FakeTelegram


async def no_pause(seconds: float) -> None:
    """The outbox's pacing, not waited out in these tests."""


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def conversations(tmp_path: Path, clock: HandClock) -> AsyncIterator[Conversations]:
    async with SQLiteStorage(tmp_path / "reminders.db", clock=clock) as storage:
        library = FlowLibrary(storage)
        await library.install_shipped()
        yield Conversations(storage, library, Analyser())


async def at_first_question(conversations: Conversations, user_id: int) -> None:
    """A resident agrees and is asked "What matters to you" (a 24 h nudge, expiring in 14 days)."""
    resident = await conversations.storage.resident(user_id, user_id)
    await conversations.start(resident)
    await conversations.handle(resident, Press("consent", "yes"))


async def test_a_quiet_resident_is_nudged_once_and_not_after_answering(
    tg: FakeTelegram, conversations: Conversations, clock: HandClock
) -> None:
    """After 24 h without an answer one gentle nudge goes out; never a second, never after."""
    storage = conversations.storage
    tg.resident(501)
    await at_first_question(conversations, 501)
    clock.now += timedelta(hours=23)
    assert await nudge_and_expire(conversations) == (0, 0)
    clock.now += timedelta(hours=1, minutes=1)
    assert await nudge_and_expire(conversations) == (1, 0)
    assert await nudge_and_expire(conversations) == (0, 0)  # once only
    async with Bot(tg.token, base_url=tg.base_url) as bot:
        assert await Outbox(storage, bot, sleep=no_pause).deliver() == 1
    (nudge,) = tg.messages_to(501)
    assert "gentle nudge" in nudge.plain
    assert "What matters to you about living here?" in nudge.plain

    resident = await storage.resident(501, 501)
    await conversations.handle(resident, Text("The library"))
    clock.now += timedelta(days=3)
    assert await nudge_and_expire(conversations) == (0, 0)  # answered: nothing more


async def test_an_unanswered_question_expires_and_says_so_kindly(
    conversations: Conversations, clock: HandClock
) -> None:
    """After 14 days the session closes with a kind word; the resident can /start again."""
    storage = conversations.storage
    await at_first_question(conversations, 502)
    clock.now += timedelta(days=14, minutes=1)
    assert await nudge_and_expire(conversations) == (0, 1)
    resident = await storage.resident(502, 502)
    assert await storage.active_session(resident.id) is None
    latest = await storage.latest_session(resident.id)
    assert latest is not None
    assert latest.status == "expired"
    assert await storage.claim_due() != []  # the closing message waits in the outbox
    assert await nudge_and_expire(conversations) == (0, 0)


async def test_no_reminder_for_a_resident_who_used_stop(
    conversations: Conversations, clock: HandClock
) -> None:
    """/stop is honoured by reminders and expiry alike."""
    storage = conversations.storage
    await at_first_question(conversations, 503)
    await conversations.stop(await storage.resident(503, 503))
    clock.now += timedelta(days=20)
    assert await nudge_and_expire(conversations) == (0, 0)
    assert await storage.claim_due() == []
