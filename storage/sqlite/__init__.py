"""The SQLite backend: every part of storage in one SQLite file (aiosqlite, WAL).

`SQLiteStorage` is composed of one mixin per part (`storage.interfaces`) over a shared base that
holds the connection. What only SQLite has (online backup, `restore`, PRAGMAs) stays here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import aiosqlite

from storage.clock import Clock, utc_now
from storage.sqlite.actions import SQLiteActions
from storage.sqlite.answers import SQLiteAnswers
from storage.sqlite.base import SQLiteBase, migrations
from storage.sqlite.corrections import SQLiteCorrections
from storage.sqlite.flows import SQLiteFlows
from storage.sqlite.inbox import SQLiteInbox
from storage.sqlite.outbox import SQLiteOutbox
from storage.sqlite.portable import SQLitePortable
from storage.sqlite.residents import SQLiteResidents
from storage.sqlite.staff import SQLiteStaffAndAudit
from storage.sqlite.threads import SQLiteThreads
from storage.sqlite.web import SQLiteDashboard
from storage.sqlite.workers import SQLiteWorkers

__all__ = ["Clock", "SQLiteBase", "SQLiteStorage", "migrations", "restore", "utc_now"]


class SQLiteStorage(
    SQLiteInbox,
    SQLiteWorkers,
    SQLiteActions,
    SQLiteThreads,
    SQLiteCorrections,
    SQLiteResidents,
    SQLiteAnswers,
    SQLiteFlows,
    SQLiteStaffAndAudit,
    SQLiteOutbox,
    SQLitePortable,
    SQLiteDashboard,
):
    """Everything durable, in one SQLite file: residents, sessions, answers, updates, flows."""

    async def backup(self, target: Path) -> None:
        """A consistent copy of the whole database, taken while the bot goes on (online backup)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock, aiosqlite.connect(target) as copy:
            await self.db.backup(copy)


def restore(backup: Path, database: Path) -> None:
    """Put a backup back in place of the database (the bot must not be running).

    The backup is checked first: a file that is not a sound whatmatters database changes nothing.
    """
    try:
        with contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source:
            version = source.execute("PRAGMA user_version").fetchone()[0]
            sound = source.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            if not sound or version < 1:
                raise ValueError(f"{backup} is not a whatmatters database")
            with contextlib.closing(sqlite3.connect(database)) as target:
                source.backup(target)
    except sqlite3.DatabaseError:
        raise ValueError(f"{backup} is not a whatmatters database") from None
