"""Several webhook workers on one PostgreSQL database, behind a round-robin proxy: each sender's
updates handled once and in order whichever worker gets them, killed workers' work taken over,
the scheduled jobs run once."""

from __future__ import annotations

from pathlib import Path

from bench.crash import run
from tests.fake_telegram import FakeTelegram


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
