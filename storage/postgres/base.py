"""The PostgreSQL backend's shared base: a pool of asyncpg connections, units of work,
migrations and time stamps. Each part of storage is a mixin over this base.

Every unit of work runs on one connection of the pool inside `conn.transaction()`, so several
workers (and several processes) share the database safely; asyncpg's errors are translated
here, at the edges (opening, and every unit of work), into `storage.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from types import TracebackType
from typing import Any, Self

import asyncpg

from storage.clock import Clock, utc_now
from storage.errors import StorageError, StorageUnavailable
from storage.models import OutgoingMessage

# asyncpg ships no type hints: its connections and records are plain `Any` to mypy.
Connection = Any
Record = Any

# Held while migrations run, so that workers starting at once apply each one once.
MIGRATION_LOCK = 0x77686174  # "what"

# Errors that mean the server is out of reach rather than that it refused a statement.
_UNREACHABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)


def _stamp(moment: datetime) -> str:
    """A time as the SQLite backend writes it (for /mydata, so both backends say the same)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _joined(values: Iterable[str]) -> str:
    return ";".join(values)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


def _count(status: str) -> int:
    """The number of rows a command touched, from its status line (e.g. "DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


def migrations() -> list[tuple[int, str]]:
    """The numbered PostgreSQL migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").joinpath("postgres").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def translated(error: BaseException) -> StorageError:
    """The project's own error for one of asyncpg's (or the network's)."""
    if isinstance(error, _UNREACHABLE):
        return StorageUnavailable(f"the PostgreSQL server cannot be reached: {error}")
    return StorageError(str(error))


class PostgresBase:
    """The pool and the units of work every part of the PostgreSQL backend shares."""

    def __init__(self, url: str, *, clock: Clock = utc_now, pool_size: int = 10) -> None:
        self.url = url
        self._clock = clock
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Connect and apply any migrations not yet applied (under an advisory lock)."""
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self._pool_size, command_timeout=60
            )
            await self._migrate()
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            await self.close()
            raise StorageUnavailable(
                f"cannot open the database {self.display_url}: {error}"
            ) from error

    async def close(self) -> None:
        """Close the pool; safe to call twice."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

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
    def display_url(self) -> str:
        """The URL without its password, fit for messages and logs."""
        from storage import shown

        return shown(self.url)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("storage is not open")
        return self._pool

    async def _migrate(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                applied = {
                    row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")
                }
                for number, script in migrations():
                    if number in applied:
                        continue
                    async with conn.transaction():
                        await conn.execute(script)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version) VALUES ($1)", number
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def schema_version(self) -> int:
        """The number of the latest migration applied."""
        value = await self._fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return int(value)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        """One unit of work: committed whole, or rolled back and reported as a StorageError."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            raise translated(error) from error

    async def _fetchone(self, sql: str, *params: Any) -> Record | None:
        try:
            return await self.pool.fetchrow(sql, *params)
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            raise translated(error) from error

    async def _fetchall(self, sql: str, *params: Any) -> list[Record]:
        try:
            return list(await self.pool.fetch(sql, *params))
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            raise translated(error) from error

    async def _fetchval(self, sql: str, *params: Any) -> Any:
        try:
            return await self.pool.fetchval(sql, *params)
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            raise translated(error) from error

    async def _insert_outgoing(self, conn: Connection, messages: Iterable[OutgoingMessage]) -> int:
        """Queue messages in one statement, in the order given (ids follow it); a key already
        queued is left as it is. How many were new."""
        batch: Sequence[OutgoingMessage] = list(messages)
        if not batch:
            return 0
        now = self._clock()
        rows = await conn.fetch(
            "INSERT INTO outbox (key, chat_id, method, text, filename, attachment, created_at,"
            " not_before, resident_id, markup, priority)"
            " SELECT m.key, m.chat_id, m.method, m.text, m.filename, m.attachment,"
            " $10::timestamptz, $10::timestamptz + make_interval(secs => m.delay),"
            " m.resident_id, m.markup, m.priority"
            " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],"
            " $6::bytea[], $7::bigint[], $8::text[], $9::integer[], $11::float8[])"
            " WITH ORDINALITY AS m (key, chat_id, method, text, filename, attachment,"
            " resident_id, markup, priority, delay, n) ORDER BY m.n"
            " ON CONFLICT (key) DO NOTHING RETURNING id",
            [m.key for m in batch],
            [m.chat_id for m in batch],
            [m.method for m in batch],
            [m.text for m in batch],
            [m.filename for m in batch],
            [m.attachment for m in batch],
            [m.resident_id for m in batch],
            [m.markup for m in batch],
            [m.priority for m in batch],
            now,
            [m.delay for m in batch],
        )
        return len(rows)
