"""The bot itself on PostgreSQL: a resident's conversation through the local Bot API server, and
the crash run (SIGKILL while residents answer) losing and repeating nothing."""

from __future__ import annotations

from pathlib import Path

from bench.crash import run
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, said, settings_for


async def test_a_resident_is_answered_and_heard_on_postgresql(
    tg: FakeTelegram, postgres_url: str
) -> None:
    """On PostgreSQL the bot asks, stores the answer once, and still knows it after a restart."""
    bot = RunningBot(tg, settings_for(tg, postgres_url))
    await bot.start()
    try:
        sam = tg.resident(501)
        sam.send("/start")
        await said(sam)
        sam.press("Yes")
        await said(sam)
        sam.send("A bench by the bus stop")
        await said(sam)
        await bot.restart()
        assert [row.answer for row in await bot.storage.export_rows()] == [
            "A bench by the bus stop"
        ]
        assert await bot.storage.unfinished_updates() == []
    finally:
        await bot.stop()


async def test_every_answer_is_stored_once_when_the_bot_is_killed_on_postgresql(
    tg: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """20 residents answer while `whatmatters run` on PostgreSQL is SIGKILLed 5 times."""
    outcome = await run(
        tg, tmp_path, residents=20, rounds=5, seed=11, reply_timeout=45.0, database=postgres_url
    )

    assert outcome.kills == 5
    assert not outcome.stuck, outcome.report()
    assert len(outcome.sent) >= 60, outcome.report()
    assert outcome.lost == [], outcome.report()
    assert outcome.duplicated == [], outcome.report()
    assert outcome.unexpected == [], outcome.report()
    assert outcome.misplaced == [], outcome.report()
    assert sum(outcome.stored.values()) == len(outcome.sent)
