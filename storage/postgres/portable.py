"""The whole PostgreSQL installation table by table, for `whatmatters db copy` (storage.tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.interfaces import Loader
from storage.postgres.base import _UNREACHABLE, PostgresBase, translated
from storage.tables import TABLES, Table


class PostgresPortable(PostgresBase):
    """Implements `storage.interfaces.Portable`."""

    async def table_names(self) -> set[str]:
        """The tables of whatmatters' data in the database (not `schema_migrations`)."""
        rows = await self._fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " AND table_name != 'schema_migrations'"
        )
        return {row[0] for row in rows}

    async def row_counts(self) -> dict[str, int]:
        """How many rows each table of `TABLES` holds."""
        return {
            table.name: int(await self._fetchval(f"SELECT COUNT(*) FROM {table.name}"))
            for table in TABLES
        }

    async def rows(self, table: Table, batch: int = 2000) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every row of a table, in batches, in the order of its key (through a cursor)."""
        order = ", ".join(table.names[:1] if table.has_id else table.names)
        # jsonb comes out as text, as it went in; times as aware datetimes, bytea as bytes.
        columns = ", ".join(
            f"{name}::text" if kind == "json" else name for name, kind in table.columns
        )
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                found: list[tuple[Any, ...]] = []
                async for record in conn.cursor(
                    f"SELECT {columns} FROM {table.name} ORDER BY {order}", prefetch=batch
                ):
                    found.append(tuple(record))
                    if len(found) == batch:
                        yield found
                        found = []
                if found:
                    yield found
        except (asyncpg.PostgresError, *_UNREACHABLE) as error:
            raise translated(error) from error

    @asynccontextmanager
    async def loading(self) -> AsyncIterator[Loader]:
        """One transaction to load copied rows in, with COPY; afterwards each table that numbers
        its rows carries on after the highest id copied."""
        async with self._transaction() as conn:

            async def load(table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
                await conn.copy_records_to_table(table.name, records=rows, columns=table.names)

            yield load
            for table in TABLES:
                if table.has_id:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                    )
