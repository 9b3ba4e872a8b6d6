"""The inbox in SQLite: raw updates, idempotent by `update_id`."""

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
from storage.sqlite.base import SQLiteBase, _stamp
from storage.sqlite.residents import _SENT_BY


class SQLiteInbox(SQLiteBase):
    """Implements `storage.interfaces.Inbox`."""

    async def record_update(self, update_id: int, payload: str) -> RecordedUpdate:
        """Keep a raw update, and say whether it still needs processing or answering."""
        async with self._transaction() as db:
            inserted = await db.execute(
                "INSERT OR IGNORE INTO updates (update_id, received_at, payload) VALUES (?, ?, ?)",
                (update_id, _stamp(self._clock()), payload),
            )
            is_new = inserted.rowcount == 1
            cursor = await db.execute(
                "SELECT processed_at, replies, replied_at FROM updates WHERE update_id = ?",
                (update_id,),
            )
            row = await cursor.fetchone()
        assert row is not None
        if row["processed_at"] is None:
            return RecordedUpdate(UpdateStatus.NEW if is_new else UpdateStatus.UNPROCESSED)
        if row["replied_at"] is None:
            return RecordedUpdate(UpdateStatus.UNREPLIED, row["replies"])
        return RecordedUpdate(UpdateStatus.DONE, row["replies"])

    async def record_updates(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Keep a batch of raw updates (update_id, JSON) as fetched; repeats are ignored.
        Returns the ids of those not kept before."""
        now = _stamp(self._clock())
        ids = [update_id for update_id, _ in updates]
        async with self._transaction() as db:
            cursor = await db.execute(
                f"SELECT update_id FROM updates WHERE update_id IN ({', '.join('?' * len(ids))})",
                ids,
            )
            known = {row[0] for row in await cursor.fetchall()}
            await db.executemany(
                "INSERT OR IGNORE INTO updates (update_id, received_at, payload) VALUES (?, ?, ?)",
                [(update_id, now, payload) for update_id, payload in updates],
            )
        return set(ids) - known

    async def unfinished_updates(self, limit: int = 100_000) -> list[StoredUpdate]:
        """Updates kept but not processed, or processed with replies not yet sent, oldest first."""
        rows = await self._fetchall(
            "SELECT update_id, payload FROM updates"
            " WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL)"
            " ORDER BY update_id LIMIT ?",
            (limit,),
        )
        return [StoredUpdate(row["update_id"], row["payload"]) for row in rows]

    async def unfinished_from(self, sender: int | None, limit: int = 20) -> list[StoredUpdate]:
        """One sender's unfinished updates, oldest first (`None`: updates nobody sent)."""
        who = "sent_by IS NULL" if sender is None else "sent_by = ?"
        rows = await self._fetchall(
            f"SELECT update_id, payload FROM updates WHERE {who}"
            " AND (processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL))"
            " ORDER BY update_id LIMIT ?",
            (limit,) if sender is None else (sender, limit),
        )
        return [StoredUpdate(row[0], row[1]) for row in rows]

    async def senders_waiting(self, limit: int = 10_000) -> list[int | None]:
        """Who has unfinished updates (`None` among them for updates nobody sent)."""
        rows = await self._fetchall(
            "SELECT DISTINCT sent_by FROM updates"
            " WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL)"
            " LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def mark_processed(self, update_id: int, replies: str | None = None) -> None:
        """Record that an update needed no stored change, with what the bot answers to it."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE updates SET processed_at = ?, replies = ? WHERE update_id = ?",
                (_stamp(self._clock()), replies, update_id),
            )

    async def mark_failed(self, update_id: int) -> None:
        """Record that handling an update failed and was answered with an apology: it is done
        with, and never replayed (its replies would be an old question sent again at every
        start; the apology tells the resident that /start carries on)."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            await db.execute(
                "UPDATE updates SET processed_at = COALESCE(processed_at, ?),"
                " replied_at = COALESCE(replied_at, ?) WHERE update_id = ?",
                (now, now, update_id),
            )

    async def moved_on_since(self, update_id: int) -> bool:
        """Whether the sender of this update has written since (a later update of theirs is
        stored): the replies to this one are then out of date, and were mostly seen already."""
        row = await self._fetchone(
            f"SELECT 1 FROM updates AS later, updates AS this WHERE this.update_id = ?"
            f" AND later.update_id > this.update_id"
            f" AND {_SENT_BY.replace('payload', 'later.payload')}"
            f" = {_SENT_BY.replace('payload', 'this.payload')} LIMIT 1",
            (update_id,),
        )
        return row is not None

    async def replies_waiting(self, chat_id: int) -> bool:
        """Whether replies handed to the outbox (Telegram failed when they were due) are still
        to go out to this chat; anything newer must then queue behind them."""
        row = await self._fetchone(
            "SELECT 1 FROM outbox WHERE chat_id = ? AND sent_at IS NULL AND failed_at IS NULL"
            f" AND substr(key, 1, {len(REPLY_KEY)}) = ?"
            f" AND substr(key, 1, {len(HELD_KEY)}) != ? LIMIT 1",
            (chat_id, REPLY_KEY, HELD_KEY),
        )
        return row is not None

    async def mark_replied(self, update_id: int) -> None:
        """Record that the replies to an update went out."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE updates SET replied_at = ? WHERE update_id = ?",
                (_stamp(self._clock()), update_id),
            )

    async def enqueue_reply(self, update_id: int, messages: Iterable[OutgoingMessage]) -> None:
        """Queue the answer to an update and mark the update done, in one transaction."""
        async with self._transaction() as db:
            await self._insert_outgoing(db, messages)
            now = _stamp(self._clock())
            await db.execute(
                "UPDATE updates SET processed_at = ?, replied_at = ? WHERE update_id = ?",
                (now, now, update_id),
            )
