"""Several webhook workers on one PostgreSQL database, behind a round-robin proxy: each sender's
updates handled once and in order whichever worker gets them, killed workers' work taken over,
the scheduled jobs run once."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

from bench.crash import bots, run
from bot import workers
from bot.workers import ALIVE_FOR, HEARTBEAT, LEAD, ChatDrains, Worker
from storage import SQLiteStorage, open_storage
from storage.models import OutgoingMessage
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, text_update
from tests.running_bot import BotProcess, free_port, said, settings_for


async def test_three_workers_killed_at_random_lose_repeat_and_reorder_nothing(
    tg: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """20 residents answer while one of three webhook workers is SIGKILLed, 6 times."""
    outcome = await run(
        tg,
        tmp_path,
        residents=20,
        rounds=6,
        seed=5,
        reply_timeout=45.0,
        database=postgres_url,
        workers=3,
    )

    assert outcome.kills == 6
    assert not outcome.stuck, outcome.report()
    assert len(outcome.sent) >= 60, outcome.report()
    assert outcome.lost == [], outcome.report()
    assert outcome.duplicated == [], outcome.report()
    assert outcome.unexpected == [], outcome.report()
    assert outcome.misplaced == [], outcome.report()
    assert outcome.disordered == [], outcome.report()
    assert sum(outcome.stored.values()) == len(outcome.sent)


async def test_run_with_three_workers_answers_residents_and_sends_the_digest_once(
    tg: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """`whatmatters run --workers 3` on PostgreSQL: three processes share the webhook port, one
    of them runs the scheduled jobs (the week's digest goes out once, to each member of staff),
    a resident is answered, and SIGTERM stops them all cleanly."""
    staff = [tg.resident(chat_id) for chat_id in (4201, 4202)]
    async with open_storage(postgres_url) as storage:
        for chat_id in (4201, 4202):
            await storage.create_invite(f"code-{chat_id}", ADMIN, storage.now() + timedelta(1))
            await storage.redeem_invite(f"code-{chat_id}", chat_id, chat_id, f"Colleague {chat_id}")
    port = free_port()
    settings = settings_for(
        tg,
        postgres_url,
        admins=[ADMIN],
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        listen=f"127.0.0.1:{port}",
        workers=3,
    )
    log = tmp_path / "workers.log"
    process = BotProcess(tg, settings, log=log)
    await process.start()
    try:
        await tg.wait_for_call("setWebhook", timeout=30, count=3)  # all three are up
        sam = tg.resident(501)
        sam.send("/start")
        assert "?" in (await said(sam, timeout=15)).plain
        for member in staff:
            assert "week" in (await said(member, timeout=15)).plain.lower()  # the digest
        await asyncio.sleep(2 * HEARTBEAT + 1)  # time for any second digest to arrive
    finally:
        status = await process.stop(timeout=30)
    assert status == 0
    async with open_storage(postgres_url) as storage:
        digest_keys = await storage.sent_keys("digest:")
        # Every worker has left: nobody holds the lead any more.
        assert await storage.claim(LEAD, "a test")
    assert digest_keys, "no digest was sent"
    assert len(digest_keys) == len(set(digest_keys))
    for member in staff:
        assert len(tg.messages_to(member.chat_id)) == len(digest_keys) // len(staff)
    leaders = re.findall(r"worker (\S+) runs the scheduled jobs", log.read_text())
    assert len(leaders) == 1, leaders
    assert log.read_text().count("Traceback") == 0


async def test_several_workers_need_a_webhook_and_postgresql(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """`--workers 2` with long polling, or on a SQLite file, is refused in one clear line."""
    bot = BotProcess(tg, settings_for(tg, tmp_path / "a.db"))
    polling = await bot.whatmatters("run", "--workers", "2")
    assert polling[0] == 2
    assert "several workers receive updates by webhook" in polling[1]
    on_sqlite = await bot.whatmatters(
        "run", "--workers", "2", "--webhook-url", "https://bot.example.org/telegram"
    )
    assert on_sqlite[0] == 2
    assert "several workers share one PostgreSQL database" in on_sqlite[1]
    assert "Traceback" not in polling[1] + on_sqlite[1]


async def test_when_the_leading_worker_is_killed_another_takes_over_the_scheduled_work(
    tg: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """A broadcast waits for the worker that paces it: with the leader SIGKILLed, the other
    worker takes the lead once the leader's heartbeat lapses, and sends it."""
    resident = tg.resident(640)
    async with bots(tg, postgres_url, tmp_path, workers=2) as (first, second):
        assert "runs the scheduled jobs" in first.log.read_text()  # the first to start leads
        await first.kill()
        async with open_storage(postgres_url) as storage:
            await storage.enqueue(
                [OutgoingMessage("broadcast:1:640", resident.chat_id, "sendMessage", "News")]
            )
        message = await said(resident, timeout=ALIVE_FOR + 4 * HEARTBEAT + 5)
        assert message.plain == "News"
        assert "runs the scheduled jobs" in second.log.read_text()


async def test_workers_stop_when_their_supervisor_is_killed(
    tg: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """SIGKILL to `run --workers 2` takes its workers down too: none is left behind to share
    its name (and its claims) with the workers the next start makes."""
    port = free_port()
    settings = settings_for(
        tg,
        postgres_url,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        listen=f"127.0.0.1:{port}",
        workers=2,
    )
    process = BotProcess(tg, settings, log=tmp_path / "workers.log")
    await process.start()
    await tg.wait_for_call("setWebhook", timeout=30, count=2)
    assert await _listening(port)
    await process.kill()  # the supervisor only
    for _ in range(100):  # bounded: 20 s
        if not await _listening(port):
            break
        await asyncio.sleep(0.2)
    assert not await _listening(port), "a worker outlived its supervisor"


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def test_a_drain_stalled_on_one_update_is_logged_with_where_it_waits_then_begun_again(
    tg: FakeTelegram,
    database: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An update whose handling never ends (a call that never answers) is logged with the line
    it waits at, then its drain is ended as a crash would end it, and the update is taken on
    again: the resident is not left waiting for ever behind it."""
    monkeypatch.setattr(workers, "STALLED", 0.3)
    calls = 0

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()  # the first try hangs
        await storage.mark_processed(update.update_id)

    payload = text_update(1, 601, "hello")
    async with SQLiteStorage(database) as storage:
        bot = Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        app = ApplicationBuilder().bot(bot).updater(None).build()
        app.add_handler(TypeHandler(Update, handle))
        worker = Worker(storage)
        await worker.start()
        drains = ChatDrains(app, storage, worker)
        await storage.record_update(1, json.dumps(payload))
        async with app:
            await app.start()
            try:
                with caplog.at_level(logging.WARNING, logger="bot.workers"):
                    drains.arrived(601)
                    for _ in range(100):  # 10 s at most
                        await asyncio.sleep(0.1)
                        await drains.sweep()
                        if not await storage.unfinished_updates():
                            break
            finally:
                await app.stop()

    assert calls == 2
    assert not await _unfinished(database)
    stalled = [r.getMessage() for r in caplog.records if "in hand for" in r.getMessage()]
    assert len(stalled) == 1
    assert "waiting at tests/test_workers.py:" in stalled[0]
    assert "in handle, at asyncio/locks.py" in stalled[0]
    assert any("giving up a stalled drain" in r.getMessage() for r in caplog.records)


async def _unfinished(database: Path) -> list[int]:
    async with SQLiteStorage(database) as storage:
        return [stored.update_id for stored in await storage.unfinished_updates()]
