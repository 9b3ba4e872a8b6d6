"""PostgreSQL-only facts: migrations applied once by workers starting together, claims shared by
separate processes' pools, and a server out of reach reported as such."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage import NewAnswer, Storage, StorageUnavailable, Turn, open_storage
from storage.models import Analysed, OutgoingMessage
from storage.postgres import migrations
from tests.postgres_server import PostgresServer


async def test_workers_starting_together_apply_each_migration_once(
    postgres_server: PostgresServer,
) -> None:
    """Three workers opening an empty database at once end on the latest schema, each migration
    recorded once (the advisory lock makes them take turns)."""
    url = postgres_server.new_database(migrated=False)
    try:
        workers = [open_storage(url) for _ in range(3)]
        await asyncio.wait_for(asyncio.gather(*(worker.open() for worker in workers)), 60)
        try:
            versions = {await worker.schema_version() for worker in workers}
            assert versions == {migrations()[-1][0]}
            assert [n for n, _ in migrations()] == list(range(1, len(migrations()) + 1))
        finally:
            for worker in workers:
                await worker.close()
    finally:
        postgres_server.drop(url)


async def test_senders_of_separate_processes_share_the_outbox(postgres_url: str) -> None:
    """Two processes' storages (separate pools) claiming at once never send a message twice."""
    keys = [f"digest:1:staff:{n}" for n in range(60)]
    async with open_storage(postgres_url) as first, open_storage(postgres_url) as second:
        await first.enqueue(
            [OutgoingMessage(key, 1000 + n, "sendMessage", key) for n, key in enumerate(keys)]
        )
        sent: list[str] = []

        async def drain(storage: Storage) -> None:
            for _ in range(100):  # bounded
                batch = await storage.claim_due(limit=7)
                if not batch:
                    return
                for message in batch:
                    sent.append(message.key)
                    await storage.mark_sent(message.id)

        await asyncio.wait_for(asyncio.gather(drain(first), drain(second)), 60)
        assert sorted(sent) == sorted(keys)
        assert await second.sent_keys("digest:") == keys


async def test_a_server_out_of_reach_is_reported_as_unavailable(
    postgres_server: PostgresServer,
) -> None:
    """A URL whose server does not answer gives StorageUnavailable, without the password."""
    url = f"postgresql://someone:secret@127.0.0.1:{postgres_server.port + 1}/nowhere"
    with pytest.raises(StorageUnavailable) as raised:
        async with open_storage(url):
            pass
    assert "secret" not in str(raised.value)


async def test_migration_15_gives_themes_kept_before_it_their_answer_tone(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    """Migration 0015 fills `answer_themes.tone` of older answers with the answer's tone."""
    database = postgres_url.rsplit("/", 1)[1]
    async with open_storage(postgres_url) as storage:
        resident = await storage.resident(7, 7)
        answer = NewAnswer(
            "matters", "Q?", "Bins left out", analysed=Analysed(("Bins",), -0.5, "negative", ())
        )
        await storage.save_turn(Turn(resident.id, None, "f", 1, "matters", "active", "{}", answer))
    # Back to how a database at migration 14 looks.
    postgres_server.query(
        database,
        "DROP TABLE theme_corrections; ALTER TABLE answer_themes DROP COLUMN tone;"
        " DELETE FROM schema_migrations WHERE version = 15",
    )
    async with open_storage(postgres_url) as storage:
        assert await storage.schema_version() == migrations()[-1][0]  # 15, and any after it
        now = storage.now()
        figures = await storage.period_figures(now - timedelta(1), now + timedelta(1))
    assert figures.theme_tones == {"Bins": {"negative": 1}}
    assert postgres_server.query(database, "SELECT theme, tone FROM answer_themes") == [
        "Bins|negative"
    ]
