"""The inbox in PostgreSQL: raw updates (jsonb), idempotent by `update_id`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.models import (
    HELD_KEY,
    REPLY_KEY,
    OutgoingMessage,
    RecordedUpdate,
    StoredUpdate,
    UpdateStatus,
)
from storage.postgres.base import PostgresBase


class PostgresInbox(PostgresBase):
    """Implements `storage.interfaces.Inbox`."""

    async def record_update(self, update_id: int, payload: str) -> RecordedUpdate:
        """Keep a raw update, and say whether it still needs processing or answering."""
        async with self._transaction() as conn:
            inserted = await conn.fetchval(
                "INSERT INTO updates (update_id, received_at, payload) VALUES ($1, $2, $3)"
                " ON CONFLICT (update_id) DO NOTHING RETURNING true",
                update_id,
                self._clock(),
                payload,
            )
            row = await conn.fetchrow(
                "SELECT processed_at, replies, replied_at FROM updates WHERE update_id = $1",
                update_id,
            )
        assert row is not None
        if row["processed_at"] is None:
            return RecordedUpdate(UpdateStatus.NEW if inserted else UpdateStatus.UNPROCESSED)
        if row["replied_at"] is None:
            return RecordedUpdate(UpdateStatus.UNREPLIED, row["replies"])
        return RecordedUpdate(UpdateStatus.DONE, row["replies"])

    async def record_updates(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Keep a batch of raw updates (update_id, JSON) as fetched; repeats are ignored.
        Returns the ids of those not kept before."""
        if not updates:
            return set()
        async with self._transaction() as conn:
            rows = await conn.fetch(
                "INSERT INTO updates (update_id, received_at, payload)"
                " SELECT u.update_id, $3, u.payload"
                " FROM unnest($1::bigint[], $2::jsonb[]) AS u (update_id, payload)"
                " ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
                [update_id for update_id, _ in updates],
                [payload for _, payload in updates],
                self._clock(),
            )
        return {int(row[0]) for row in rows}

    async def unfinished_updates(self, limit: int = 100_000) -> list[StoredUpdate]:
        """Updates kept but not processed, or processed with replies not yet sent, oldest first."""
        rows = await self._fetchall(
            "SELECT update_id, payload FROM updates"
            " WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL)"
            " ORDER BY update_id LIMIT $1",
            limit,
        )
        return [StoredUpdate(row["update_id"], row["payload"]) for row in rows]

    async def unfinished_from(self, sender: int | None, limit: int = 20) -> list[StoredUpdate]:
        """One sender's unfinished updates, oldest first (`None`: updates nobody sent)."""
        who = "sent_by IS NULL" if sender is None else "sent_by = $2"
        rows = await self._fetchall(
            f"SELECT update_id, payload FROM updates WHERE {who}"
            " AND (processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL))"
            " ORDER BY update_id LIMIT $1",
            *((limit,) if sender is None else (limit, sender)),
        )
        return [StoredUpdate(row["update_id"], row["payload"]) for row in rows]

    async def senders_waiting(self, limit: int = 10_000) -> list[int | None]:
        """Who has unfinished updates (`None` among them for updates nobody sent)."""
        rows = await self._fetchall(
            "SELECT DISTINCT sent_by FROM updates"
            " WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL)"
            " LIMIT $1",
            limit,
        )
        return [row[0] for row in rows]

    async def mark_processed(self, update_id: int, replies: str | None = None) -> None:
        """Record that an update needed no stored change, with what the bot answers to it."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE updates SET processed_at = $1, replies = $2 WHERE update_id = $3",
                self._clock(),
                replies,
                update_id,
            )

    async def mark_failed(self, update_id: int) -> None:
        """Record that handling an update failed and was answered with an apology: it is done
        with, and never replayed."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE updates SET processed_at = COALESCE(processed_at, $1),"
                " replied_at = COALESCE(replied_at, $1) WHERE update_id = $2",
                self._clock(),
                update_id,
            )

    async def moved_on_since(self, update_id: int) -> bool:
        """Whether the sender of this update has written since (a later update of theirs is
        stored): the replies to this one are then out of date, and were mostly seen already."""
        row = await self._fetchone(
            "SELECT 1 FROM updates AS later, updates AS this WHERE this.update_id = $1"
            " AND later.sent_by = this.sent_by AND later.update_id > this.update_id LIMIT 1",
            update_id,
        )
        return row is not None

    async def replies_waiting(self, chat_id: int) -> bool:
        """Whether replies handed to the outbox are still to go out to this chat; anything
        newer must then queue behind them."""
        row = await self._fetchone(
            "SELECT 1 FROM outbox WHERE chat_id = $1 AND sent_at IS NULL AND failed_at IS NULL"
            " AND starts_with(key, $2) AND NOT starts_with(key, $3) LIMIT 1",
            chat_id,
            REPLY_KEY,
            HELD_KEY,
        )
        return row is not None

    async def mark_replied(self, update_id: int) -> None:
        """Record that the replies to an update went out."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE updates SET replied_at = $1 WHERE update_id = $2", self._clock(), update_id
            )

    async def enqueue_reply(self, update_id: int, messages: Iterable[OutgoingMessage]) -> None:
        """Queue the answer to an update and mark the update done, in one transaction."""
        async with self._transaction() as conn:
            await self._insert_outgoing(conn, messages)
            await conn.execute(
                "UPDATE updates SET processed_at = $1, replied_at = $1 WHERE update_id = $2",
                self._clock(),
                update_id,
            )
