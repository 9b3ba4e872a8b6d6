"""Safeguarding threads in PostgreSQL: a contact and a resident writing to each other."""

from __future__ import annotations

from storage.models import Resident, SafeguardingThread
from storage.postgres.base import PostgresBase
from storage.postgres.residents import _resident


class PostgresThreads(PostgresBase):
    """Implements `storage.interfaces.Threads`."""

    async def open_thread(
        self, resident_id: int, contact_user_id: int, contact_chat_id: int
    ) -> None:
        """Open (or take over) the thread with this resident; the contact leaves any other."""
        async with self._transaction() as conn:
            await conn.execute(
                "DELETE FROM safeguarding_threads WHERE contact_user_id = $1 OR resident_id = $2",
                contact_user_id,
                resident_id,
            )
            # Two contacts taking over at once: the second waits on the first's row, then
            # replaces it (the key makes the last one win, never two open threads).
            await conn.execute(
                "INSERT INTO safeguarding_threads (resident_id, contact_user_id, contact_chat_id,"
                " opened_at) VALUES ($1, $2, $3, $4) ON CONFLICT (resident_id) DO UPDATE SET"
                " contact_user_id = EXCLUDED.contact_user_id,"
                " contact_chat_id = EXCLUDED.contact_chat_id, opened_at = EXCLUDED.opened_at",
                resident_id,
                contact_user_id,
                contact_chat_id,
                self._clock(),
            )

    async def thread_of_resident(self, resident_id: int) -> SafeguardingThread | None:
        """The open thread with this resident, if any."""
        return await self._thread("t.resident_id = $1", resident_id)

    async def thread_of_contact(self, contact_user_id: int) -> SafeguardingThread | None:
        """The open thread this contact writes in, if any."""
        return await self._thread("t.contact_user_id = $1", contact_user_id)

    async def _thread(self, where: str, value: int) -> SafeguardingThread | None:
        row = await self._fetchone(
            "SELECT r.*, t.contact_user_id, t.contact_chat_id, t.opened_at FROM"
            f" safeguarding_threads t JOIN residents r ON r.id = t.resident_id WHERE {where}",
            value,
        )
        if row is None:
            return None
        return SafeguardingThread(
            _resident(row), row["contact_user_id"], row["contact_chat_id"], row["opened_at"]
        )

    async def close_thread(self, resident_id: int) -> None:
        """End the thread with this resident."""
        async with self._transaction() as conn:
            await conn.execute(
                "DELETE FROM safeguarding_threads WHERE resident_id = $1", resident_id
            )

    async def keep_thread_message(
        self, resident_id: int, contact_user_id: int, from_service: bool, text: str
    ) -> None:
        """Keep one message of a thread (for the resident's /mydata) and audit who and when."""
        now = self._clock()
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO thread_messages (resident_id, from_service, contact_user_id, text, at)"
                " VALUES ($1, $2, $3, $4, $5)",
                resident_id,
                from_service,
                contact_user_id,
                text,
                now,
            )
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3,"
                " jsonb_build_object('resident', (SELECT pseudonym FROM residents WHERE id = $4),"
                " 'from', $5::text))",
                now,
                contact_user_id if from_service else 0,
                "safeguarding thread message",
                resident_id,
                "the contact" if from_service else "the resident",
            )

    async def resident_named(self, pseudonym: str) -> Resident | None:
        """The resident staff know by this pseudonym (any case, spaces as typed), if any."""
        row = await self._fetchone(
            "SELECT * FROM residents WHERE lower(pseudonym) = lower($1)",
            " ".join(pseudonym.split()),
        )
        return _resident(row) if row else None
