"""The outbox sends each queued message once, through Telegram's errors and across restarts."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import TelegramError

from bot.outbox import Outbox
from storage import SQLiteStorage
from storage.models import ASKED_FOR, REPLY_KEY, URGENT, OutgoingMessage
from tests.clock import HandClock
from tests.fake_telegram import FakeTelegram

STAFF = [701, 702, 703]


class Pauses:
    """Records the pauses the outbox asks for, without waiting them out."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def storage(tmp_path: Path, clock: HandClock) -> AsyncIterator[SQLiteStorage]:
    async with SQLiteStorage(tmp_path / "outbox.db", clock=clock) as opened:
        yield opened


@pytest.fixture
async def telegram_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


def digest_parts(chat_id: int) -> list[OutgoingMessage]:
    """Three messages of a made-up digest for one chat: text, chart, CSV."""
    return [
        OutgoingMessage(f"d:1:{chat_id}:text", chat_id, "sendMessage", "<b>This week</b>"),
        OutgoingMessage(f"d:1:{chat_id}:chart", chat_id, "sendPhoto", "Chart", "t.png", b"\x89PNG"),
        OutgoingMessage(f"d:1:{chat_id}:csv", chat_id, "sendDocument", "CSV", "a.csv", b"a,b\n"),
    ]


async def queue_for_staff(tg: FakeTelegram, storage: SQLiteStorage) -> None:
    for chat_id in STAFF:
        tg.resident(chat_id)  # the chats exist on the server
        await storage.enqueue(digest_parts(chat_id))


async def test_each_message_goes_out_once_and_queuing_again_is_harmless(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """Every queued message is sent once, in order; queuing and delivering again sends nothing."""
    await queue_for_staff(tg, storage)
    pauses = Pauses()
    outbox = Outbox(storage, telegram_bot, sleep=pauses)
    assert await outbox.deliver() == 9
    await queue_for_staff(tg, storage)
    assert await outbox.deliver() == 0
    for chat_id in STAFF:
        sent = tg.messages_to(chat_id)
        assert [m.method for m in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
        assert sent[1].document == b"\x89PNG"
        assert sent[2].filename == "a.csv"
    assert pauses.taken  # it paced itself


async def test_a_429_is_waited_out_for_as_long_as_telegram_asks(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot, clock: HandClock
) -> None:
    """Flood control: the outbox pauses for `retry_after`, then sends, and nothing doubles."""
    await queue_for_staff(tg, storage)
    tg.fail("sendPhoto", 429, retry_after=7)
    pauses = Pauses()
    outbox = Outbox(storage, telegram_bot, sleep=pauses)
    await outbox.deliver()
    assert 7.0 in pauses.taken
    clock.now += timedelta(seconds=8)
    await outbox.deliver()
    assert sorted(await storage.sent_keys()) == sorted(
        m.key for chat_id in STAFF for m in digest_parts(chat_id)
    )
    assert sum(len(tg.messages_to(chat_id)) for chat_id in STAFF) == 9


async def test_server_errors_are_retried_later(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot, clock: HandClock
) -> None:
    """A 500 puts the message back for a later try; it then goes out exactly once."""
    tg.resident(STAFF[0])
    await storage.enqueue(digest_parts(STAFF[0])[:1])
    tg.fail("sendMessage", 500, times=2)
    outbox = Outbox(storage, telegram_bot, sleep=Pauses())
    assert await outbox.deliver() == 0
    clock.now += timedelta(seconds=3)
    assert await outbox.deliver() == 0  # the second failure
    assert await outbox.deliver() == 0  # not yet due again
    clock.now += timedelta(seconds=10)
    assert await outbox.deliver() == 1
    assert len(tg.messages_to(STAFF[0])) == 1


async def test_a_chat_that_blocked_the_bot_is_given_up_on(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """403 from a blocked chat: no retries, and the others still get theirs."""
    await queue_for_staff(tg, storage)
    tg.block(STAFF[1])
    assert await Outbox(storage, telegram_bot, sleep=Pauses()).deliver() == 6
    assert tg.messages_to(STAFF[1]) == []
    assert await storage.claim_due() == []


async def test_a_restart_mid_delivery_finishes_once(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot, clock: HandClock
) -> None:
    """Stopped part-way, a new sender finishes the rest and sends nothing twice."""
    await queue_for_staff(tg, storage)
    first = Outbox(storage, telegram_bot, sleep=Pauses())
    # One round (each chat's first message), as if the process died after it.
    for message in await storage.claim_due():
        await first._send_one(message)
    clock.now += timedelta(minutes=10)  # the dead sender's claims lapse
    assert await Outbox(storage, telegram_bot, sleep=Pauses()).deliver() == 6
    assert sum(len(tg.messages_to(chat_id)) for chat_id in STAFF) == 9


async def test_a_resident_who_stops_after_a_broadcast_is_queued_gets_nothing(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """/stop is honoured even for an invitation already waiting in the outbox."""
    tg.resident(501)
    resident = await storage.resident(501, 501)
    invite = OutgoingMessage(
        "broadcast:x:1:1", 501, "sendMessage", "Hello", resident_id=resident.id
    )
    await storage.enqueue([invite])
    await storage.set_stopped(resident.id, True)
    assert await Outbox(storage, telegram_bot, sleep=Pauses()).deliver() == 0
    assert tg.messages_to(501) == []


async def test_chats_are_taken_in_turn_each_in_its_own_order(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """Queued one person after another, a digest goes out first parts first: no chat's
    one-second spacing holds up the others, and each chat still reads its parts in order."""
    await queue_for_staff(tg, storage)
    outbox = Outbox(storage, telegram_bot, sleep=Pauses())
    assert await outbox.deliver() == 9
    order = [(call.params["chat_id"], call.method) for call in tg.calls if call.method != "getMe"]
    assert order == [
        (chat_id, method)
        for method in ("sendMessage", "sendPhoto", "sendDocument")
        for chat_id in STAFF
    ]


async def test_a_safeguarding_alert_overtakes_a_long_broadcast(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """Queued after 250 invitations, an alert (and a resident's own file) go out first."""
    residents = list(range(5000, 5250))
    for chat_id in residents:
        tg.resident(chat_id)
    await storage.enqueue(
        OutgoingMessage(f"broadcast:x:{chat_id}", chat_id, "sendMessage", "Tell us more?")
        for chat_id in residents
    )
    await storage.enqueue(
        [
            OutgoingMessage("mydata:1", 701, "sendMessage", "Your data", priority=ASKED_FOR),
            OutgoingMessage("safeguarding:1", 702, "sendMessage", "Alert", priority=URGENT),
        ]
    )
    tg.resident(701)
    tg.resident(702)
    outbox = Outbox(storage, telegram_bot, sleep=Pauses())
    assert await outbox.deliver() == 252
    first = [call.params["chat_id"] for call in tg.calls_to("sendMessage")[:2]]
    assert first == [702, 701]


async def test_a_chat_keeps_its_order_across_a_restart_while_a_part_waits_to_be_retried(
    tg: FakeTelegram, storage: SQLiteStorage, clock: HandClock, telegram_bot: Bot
) -> None:
    """The chart fails and the bot restarts before it is due again: the CSV still waits for it."""
    await queue_for_staff(tg, storage)
    first, *others = STAFF
    tg.fail("sendPhoto", 500)
    assert await Outbox(storage, telegram_bot, sleep=Pauses()).deliver() == 7
    restarted = Outbox(storage, telegram_bot, sleep=Pauses())  # nothing carried over in memory
    assert await restarted.deliver() == 0
    assert [m.method for m in tg.messages_to(first)] == ["sendMessage"]
    clock.now += timedelta(seconds=3)
    assert await restarted.deliver() == 2
    assert [m.method for m in tg.messages_to(first)] == ["sendMessage", "sendPhoto", "sendDocument"]
    for chat_id in others:
        assert len(tg.messages_to(chat_id)) == 3


async def test_an_unforeseen_error_hands_the_rest_of_the_batch_back_at_once(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot
) -> None:
    """A reply Telegram answers with an error the outbox has no rule for (409 Conflict) stops
    the round; the messages claimed with it are anyone's to send at once, not in five minutes:
    a resident's next question must not wait behind another chat's failure."""
    await queue_for_staff(tg, storage)
    tg.fail("sendMessage", 409)
    outbox = Outbox(storage, telegram_bot, sleep=Pauses())

    with pytest.raises(TelegramError):
        await outbox.deliver()

    # The other two chats' digests go; the first chat's chart and CSV keep their place behind
    # its text, which waits out its claim (it may have gone out before the error).
    assert await Outbox(storage, telegram_bot, sleep=Pauses()).deliver() == 6
    for chat_id in STAFF[1:]:
        assert len(tg.messages_to(chat_id)) == 3


async def test_a_reply_made_out_of_date_while_it_waits_its_turn_is_not_sent(
    tg: FakeTelegram, storage: SQLiteStorage, telegram_bot: Bot, tmp_path: Path
) -> None:
    """Two replies to one chat: while the outbox paces itself before the second, the resident's
    next message makes it out of date (another process marks it so). It must not go out after
    the newer answer the resident already has."""
    tg.resident(704)
    await storage.enqueue(
        [
            OutgoingMessage(
                f"{REPLY_KEY}1:0", 704, "sendMessage", "Question 5", priority=ASKED_FOR
            ),
            OutgoingMessage(
                f"{REPLY_KEY}2:0", 704, "sendMessage", "Question 6", priority=ASKED_FOR
            ),
        ]
    )

    async def pause_while_the_resident_moves_on(seconds: float) -> None:
        with sqlite3.connect(tmp_path / "outbox.db") as db:
            db.execute(
                "UPDATE outbox SET failed_at = '2026-01-01T00:00:00+00:00'"
                " WHERE key = ? AND sent_at IS NULL",
                (f"{REPLY_KEY}2:0",),
            )

    outbox = Outbox(storage, telegram_bot, sleep=pause_while_the_resident_moves_on)
    assert await outbox.deliver() == 1
    assert [m.plain for m in tg.messages_to(704)] == ["Question 5"]
