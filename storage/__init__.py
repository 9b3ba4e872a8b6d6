"""Everything durable: residents under pseudonyms, sessions, answers, raw updates and flows.

The rest of the code sees the Protocols of `storage.interfaces` and the records of
`storage.models`; `open_storage` picks the backend from the database's URL or path: a file
(or `sqlite:///path`) is SQLite, `postgresql://user@host:port/db` is PostgreSQL (asyncpg,
imported only when such a URL is opened).
"""

from __future__ import annotations

from pathlib import Path

from storage.clock import Clock, utc_now
from storage.errors import AlreadyHandled, StorageError, StorageUnavailable
from storage.interfaces import (
    Actions,
    Answers,
    Clocked,
    Corrections,
    Flows,
    Inbox,
    OutboxQueue,
    Portable,
    Residents,
    StaffAndAudit,
    Storage,
    Threads,
    Workers,
)
from storage.models import (
    ExportRow,
    FlowVersion,
    NewAnswer,
    RecordedUpdate,
    Resident,
    Session,
    Turn,
    UpdateStatus,
)
from storage.sqlite import SQLiteStorage

__all__ = [
    "Actions",
    "AlreadyHandled",
    "Answers",
    "Clock",
    "Clocked",
    "Corrections",
    "ExportRow",
    "FlowVersion",
    "Flows",
    "Inbox",
    "NewAnswer",
    "OutboxQueue",
    "Portable",
    "RecordedUpdate",
    "Resident",
    "Residents",
    "SQLiteStorage",
    "Session",
    "StaffAndAudit",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "Threads",
    "Turn",
    "UpdateStatus",
    "Workers",
    "is_postgresql",
    "open_storage",
    "restore",
    "shown",
    "sqlite_path",
    "utc_now",
]

_POSTGRESQL = ("postgresql://", "postgres://")
_SQLITE = "sqlite:///"


def is_postgresql(url_or_path: str | Path) -> bool:
    """Whether a database setting names a PostgreSQL database (rather than a SQLite file)."""
    return str(url_or_path).startswith(_POSTGRESQL)


def sqlite_path(url_or_path: str | Path) -> Path:
    """The SQLite file a database setting names (StorageError for anything else)."""
    text = str(url_or_path)
    if is_postgresql(text):
        raise StorageError(f"{text.partition('://')[0]} is not a SQLite file")
    if text.startswith(_SQLITE):
        return Path(text.removeprefix(_SQLITE))
    if "://" in text:
        raise StorageError(f"unknown kind of database: {text.partition('://')[0]}")
    return Path(url_or_path)


def shown(url_or_path: str | Path) -> str:
    """A database setting fit to print: a URL's password left out."""
    text = str(url_or_path)
    scheme, found, rest = text.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not found or not at:
        return text
    return f"{scheme}://{credentials.partition(':')[0]}@{place}"


def open_storage(url_or_path: str | Path, *, clock: Clock = utc_now) -> Storage:
    """Storage for a database setting: a file path (or `sqlite:///path`) means SQLite, a
    `postgresql://` URL means PostgreSQL.

    Not yet connected: use it as an async context manager, or call `open` and `close`.
    """
    if is_postgresql(url_or_path):
        from storage.postgres import PostgresStorage

        return PostgresStorage(str(url_or_path), clock=clock)
    return SQLiteStorage(sqlite_path(url_or_path), clock=clock)


def restore(backup: Path, database: str | Path) -> None:
    """Put a backup file back in place of the database (the bot must not be running).

    A file that is not a sound whatmatters database changes nothing (ValueError); so does a
    PostgreSQL database, which pg_restore puts back.
    """
    if is_postgresql(database):
        from storage.postgres import BACKUP_ADVICE

        raise ValueError(BACKUP_ADVICE)
    from storage.sqlite import restore as restore_sqlite

    restore_sqlite(backup, sqlite_path(database))
