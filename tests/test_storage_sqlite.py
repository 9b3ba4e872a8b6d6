"""What only the SQLite backend has: migrations in PRAGMA user_version, WAL, its schema's columns.

What every backend promises is checked in test_storage_contract.py; backup and restore in
test_backup.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import SQLiteStorage, StorageUnavailable
from storage.sqlite import migrations


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


async def test_residents_have_no_column_for_a_telegram_name(tmp_path: Path) -> None:
    """The residents table has nowhere to keep a Telegram name or username."""
    path = tmp_path / "r.db"
    async with SQLiteStorage(path) as storage:
        await storage.resident(111, 111)
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(residents)")}
    assert not columns & {"first_name", "last_name", "username", "name"}


async def test_a_file_that_is_not_a_database_cannot_be_opened(tmp_path: Path) -> None:
    """Opening something that is not SQLite raises the project's own error, not sqlite3's."""
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database, just some text of sufficient length" * 20)
    with pytest.raises(StorageUnavailable):
        async with SQLiteStorage(path):
            pass


async def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    """A write cancelled while another process holds the database (a stalled update given up,
    a stop) must not leave its BEGIN behind on the connection: the writes after it still work."""
    path = tmp_path / "c.db"
    async with SQLiteStorage(path) as storage:
        await storage.record_update(1, '{"update_id": 1}')
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing, for a while
        try:
            waiting = asyncio.create_task(storage.mark_processed(1))
            await asyncio.sleep(0.3)  # the write is waiting for the lock
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        finally:
            other.execute("ROLLBACK")
            other.close()
        await asyncio.sleep(0.3)  # the cancelled BEGIN has got the lock by now, if it kept it
        await storage.mark_processed(1)
        assert not await storage.unfinished_updates()
