"""Fixtures shared by the tests: the local Bot API server and the real bot polling it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import Storage, open_storage
from tests.clock import HandClock
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, settings_for

# The Telegram user id of the admin in tests that need one.
ADMIN = 900


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22.8 warns when time periods are read as ints; opt in to timedelta, as the bot does."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A local Bot API server on 127.0.0.1."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A fresh database file for the test."""
    return tmp_path / "whatmatters.db"


@pytest.fixture
async def bot(tg: FakeTelegram, database: Path) -> AsyncIterator[RunningBot]:
    """The real bot, polling the local server, on a fresh database."""
    running = RunningBot(tg, settings_for(tg, database))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def admin_bot(tg: FakeTelegram, database: Path) -> AsyncIterator[RunningBot]:
    """The real bot, with one admin (ADMIN)."""
    running = RunningBot(tg, settings_for(tg, database, admins=[ADMIN]))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def clock() -> HandClock:
    """A clock that moves only when the test moves it (tests may define their own)."""
    return HandClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: HandClock
) -> AsyncIterator[Storage]:
    """An open, empty storage of the backend named by the test's parameter ("sqlite" today)."""
    backend = getattr(request, "param", "sqlite")
    if backend != "sqlite":
        raise ValueError(f"no such storage backend in the tests: {backend}")
    async with open_storage(tmp_path / "contract.db", clock=clock) as opened:
        yield opened
