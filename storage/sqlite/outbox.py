"""The outbox in SQLite: messages keyed so each is queued once, claimed in each chat's order."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from storage.models import Alert, OutgoingMessage, QueuedMessage
from storage.sqlite.base import SQLiteBase, _stamp


class SQLiteOutbox(SQLiteBase):
    """Implements `storage.interfaces.OutboxQueue`."""

    async def enqueue(self, messages: Iterable[OutgoingMessage]) -> int:
        """Queue messages to send; one whose key is already queued is left as it is."""
        async with self._transaction() as db:
            return await self._insert_outgoing(db, messages)

    async def raise_alert(self, alert: Alert) -> None:
        """Queue a safeguarding alert and write it to the audit log, in one transaction."""
        async with self._transaction() as db:
            await self._insert_outgoing(db, alert.messages)
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 0, ?, ?)",
                (_stamp(self._clock()), "safeguarding alert", json.dumps(alert.audit, default=str)),
            )

    async def claim_due(
        self,
        limit: int = 20,
        hold: float = 60.0,
        *,
        worker: str | None = None,
        least_priority: int = 0,
    ) -> list[QueuedMessage]:
        """Take messages that may go out now, oldest first, so no other sender takes them too.

        A claim lapses after `hold` seconds (or at once when its `worker` is known dead), so a
        sender that died leaves nothing stuck. Only messages of `least_priority` or more urgent.
        """
        now = self._clock()
        async with self._transaction() as db:
            # A resident who used /stop, or blocked the bot, since this was queued hears nothing.
            await db.execute(
                "UPDATE outbox SET failed_at = ?, error = 'the resident asked to stop'"
                " WHERE sent_at IS NULL AND failed_at IS NULL AND resident_id IN"
                " (SELECT id FROM residents WHERE stopped_at IS NOT NULL"
                " OR blocked_at IS NOT NULL)",
                (_stamp(now),),
            )
            cursor = await db.execute(
                "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE id IN (SELECT id"
                " FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND not_before <= ?"
                " AND priority >= ?"
                " AND (claimed_until IS NULL OR claimed_until <= ?)"
                # Each chat reads its messages in the order they were queued, even when an
                # earlier one waits to be tried again; only an alert may overtake.
                " AND NOT EXISTS (SELECT 1 FROM outbox AS earlier"
                " WHERE earlier.chat_id = outbox.chat_id AND earlier.id < outbox.id"
                " AND earlier.sent_at IS NULL AND earlier.failed_at IS NULL"
                " AND earlier.priority >= outbox.priority)"
                " ORDER BY priority DESC, id LIMIT ?)"
                " RETURNING id, key, chat_id, method, text, filename, attachment, attempts, markup,"
                " priority",
                (
                    _stamp(now + timedelta(seconds=hold)),
                    worker,
                    _stamp(now),
                    least_priority,
                    _stamp(now),
                    limit,
                ),
            )
            rows = await cursor.fetchall()
        return sorted(
            (QueuedMessage(*row) for row in rows),
            key=lambda message: (-message.priority, message.id),
        )

    async def still_pending(self, message_id: int) -> bool:
        """Whether a claimed message is still to go (not dropped as out of date meanwhile)."""
        row = await self._fetchone(
            "SELECT 1 FROM outbox WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL",
            (message_id,),
        )
        return row is not None

    async def release(self, message_ids: Iterable[int]) -> None:
        """Hand claimed messages back unsent, for the next round."""
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL WHERE id = ?",
                [(message_id,) for message_id in message_ids],
            )

    async def release_all_claims(self) -> None:
        """Hand back every claimed message: at start-up, the sender that held them is gone."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL"
                " AND sent_at IS NULL"
            )

    async def mark_sent(self, message_id: int) -> None:
        """Record that a queued message went out; its attachment is not kept once sent.

        (A resident's data export, or a digest's answers, must not stay behind in the outbox.)
        """
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, claimed_until = NULL,"
                " attachment = NULL WHERE id = ?",
                (_stamp(self._clock()), message_id),
            )

    async def postpone(self, message_id: int, not_before: datetime, error: str) -> None:
        """Try a queued message again later, noting why it did not go out."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET not_before = ?, attempts = attempts + 1, error = ?,"
                " claimed_until = NULL WHERE id = ?",
                (_stamp(not_before), error, message_id),
            )

    async def give_up(self, message_id: int, error: str) -> None:
        """Stop trying a queued message that can never go out (the chat blocked the bot)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET failed_at = ?, attempts = attempts + 1, error = ? WHERE id = ?",
                (_stamp(self._clock()), error, message_id),
            )

    async def sent_keys(self, prefix: str = "") -> list[str]:
        """The keys of messages sent, optionally only those starting with `prefix`."""
        rows = await self._fetchall(
            "SELECT key FROM outbox WHERE sent_at IS NOT NULL AND substr(key, 1, ?) = ?"
            " ORDER BY id",
            (len(prefix), prefix),
        )
        return [row[0] for row in rows]
