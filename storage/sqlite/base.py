"""The SQLite backend's shared base: one aiosqlite connection in WAL mode, its lock, units of
work, migrations and time stamps. Each part of storage is a mixin over this base.

Every read and write takes an asyncio lock so that concurrent handlers never interleave
statements inside one another's transactions. sqlite3's errors are translated here, at the
edges (opening, and every unit of work), into `storage.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from storage.clock import Clock, utc_now
from storage.errors import StorageError, StorageUnavailable
from storage.models import OutgoingMessage


def _stamp(moment: datetime) -> str:
    # Stored as UTC ISO-8601 text so that string order is time order.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _joined(values: Iterable[str]) -> str:
    return ";".join(values)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


def migrations() -> list[tuple[int, str]]:
    """The numbered schema migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SQLiteBase:
    """The connection, its lock and the units of work every part of the SQLite backend shares."""

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect, switch to WAL and apply any migrations not yet applied."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: transactions are begun explicitly, as BEGIN IMMEDIATE.
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._migrate()
        except sqlite3.Error as error:
            await self.close()
            raise StorageUnavailable(f"cannot open the database {self.path}: {error}") from error

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def now(self) -> datetime:
        """The time by storage's clock (tests move it by hand)."""
        return self._clock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    async def _migrate(self) -> None:
        async with self._lock:
            row = await (await self.db.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            for number, script in migrations():
                if number <= current:
                    continue
                # executescript commits on its own; the version is bumped inside the script.
                await self.db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One unit of work: committed whole, or rolled back and reported as a StorageError."""
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise StorageError(str(error)) from error
            except BaseException:
                # Cancelled while BEGIN waited for another writer: it still runs on the
                # connection's thread, so end it there rather than leave it open for the next.
                with contextlib.suppress(sqlite3.Error):
                    await self.db.execute("ROLLBACK")
                raise
            try:
                yield self.db
            except BaseException as failure:
                await self.db.execute("ROLLBACK")
                if isinstance(failure, sqlite3.Error):
                    raise StorageError(str(failure)) from failure
                raise
            try:
                await self.db.execute("COMMIT")
            except sqlite3.Error as error:
                with contextlib.suppress(sqlite3.Error):
                    await self.db.execute("ROLLBACK")
                raise StorageError(str(error)) from error

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._lock:
            try:
                cursor = await self.db.execute(sql, tuple(params))
                row: sqlite3.Row | None = await cursor.fetchone()
            except sqlite3.Error as error:
                raise StorageError(str(error)) from error
            return row

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            try:
                rows = await self.db.execute_fetchall(sql, tuple(params))
            except sqlite3.Error as error:
                raise StorageError(str(error)) from error
            return list(rows)

    async def _insert_outgoing(
        self, db: aiosqlite.Connection, messages: Iterable[OutgoingMessage]
    ) -> int:
        moment = self._clock()
        now = _stamp(moment)
        # One statement for the lot: a broadcast or an action can queue thousands at once.
        cursor = await db.executemany(
            "INSERT OR IGNORE INTO outbox (key, chat_id, method, text, filename,"
            " attachment, created_at, not_before, resident_id, markup, priority)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    message.key,
                    message.chat_id,
                    message.method,
                    message.text,
                    message.filename,
                    message.attachment,
                    now,
                    _stamp(moment + timedelta(seconds=message.delay)) if message.delay else now,
                    message.resident_id,
                    message.markup,
                    message.priority,
                )
                for message in messages
            ],
        )
        return max(cursor.rowcount, 0)
