"""Everything durable: residents under pseudonyms, sessions, answers, raw updates and flows."""

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
from storage.sqlite import SQLiteStorage, utc_now

__all__ = [
    "ExportRow",
    "FlowVersion",
    "NewAnswer",
    "RecordedUpdate",
    "Resident",
    "SQLiteStorage",
    "Session",
    "Turn",
    "UpdateStatus",
    "utc_now",
]
