"""`whatmatters db migrate` and `db copy FROM TO`: a whole installation moves from SQLite to
PostgreSQL and back, every row and id kept, and a target holding data is refused."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage import open_storage
from storage.tables import NOT_COPIED, TABLES
from tests.installation import every_row, fill
from tests.postgres_server import TEMPLATE, PostgresServer


async def _filled(database: str) -> None:
    async with open_storage(database) as storage:
        await fill(storage)


async def _rows(database: str) -> dict[str, list[tuple[object, ...]]]:
    async with open_storage(database) as storage:
        return await every_row(storage)


def _whatmatters(monkeypatch: pytest.MonkeyPatch, database: str, *args: str) -> int:
    monkeypatch.setenv("WHATMATTERS_DATABASE", database)
    return main(list(args))


@pytest.fixture
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the command line where no .env file is read."""
    monkeypatch.chdir(tmp_path)
    for name in ("WHATMATTERS_DATABASE", "WHATMATTERS_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("_no_env_file")
def test_an_installation_goes_to_postgresql_and_back_unchanged(
    tmp_path: Path,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SQLite → PostgreSQL → SQLite keeps every row of every table, ids and all, and the export."""
    original = str(tmp_path / "original.db")
    returned = str(tmp_path / "returned.db")
    asyncio.run(_filled(original))
    empty = postgres_server.new_database(migrated=False)
    try:
        assert _whatmatters(monkeypatch, empty, "db", "migrate") == 0
        assert "schema at migration 16" in capsys.readouterr().out
        assert main(["db", "copy", original, empty]) == 0
        printed = capsys.readouterr().out
        assert re.search(r"^answers +6$", printed, re.MULTILINE)
        assert "every table's count matches" in printed
        assert main(["db", "copy", empty, returned]) == 0
        capsys.readouterr()

        before, on_postgres, after = (asyncio.run(_rows(db)) for db in (original, empty, returned))
        assert all(before[table.name] for table in TABLES), "fill() leaves a table empty"
        assert on_postgres == before
        assert after == before

        exports = []
        for database in (original, empty, returned):
            assert _whatmatters(monkeypatch, database, "export", "--format", "jsonl") == 0
            exports.append(capsys.readouterr().out)
        assert exports[0].count("\n") == 6
        assert exports[1] == exports[0]
        assert exports[2] == exports[0]
    finally:
        postgres_server.drop(empty)


@pytest.mark.usefixtures("_no_env_file")
def test_a_copy_carries_on_numbering_after_the_copied_ids(
    tmp_path: Path, postgres_url: str
) -> None:
    """After a copy into PostgreSQL, the next resident and message take the next ids."""
    original = str(tmp_path / "original.db")
    asyncio.run(_filled(original))
    assert main(["db", "copy", original, postgres_url]) == 0

    async def newcomer() -> tuple[int, int]:
        async with open_storage(postgres_url) as storage:
            resident = await storage.resident(999, 999)
            return resident.id, (await storage.row_counts())["residents"]

    assert asyncio.run(newcomer()) == (4, 4)


@pytest.mark.usefixtures("_no_env_file")
def test_a_target_that_holds_data_is_refused(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Copying into a database that already holds data changes nothing and says why, in a line."""
    original = str(tmp_path / "original.db")
    asyncio.run(_filled(original))
    assert main(["db", "copy", original, postgres_url]) == 0
    capsys.readouterr()
    before = asyncio.run(_rows(postgres_url))
    assert main(["db", "copy", original, postgres_url]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "already holds data" in error
    assert asyncio.run(_rows(postgres_url)) == before
    other = str(tmp_path / "other.db")
    asyncio.run(_filled(other))
    assert main(["db", "copy", postgres_url, other]) == 1
    assert "already holds data" in capsys.readouterr().err


@pytest.mark.usefixtures("_no_env_file")
def test_backup_and_restore_on_postgresql_point_to_pg_dump(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`backup` and `restore` on PostgreSQL say, in one line, to use pg_dump and pg_restore."""
    target = tmp_path / "copy.db"
    assert _whatmatters(monkeypatch, postgres_url, "backup", str(target)) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "pg_dump" in error
    assert not target.exists()
    assert _whatmatters(monkeypatch, postgres_url, "restore", str(target)) == 1
    assert "pg_restore" in capsys.readouterr().err


def test_every_table_and_column_of_both_schemas_is_one_the_copy_moves(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """storage/tables.py names exactly the tables and columns both schemas have (a migration that
    adds one must add it there, or the copy would leave it behind)."""
    listed = {f"{table.name}.{column}" for table in TABLES for column in table.names}
    sqlite_file = tmp_path / "schema.db"
    asyncio.run(_rows(str(sqlite_file)))  # opening applies the migrations
    with contextlib.closing(sqlite3.connect(sqlite_file)) as db:
        names = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if row[0] not in NOT_COPIED
        ]
        in_sqlite = {
            f"{name}.{row[1]}" for name in names for row in db.execute(f"PRAGMA table_info({name})")
        }
    in_postgres = set(
        postgres_server.query(
            TEMPLATE,
            "SELECT table_name || '.' || column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND is_generated = 'NEVER'"
            " AND table_name != 'schema_migrations'"
            f" AND table_name NOT IN ({', '.join(repr(name) for name in sorted(NOT_COPIED))})",
        )
    )
    assert in_sqlite == listed
    assert in_postgres == listed
