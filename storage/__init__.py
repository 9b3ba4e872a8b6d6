"""Everything durable: residents under pseudonyms, sessions, answers, raw updates and flows.

The rest of the code sees the Protocols of `storage.interfaces` and the records of
`storage.models`; `open_storage` picks the backend from the database's URL or path.
"""

from __future__ import annotations

from pathlib import Path

from storage.clock import Clock, utc_now
from storage.errors import StorageError, StorageUnavailable
from storage.interfaces import (
    Actions,
    Answers,
    Clocked,
    Corrections,
    Flows,
    Inbox,
    OutboxQueue,
    Residents,
    StaffAndAudit,
    Storage,
    Threads,
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
    "open_storage",
    "restore",
    "utc_now",
]

_POSTGRESQL = ("postgresql:", "postgres:")
_SQLITE = "sqlite:///"


def _sqlite_path(url_or_path: str | Path) -> Path:
    """The SQLite file a database setting names; PostgreSQL URLs are refused for now."""
    # A Path collapses the URL's "//", so the scheme is all that is looked at.
    text = str(url_or_path)
    if text.startswith(_POSTGRESQL):
        raise StorageError("PostgreSQL support is not built yet")
    if text.startswith(_SQLITE):
        return Path(text.removeprefix(_SQLITE))
    if "://" in text:
        raise StorageError(f"unknown kind of database: {text.partition('://')[0]}")
    return Path(url_or_path)


def open_storage(url_or_path: str | Path, *, clock: Clock = utc_now) -> Storage:
    """Storage for a database setting: a file path (or `sqlite:///path`) means SQLite.

    Not yet connected: use it as an async context manager, or call `open` and `close`.
    """
    return SQLiteStorage(_sqlite_path(url_or_path), clock=clock)


def restore(backup: Path, database: str | Path) -> None:
    """Put a backup file back in place of the database (the bot must not be running).

    A file that is not a sound whatmatters database changes nothing (ValueError).
    """
    from storage.sqlite import restore as restore_sqlite

    restore_sqlite(backup, _sqlite_path(database))
