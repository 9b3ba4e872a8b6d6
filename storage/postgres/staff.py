"""Staff in PostgreSQL: invites, members, safeguarding contacts, the audit log and digests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from storage.models import AuditEntry, DigestClaim, OutgoingMessage, StaffMember
from storage.postgres.base import PostgresBase, Record


class PostgresStaffAndAudit(PostgresBase):
    """Implements `storage.interfaces.StaffAndAudit`."""

    async def create_invite(self, code: str, created_by: int, expires_at: datetime) -> None:
        """Keep a one-time invite code made by an admin."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO invites (code, created_by, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                code,
                created_by,
                self._clock(),
                expires_at,
            )

    async def redeem_invite(
        self, code: str, telegram_user_id: int, chat_id: int, name: str
    ) -> StaffMember | None:
        """Spend an unused, unexpired invite code on a new member of staff; None if it is not.

        Of two redemptions at once, the second waits for the first's row lock and then finds
        the code used."""
        now = self._clock()
        async with self._transaction() as conn:
            spent = await conn.fetchval(
                "UPDATE invites SET used_by = $1, used_at = $2"
                " WHERE code = $3 AND used_by IS NULL AND expires_at > $2 RETURNING true",
                telegram_user_id,
                now,
                code,
            )
            if not spent:
                return None
            row = await conn.fetchrow(
                "INSERT INTO staff (telegram_user_id, chat_id, name, joined_at, invite_code)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (telegram_user_id) DO UPDATE SET"
                " chat_id = excluded.chat_id, name = excluded.name, blocked_at = NULL"
                " RETURNING *",
                telegram_user_id,
                chat_id,
                name,
                now,
                code,
            )
        return _staff(row)

    async def staff_member(self, telegram_user_id: int) -> StaffMember | None:
        """The member of staff with this Telegram id, if they are one."""
        row = await self._fetchone(
            "SELECT * FROM staff WHERE telegram_user_id = $1", telegram_user_id
        )
        return _staff(row) if row else None

    async def staff_members(self) -> list[StaffMember]:
        """Every member of staff, in the order they joined."""
        return [_staff(row) for row in await self._fetchall("SELECT * FROM staff ORDER BY id")]

    async def remove_staff(self, staff_id: int) -> StaffMember | None:
        """Remove a member of staff; returns who it was, or None if there was no such one."""
        async with self._transaction() as conn:
            row = await conn.fetchrow("DELETE FROM staff WHERE id = $1 RETURNING *", staff_id)
        return _staff(row) if row else None

    async def set_safeguarding(self, staff_id: int, contact: bool) -> StaffMember | None:
        """Make a member of staff a safeguarding contact, or not; None if there is no such one."""
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE staff SET safeguarding = $1 WHERE id = $2 RETURNING *", contact, staff_id
            )
        return None if row is None else _staff(row)

    async def safeguarding_staff(self) -> list[StaffMember]:
        """The staff marked as safeguarding contacts who can still be written to."""
        rows = await self._fetchall(
            "SELECT * FROM staff WHERE safeguarding AND blocked_at IS NULL ORDER BY id"
        )
        return [_staff(row) for row in rows]

    async def audit(self, actor: int, action: str, **detail: object) -> None:
        """Write an admin's action to the audit log."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                self._clock(),
                actor,
                action,
                json.dumps(detail, default=str),
            )

    async def audit_log(self) -> list[AuditEntry]:
        """The audit log, oldest first: when, who (Telegram id), what, and the details."""
        rows = await self._fetchall("SELECT * FROM audit_log ORDER BY id")
        return [
            AuditEntry(row["at"], row["actor"], row["action"], json.loads(row["detail"]))
            for row in rows
        ]

    async def claim_digest(self, start: datetime, end: datetime) -> DigestClaim:
        """The digest for a period: its id, and whether it has already been queued for staff."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO digests (period_start, period_end, created_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (period_start, period_end) DO NOTHING",
                start,
                end,
                self._clock(),
            )
            row = await conn.fetchrow(
                "SELECT id, queued_at FROM digests WHERE period_start = $1 AND period_end = $2",
                start,
                end,
            )
        assert row is not None
        return DigestClaim(int(row[0]), queued=row[1] is not None)

    async def enqueue_digest(self, digest_id: int, messages: Iterable[OutgoingMessage]) -> int:
        """Queue a digest's messages and mark it queued, in one transaction."""
        async with self._transaction() as conn:
            added = await self._insert_outgoing(conn, messages)
            await conn.execute(
                "UPDATE digests SET queued_at = $1 WHERE id = $2", self._clock(), digest_id
            )
        return added


def _staff(row: Record) -> StaffMember:
    return StaffMember(
        id=row["id"],
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        name=row["name"],
        joined_at=row["joined_at"],
        safeguarding=bool(row["safeguarding"]),
        blocked=row["blocked_at"] is not None,
    )
