"""A clock for `SQLiteStorage(clock=...)` that moves only when a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime


class HandClock:
    """Tells the time it was set to; a test moves it with `clock.now += timedelta(...)`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now
