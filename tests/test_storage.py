"""Storage: migrations, residents under pseudonyms, turns committed whole, updates once."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import NewAnswer, SQLiteStorage, StorageError, Turn, UpdateStatus
from storage.models import OutgoingMessage
from storage.sqlite import migrations
from tests.clock import HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
async def storage(tmp_path: Path, clock: HandClock) -> AsyncIterator[SQLiteStorage]:
    async with SQLiteStorage(tmp_path / "test.db", clock=clock) as opened:
        yield opened


def _turn(resident_id: int, session_id: int | None, **changes: object) -> Turn:
    fields: dict[str, object] = {
        "resident_id": resident_id,
        "session_id": session_id,
        "flow_id": "what-matters",
        "flow_version": 1,
        "step_id": "matters",
        "status": "active",
        "state": "{}",
    }
    fields.update(changes)
    return Turn(**fields)  # type: ignore[arg-type]


async def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    """Opening a database applies every migration and records the schema version in it."""
    path = tmp_path / "m.db"
    async with SQLiteStorage(path):
        pass
    async with SQLiteStorage(path):  # a second start must not re-apply anything
        pass
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_resident_keeps_one_pseudonym_and_no_telegram_name(
    storage: SQLiteStorage,
) -> None:
    """The same Telegram user is always the same resident, under a random pseudonym."""
    first = await storage.resident(111, 111)
    again = await storage.resident(111, 111)
    other = await storage.resident(222, 222)
    assert first.id == again.id
    assert first.pseudonym == again.pseudonym
    assert first.pseudonym != other.pseudonym
    assert "111" not in first.pseudonym
    with sqlite3.connect(storage.path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(residents)")}
    assert not columns & {"first_name", "last_name", "username", "name"}


async def test_a_turn_commits_answer_session_and_update_together(storage: SQLiteStorage) -> None:
    """An answer, the session's new step and the update being processed are stored as one."""
    resident = await storage.resident(111, 111)
    assert (await storage.record_update(5, "{}")).status == UpdateStatus.NEW
    session = await storage.save_turn(
        _turn(
            resident.id,
            None,
            step_id="next",
            answer=NewAnswer("matters", "What matters?", "The bins", follow_up_consent=True),
            update_id=5,
            replies="[]",
        )
    )
    assert (await storage.active_session(resident.id)) == session
    assert await storage.count_answers(resident.id) == 1
    assert (await storage.resident(111, 111)).follow_up_consent is True
    repeat = await storage.record_update(5, "{}")
    assert repeat.status == UpdateStatus.UNREPLIED
    assert repeat.replies == "[]"
    await storage.mark_replied(5)
    assert (await storage.record_update(5, "{}")).status == UpdateStatus.DONE


async def test_a_failed_turn_stores_nothing(storage: SQLiteStorage) -> None:
    """If any part of a turn fails, neither the answer nor the session changes."""
    resident = await storage.resident(111, 111)
    await storage.record_update(7, "{}")
    await storage.save_turn(_turn(resident.id, None, answer=NewAnswer("a", "Q", "x"), update_id=7))
    with pytest.raises(StorageError):
        # The same update cannot carry a second answer.
        await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("b", "Q", "y"), update_id=7)
        )
    assert await storage.count_answers() == 1
    session = await storage.active_session(resident.id)
    assert session is not None
    assert session.id == 1


async def test_an_update_recorded_but_not_processed_is_processed_again(
    storage: SQLiteStorage,
) -> None:
    """An update kept before a crash, but not processed, is reported as still to do."""
    assert (await storage.record_update(9, "{}")).status == UpdateStatus.NEW
    assert (await storage.record_update(9, "{}")).status == UpdateStatus.UNPROCESSED


async def test_export_gives_pseudonyms_and_filters_by_time(
    storage: SQLiteStorage, clock: HandClock
) -> None:
    """Export rows name residents by pseudonym only, and `since` leaves out older answers."""
    resident = await storage.resident(111, 111)
    session = await storage.save_turn(_turn(resident.id, None, answer=NewAnswer("a", "Q1", "old")))
    clock.now += timedelta(days=3)
    await storage.save_turn(_turn(resident.id, session.id, answer=NewAnswer("b", "Q2", "new")))
    rows = await storage.export_rows()
    assert [row.answer for row in rows] == ["old", "new"]
    assert {row.resident for row in rows} == {resident.pseudonym}
    recent = await storage.export_rows(since=clock.now - timedelta(days=1))
    assert [row.answer for row in recent] == ["new"]
    assert recent[0].answered_at == clock.now


async def test_publishing_a_flow_adds_a_version(storage: SQLiteStorage) -> None:
    """Each publish makes a new version; the newest is live and older ones stay readable."""
    first = await storage.publish_flow("what-matters", "id: what-matters\n")
    second = await storage.publish_flow("what-matters", "id: what-matters # v2\n")
    assert (first.version, second.version) == (1, 2)
    live = await storage.live_flow("what-matters")
    assert live is not None
    assert live.version == 2
    old = await storage.flow_version("what-matters", 1)
    assert old is not None
    assert old.source == "id: what-matters\n"
    assert [f.version for f in await storage.live_flows()] == [2]


async def test_stopped_and_blocked_are_remembered(storage: SQLiteStorage) -> None:
    """A resident's /stop and a blocked bot are stored, and can be undone."""
    resident = await storage.resident(111, 111)
    await storage.set_stopped(resident.id, True)
    await storage.set_blocked(resident.id, True)
    marked = await storage.resident(111, 111)
    assert (marked.stopped, marked.blocked) == (True, True)
    await storage.set_stopped(resident.id, False)
    assert (await storage.resident(111, 111)).stopped is False


async def test_retention_deletes_only_answers_older_than_the_period(
    storage: SQLiteStorage, clock: HandClock
) -> None:
    """Answers (and raw messages) older than WHATMATTERS_RETENTION_DAYS go; newer ones stay."""
    from bot.app import apply_retention

    resident = await storage.resident(111, 111)
    await storage.record_update(1, "{}")
    session = await storage.save_turn(_turn(resident.id, None, answer=NewAnswer("a", "Q", "old")))
    clock.now += timedelta(days=700)
    await storage.save_turn(_turn(resident.id, session.id, answer=NewAnswer("b", "Q", "new")))
    clock.now += timedelta(days=31)  # the first answer is now 731 days old
    assert await apply_retention(storage, 730) == 1
    assert [row.answer for row in await storage.export_rows()] == ["new"]
    assert (await storage.record_update(1, "{}")).status == UpdateStatus.NEW  # raw message gone
    assert await apply_retention(storage, 730) == 0


async def test_retention_deletes_messages_sent_long_ago_from_the_outbox(
    storage: SQLiteStorage, clock: HandClock
) -> None:
    """A digest or alert that went out over the period ago goes; one still waiting stays."""
    from bot.app import apply_retention

    await storage.enqueue([OutgoingMessage("d:1:7", 7, "sendMessage", "quotes of last year")])
    (sent,) = await storage.claim_due()
    await storage.mark_sent(sent.id)
    clock.now += timedelta(days=731)
    await storage.enqueue([OutgoingMessage("d:2:7", 7, "sendMessage", "waiting")])
    await apply_retention(storage, 730)
    assert [message.key for message in await storage.claim_due()] == ["d:2:7"]
    assert await storage.sent_keys() == []
