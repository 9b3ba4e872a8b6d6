"""The outbox in PostgreSQL: messages keyed so each is queued once, claimed in each chat's order
with `FOR UPDATE SKIP LOCKED`, so several senders (and several processes) never take the same
message."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from storage.models import Alert, OutgoingMessage, QueuedMessage
from storage.postgres.base import PostgresBase


class PostgresOutbox(PostgresBase):
    """Implements `storage.interfaces.OutboxQueue`."""

    async def enqueue(self, messages: Iterable[OutgoingMessage]) -> int:
        """Queue messages to send; one whose key is already queued is left as it is."""
        async with self._transaction() as conn:
            return await self._insert_outgoing(conn, messages)

    async def raise_alert(self, alert: Alert) -> None:
        """Queue a safeguarding alert and write it to the audit log, in one transaction."""
        async with self._transaction() as conn:
            await self._insert_outgoing(conn, alert.messages)
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, 0, $2, $3)",
                self._clock(),
                "safeguarding alert",
                json.dumps(alert.audit, default=str),
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

        Rows another sender is claiming at this moment are skipped, not waited for; a row it
        claimed a moment ago is seen as claimed (PostgreSQL re-reads a row locked meanwhile).
        A claim lapses after `hold` seconds (or at once when its `worker` is known dead), so a
        sender that died leaves nothing stuck. Only messages of `least_priority` or more urgent.
        """
        now = self._clock()
        async with self._transaction() as conn:
            # A resident who used /stop, or blocked the bot, since this was queued hears nothing.
            await conn.execute(
                "UPDATE outbox SET failed_at = $1, error = 'the resident asked to stop'"
                " WHERE id IN (SELECT o.id FROM outbox o JOIN residents r ON r.id = o.resident_id"
                " WHERE o.sent_at IS NULL AND o.failed_at IS NULL"
                " AND (r.stopped_at IS NOT NULL OR r.blocked_at IS NOT NULL)"
                " FOR UPDATE OF o SKIP LOCKED)",
                now,
            )
            rows = await conn.fetch(
                "UPDATE outbox SET claimed_until = $1, claimed_by = $4 WHERE id IN (SELECT id"
                " FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND not_before <= $2"
                " AND priority >= $5"
                " AND (claimed_until IS NULL OR claimed_until <= $2)"
                # Each chat reads its messages in the order they were queued, even when an
                # earlier one waits to be tried again (or is held by another sender); only an
                # alert may overtake.
                " AND NOT EXISTS (SELECT 1 FROM outbox AS earlier"
                " WHERE earlier.chat_id = outbox.chat_id AND earlier.id < outbox.id"
                " AND earlier.sent_at IS NULL AND earlier.failed_at IS NULL"
                " AND earlier.priority >= outbox.priority)"
                " ORDER BY priority DESC, id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, key, chat_id, method, text, filename, attachment, attempts,"
                " markup, priority",
                now + timedelta(seconds=hold),
                now,
                limit,
                worker,
                least_priority,
            )
        return sorted(
            (QueuedMessage(*row) for row in rows),
            key=lambda message: (-message.priority, message.id),
        )

    async def still_pending(self, message_id: int) -> bool:
        """Whether a claimed message is still to go (not dropped as out of date meanwhile)."""
        row = await self._fetchone(
            "SELECT 1 FROM outbox WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL",
            message_id,
        )
        return row is not None

    async def release(self, message_ids: Iterable[int]) -> None:
        """Hand claimed messages back unsent, for the next round."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL"
                " WHERE id = ANY($1::bigint[])",
                list(message_ids),
            )

    async def release_all_claims(self) -> None:
        """Hand back every claimed message: at start-up, the sender that held them is gone."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL"
                " AND sent_at IS NULL"
            )

    async def mark_sent(self, message_id: int) -> None:
        """Record that a queued message went out; its attachment is not kept once sent."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL,"
                " attachment = NULL WHERE id = $2",
                self._clock(),
                message_id,
            )

    async def postpone(self, message_id: int, not_before: datetime, error: str) -> None:
        """Try a queued message again later, noting why it did not go out."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET not_before = $1, attempts = attempts + 1, error = $2,"
                " claimed_until = NULL WHERE id = $3",
                not_before,
                error,
                message_id,
            )

    async def give_up(self, message_id: int, error: str) -> None:
        """Stop trying a queued message that can never go out (the chat blocked the bot)."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET failed_at = $1, attempts = attempts + 1, error = $2"
                " WHERE id = $3",
                self._clock(),
                error,
                message_id,
            )

    async def sent_keys(self, prefix: str = "") -> list[str]:
        """The keys of messages sent, optionally only those starting with `prefix`."""
        rows = await self._fetchall(
            "SELECT key FROM outbox WHERE sent_at IS NOT NULL AND starts_with(key, $1) ORDER BY id",
            prefix,
        )
        return [row[0] for row in rows]
