"""A bot process killed with SIGKILL at random moments loses and duplicates no answer."""

from __future__ import annotations

from pathlib import Path

from bench.crash import run
from tests.fake_telegram import FakeTelegram


async def test_every_answer_is_exported_once_after_ten_sigkills_during_fifty_conversations(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """50 residents answer while `whatmatters run` is killed and restarted 10 times."""
    outcome = await run(tg, tmp_path, residents=50, rounds=10, seed=7, reply_timeout=45.0)

    assert outcome.kills == 10
    assert not outcome.stuck, outcome.report()
    assert len(outcome.sent) >= 500, outcome.report()  # the kills fell amid real work
    assert outcome.lost == [], outcome.report()
    assert outcome.duplicated == [], outcome.report()
    assert outcome.unexpected == [], outcome.report()
    assert outcome.misplaced == [], outcome.report()
    assert sum(outcome.stored.values()) == len(outcome.sent)
