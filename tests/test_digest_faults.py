"""Fault tests (issue 5): while the weekly digest goes out to 20 members of staff, the Bot API
answers about 10 % of sends with 429 (and a `retry_after`), with 500, or holds them longer than
python-telegram-bot waits by default. Every member of staff still gets exactly one digest (each
part once, in order), and no one else gets anything.

The digest is queued as the weekly job queues it (`Digests.queue_for_all_staff`) and sent by
`Outbox.deliver()`, run again and again as the bot's outbox job runs it (every 10 s in the bot,
every fifth of a second here), paced faster than Telegram allows to keep the tests quick.
Faults are drawn from fixed seeds, so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.outbox import Outbox
from bot.staff import INVITE_DAYS, new_invite_code
from insights import redact
from services.digest import Digests
from storage import NewAnswer, SQLiteStorage, Turn
from storage.models import Analysed, OutgoingMessage
from tests.clock import HandClock
from tests.conftest import ADMIN
from tests.fake_telegram import Call, FakeTelegram
from tests.test_outbox import STAFF as TEST_STAFF
from tests.test_outbox import Pauses, queue_for_staff

ZONE = ZoneInfo("Europe/London")
STAFF = list(range(1001, 1021))
SENDS = ("sendMessage", "sendPhoto", "sendDocument")
# One digest: its text (one message for a week this small), the chart, the CSV.
DIGEST = ["sendMessage", "sendPhoto", "sendDocument"]
RATE = 0.1
PTB_READ_TIMEOUT = 5.0  # python-telegram-bot's default wait for an answer
# Quicker than Telegram allows, to keep the tests short: pacing is tested in test_outbox.py.
PER_SECOND = 100.0
PER_CHAT_INTERVAL = 0.02
OUTBOX_JOB_INTERVAL = 0.2

# Made-up residents' answers: (resident, answer, themes, tone, sentiment).
ANSWERS = [
    (601, "The boiler has been broken for three weeks and nobody came", ("Repairs",),
     "negative", -0.6),
    (602, "Black mould in the bathroom again, the damp is making my son ill",
     ("Damp and mould",), "negative", -0.7),
    (603, "Bins are left for days and the rubbish attracts rats", ("Bins and waste",),
     "negative", -0.5),
    (604, "The repairs team came the same day, lovely people", ("Repairs",), "positive", 0.8),
    (605, "Damp on the bedroom walls every single winter", ("Damp and mould",), "negative",
     -0.4),
    (606, "Weekly bin collections would make a difference", ("Bins and waste",), "neutral",
     0.0),
]  # fmt: skip
RESIDENTS = [resident for resident, *_ in ANSWERS]


@dataclass(frozen=True)
class Faults:
    """How the local Bot API server misbehaves on about 10 % of sends."""

    kinds: tuple[int | str, ...]
    seed: int
    hang_for: float = 0.0
    # The client's own read timeout; None is python-telegram-bot's default (5 s).
    client_timeout: float | None = None


@pytest.fixture
async def storage(database: Path) -> AsyncIterator[SQLiteStorage]:
    async with SQLiteStorage(database) as opened:
        yield opened


async def join_staff(tg: FakeTelegram, storage: SQLiteStorage) -> None:
    """20 colleagues, each joined with an admin's one-time invite code, as /invite and /join do."""
    for n, chat_id in enumerate(STAFF, 1):
        code = new_invite_code()
        await storage.create_invite(code, ADMIN, storage.now() + timedelta(days=INVITE_DAYS))
        member = await storage.redeem_invite(code, chat_id, chat_id, f"Colleague {n}")
        assert member is not None
        tg.resident(chat_id, first_name=f"Colleague {n}")


async def store_answers(tg: FakeTelegram, storage: SQLiteStorage) -> None:
    """Residents' answers, stored with their analysis as the bot stores them."""
    for resident_id, text, themes, tone, sentiment in ANSWERS:
        tg.resident(resident_id)  # residents have chats with the bot too: they must get nothing
        resident = await storage.resident(resident_id, resident_id)
        answer = NewAnswer(
            "matters",
            "What matters to you about living here?",
            text,
            kind="text",
            analysed=Analysed(themes, sentiment, tone, ()),
        )
        await storage.save_turn(
            Turn(resident.id, None, "what-matters", 1, "matters", "active", "{}", answer)
        )


async def queue_weekly_digest(tg: FakeTelegram, storage: SQLiteStorage) -> int:
    """Staff, answers, and the week's digest queued for every member of staff."""
    await join_staff(tg, storage)
    await store_answers(tg, storage)
    queued = await Digests(storage, ZONE, redact).queue_for_all_staff(storage.now())
    assert queued == len(STAFF) * len(DIGEST)
    return queued


def client(tg: FakeTelegram, read_timeout: float | None = None) -> Bot:
    """A Bot for the local server; its default read timeout is python-telegram-bot's own."""
    request = None if read_timeout is None else HTTPXRequest(read_timeout=read_timeout)
    return Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url, request=request)


async def deliver_all(
    outbox: Outbox,
    storage: SQLiteStorage,
    expected: int,
    within: float,
) -> None:
    """Run the outbox as the bot's outbox job does, until `expected` messages have gone out."""
    sent: list[str] = []
    try:
        async with asyncio.timeout(within):
            for _ in range(int(within / OUTBOX_JOB_INTERVAL) + 1):
                await outbox.deliver()
                sent = await storage.sent_keys()
                if len(sent) >= expected:
                    return
                await asyncio.sleep(OUTBOX_JOB_INTERVAL)
    except TimeoutError:
        pass
    raise AssertionError(f"only {len(sent)} of {expected} messages went out within {within} s")


async def server_settles(tg: FakeTelegram, within: float) -> None:
    """Wait until the server has answered every call: a hang the client gave up on ends in a
    send all the same, and a copy sent that way must be seen before counting copies."""
    for _ in range(int(within / 0.05) + 1):
        if all(call.status is not None for call in tg.calls):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server still holds calls after {within} s")


def sends(tg: FakeTelegram) -> list[Call]:
    return [call for method in SENDS for call in tg.calls_to(method)]


def assert_one_digest_each(tg: FakeTelegram) -> None:
    """Each member of staff got the digest once, whole and in order; no one else got anything."""
    first = tg.messages_to(STAFF[0])
    assert [message.method for message in first] == DIGEST
    assert "6 residents gave 6 answers" in first[0].plain
    assert first[1].document is not None
    assert first[1].document.startswith(b"\x89PNG")
    assert first[2].document is not None
    assert b"Black mould in the bathroom again" in first[2].document
    for chat_id in STAFF:
        got = tg.messages_to(chat_id)
        assert [message.method for message in got] == DIGEST, f"staff chat {chat_id}"
        assert [(m.text, m.document) for m in got] == [(m.text, m.document) for m in first]
    for resident in RESIDENTS:
        assert tg.messages_to(resident) == []
    assert {call.params["chat_id"] for call in sends(tg)} == set(STAFF)


def assert_faults_happened(tg: FakeTelegram, faults: Faults) -> None:
    """Each kind of fault asked for hit at least one send, and no more than about 10 % of them."""
    calls = sends(tg)
    hit = [call for call in calls if call.status != 200 or call.held > 0]
    for kind in faults.kinds:
        if kind == "hang":
            assert any(call.held >= faults.hang_for - 0.1 for call in calls), "no send hung"
        else:
            assert any(call.status == kind for call in calls), f"no send answered {kind}"
    assert len(hit) <= 0.25 * len(calls), f"{len(hit)} of {len(calls)} sends faulted"


CASES = {
    "429-seed-1": Faults((429,), seed=1),
    "429-seed-2": Faults((429,), seed=2),
    "500-seed-1": Faults((500,), seed=1),
    "500-seed-2": Faults((500,), seed=2),
    # Many hangs are slow: here the client's own wait is cut to 0.5 s and sends are held 1 s.
    "hang-seed-1": Faults(("hang",), seed=1, hang_for=1.0, client_timeout=0.5),
    # Held past python-telegram-bot's real default of 5 s.
    "mixed-seed-3": Faults((429, 500, "hang"), seed=3, hang_for=PTB_READ_TIMEOUT + 1),
}


@pytest.mark.parametrize("faults", CASES.values(), ids=CASES.keys())
async def test_every_member_of_staff_gets_exactly_one_digest_through_faults(
    tg: FakeTelegram, storage: SQLiteStorage, faults: Faults
) -> None:
    """About 10 % of sends fail or hang at random; each of the 20 gets the digest once."""
    queued = await queue_weekly_digest(tg, storage)
    tg.fail_randomly(
        SENDS, RATE, seed=faults.seed, kinds=faults.kinds, retry_after=1, hang_for=faults.hang_for
    )
    async with client(tg, faults.client_timeout) as bot:
        outbox = Outbox(storage, bot, per_second=PER_SECOND, per_chat_interval=PER_CHAT_INTERVAL)
        await deliver_all(outbox, storage, queued, within=45)
    await server_settles(tg, within=faults.hang_for + 2)
    assert_faults_happened(tg, faults)
    assert_one_digest_each(tg)
    assert await storage.claim_due() == []  # nothing left to send


async def test_a_send_held_longer_than_even_the_outbox_waits_is_sent_again(
    tg: FakeTelegram, storage: SQLiteStorage
) -> None:
    """The remaining limit: a send Telegram holds past the outbox's own wait has an unknown
    outcome, so it is sent again; the chat gets it twice rather than never."""
    chat_id = STAFF[0]
    tg.resident(chat_id)
    await storage.enqueue([OutgoingMessage("digest:x:text", chat_id, "sendMessage", "This week")])
    tg.hang("sendMessage", 1.0)
    async with client(tg) as bot:
        outbox = Outbox(storage, bot, per_chat_interval=PER_CHAT_INTERVAL, send_timeout=0.3)
        await deliver_all(outbox, storage, 1, within=10)
    await server_settles(tg, within=3)
    assert [message.text for message in tg.messages_to(chat_id)] == ["This week", "This week"]
    assert [call.held > 0 for call in tg.calls_to("sendMessage")] == [True, False]


@pytest.mark.parametrize("error", [500, 429])
async def test_a_part_tried_again_holds_back_the_later_parts_to_its_chat(
    tg: FakeTelegram, tmp_path: Path, error: int
) -> None:
    """The chart fails: the CSV after it waits, so the chat still reads text, chart, CSV; other
    chats are not held up. (Even after a 429 is waited out, the chart may not be due yet when the
    outbox looks again: the CSV must not overtake it then either.)"""
    clock = HandClock()
    async with (
        SQLiteStorage(tmp_path / "outbox.db", clock=clock) as storage,
        client(tg) as bot,
    ):
        await queue_for_staff(tg, storage)
        tg.fail("sendPhoto", error, retry_after=5 if error == 429 else None)
        # Pauses are noted, not waited out, and the clock stands still until moved.
        outbox = Outbox(storage, bot, sleep=Pauses())
        assert await outbox.deliver() == 7
        first, *others = TEST_STAFF
        assert [m.method for m in tg.messages_to(first)] == ["sendMessage"]
        for chat_id in others:
            assert [m.method for m in tg.messages_to(chat_id)] == DIGEST
        clock.now += timedelta(seconds=6)
        assert await outbox.deliver() == 2
        assert [m.method for m in tg.messages_to(first)] == DIGEST
        assert await storage.claim_due() == []
