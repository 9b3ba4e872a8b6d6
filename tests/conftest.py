"""Fixtures shared by the tests: the local Bot API server, the real bot polling it, and a real
PostgreSQL server started from the machine's binaries."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import Storage, open_storage
from tests.clock import HandClock
from tests.fake_telegram import FakeTelegram
from tests.postgres_server import REQUIRE, TEMPLATE, PostgresServer, binaries
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


async def _migrate(url: str) -> None:
    async with open_storage(url):
        pass


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run, with a migrated template database; skipped where
    PostgreSQL is not installed (a failure when WHATMATTERS_REQUIRE_POSTGRES=1, as in CI)."""
    folder = binaries()
    if folder is None:
        reason = "PostgreSQL is not installed here (no initdb, pg_ctl and psql found)"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{reason}, and {REQUIRE}=1 asks for it", pytrace=False)
        pytest.skip(reason)
    server = PostgresServer(folder)
    try:
        server.start()
        server.sql(f"CREATE DATABASE {TEMPLATE}")
        # In a thread of its own: this may be set up from inside a test's running event loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(lambda: asyncio.run(_migrate(server.url(TEMPLATE)))).result(60)
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the test (dropped afterwards)."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop(url)


@pytest.fixture
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: HandClock
) -> AsyncIterator[Storage]:
    """An open, empty storage of the backend named by the test's parameter ("sqlite" or
    "postgres")."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        where = str(tmp_path / "contract.db")
    elif backend == "postgres":
        where = request.getfixturevalue("postgres_url")
    else:
        raise ValueError(f"no such storage backend in the tests: {backend}")
    async with open_storage(where, clock=clock) as opened:
        yield opened
