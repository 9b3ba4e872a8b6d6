"""The whole SQLite installation table by table, for `whatmatters db copy` (storage.tables)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from storage.errors import StorageError
from storage.interfaces import Loader
from storage.sqlite.base import SQLiteBase, _moment, _stamp
from storage.tables import TABLES, Kind, Table


def _plain(kind: Kind, value: Any) -> Any:
    """A stored value as the plain Python value every backend understands."""
    if value is None:
        return None
    if kind == "time":
        return _moment(value)
    if kind == "bool":
        return bool(value)
    return value


def _stored(kind: Kind, value: Any) -> Any:
    """A plain Python value as SQLite stores it."""
    if value is None:
        return None
    if kind == "time":
        assert isinstance(value, datetime)
        return _stamp(value)
    if kind == "bool":
        return int(value)
    return value


class SQLitePortable(SQLiteBase):
    """Implements `storage.interfaces.Portable`."""

    async def schema_version(self) -> int:
        """The number of the latest migration applied."""
        row = await self._fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def table_names(self) -> set[str]:
        """The tables of whatmatters' data in the file."""
        rows = await self._fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {row[0] for row in rows}

    async def row_counts(self) -> dict[str, int]:
        """How many rows each table of `TABLES` holds."""
        counts = {}
        for table in TABLES:
            row = await self._fetchone(f"SELECT COUNT(*) FROM {table.name}")
            counts[table.name] = int(row[0]) if row else 0
        return counts

    async def rows(self, table: Table, batch: int = 2000) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every row of a table, in batches, in the order of its key."""
        kinds = [kind for _, kind in table.columns]
        order = ", ".join(table.names[:1] if table.has_id else table.names)
        async with self._lock:
            try:
                cursor = await self.db.execute(
                    f"SELECT {', '.join(table.names)} FROM {table.name} ORDER BY {order}"
                )
                while found := await cursor.fetchmany(batch):
                    yield [
                        tuple(_plain(kind, value) for kind, value in zip(kinds, row, strict=True))
                        for row in found
                    ]
            except sqlite3.Error as error:
                raise StorageError(str(error)) from error

    @asynccontextmanager
    async def loading(self) -> AsyncIterator[Loader]:
        """One transaction to load copied rows in (ids kept as they are)."""
        async with self._transaction() as db:

            async def load(table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
                kinds = [kind for _, kind in table.columns]
                await db.executemany(
                    f"INSERT INTO {table.name} ({', '.join(table.names)})"
                    f" VALUES ({', '.join('?' for _ in kinds)})",
                    [
                        tuple(_stored(kind, value) for kind, value in zip(kinds, row, strict=True))
                        for row in rows
                    ],
                )

            yield load
