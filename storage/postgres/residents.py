"""Residents in PostgreSQL: pseudonyms, /stop, languages, blocking, /mydata and /forgetme."""

from __future__ import annotations

import json
from typing import Any

from storage.errors import StorageError
from storage.models import Recipient, Resident
from storage.postgres.base import PostgresBase, Record, _stamp
from storage.pseudonyms import new_pseudonym


class PostgresResidents(PostgresBase):
    """Implements `storage.interfaces.Residents`."""

    async def resident(self, telegram_user_id: int, chat_id: int) -> Resident:
        """The resident with this Telegram id, made (under a new pseudonym) if they are new."""
        row = await self._fetchone(
            "SELECT * FROM residents WHERE telegram_user_id = $1", telegram_user_id
        )
        if row is None:
            async with self._transaction() as conn:
                for _ in range(20):  # a clash of random pseudonyms is rare; try another
                    row = await conn.fetchrow(
                        "INSERT INTO residents (telegram_user_id, chat_id, pseudonym, created_at)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *",
                        telegram_user_id,
                        chat_id,
                        new_pseudonym(),
                        self._clock(),
                    )
                    if row is None:  # made meanwhile by another worker, or the pseudonym clashed
                        row = await conn.fetchrow(
                            "SELECT * FROM residents WHERE telegram_user_id = $1",
                            telegram_user_id,
                        )
                    if row is not None:
                        break
            if row is None:
                raise StorageError("no free pseudonym was found for a new resident")
        elif row["chat_id"] != chat_id:
            async with self._transaction() as conn:
                await conn.execute(
                    "UPDATE residents SET chat_id = $1 WHERE id = $2", chat_id, row["id"]
                )
        return _resident(row)

    async def set_stopped(self, resident_id: int, stopped: bool) -> None:
        """Record that a resident asked for no more messages (/stop), or asked again (/start);
        whatever waits in the outbox for them is not sent."""
        now = self._clock()
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE residents SET stopped_at = $1 WHERE id = $2",
                now if stopped else None,
                resident_id,
            )
            if stopped:
                await conn.execute(
                    "UPDATE outbox SET failed_at = $1, error = 'the resident asked to stop'"
                    " WHERE resident_id = $2 AND sent_at IS NULL AND failed_at IS NULL",
                    now,
                    resident_id,
                )

    async def set_language(self, resident_id: int, language: str) -> None:
        """Remember the language a resident chose, for the flows they start from now on."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE residents SET language = $1 WHERE id = $2", language, resident_id
            )

    async def set_blocked(self, resident_id: int, blocked: bool) -> None:
        """Record that a resident blocked the bot, or wrote to it again."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE residents SET blocked_at = $1 WHERE id = $2",
                self._clock() if blocked else None,
                resident_id,
            )

    async def set_chat_blocked(self, chat_id: int) -> None:
        """Record that whoever is in this chat (staff or resident) has blocked the bot."""
        async with self._transaction() as conn:
            for table in ("staff", "residents"):
                await conn.execute(
                    f"UPDATE {table} SET blocked_at = $1 WHERE chat_id = $2", self._clock(), chat_id
                )

    async def personal_data(self, resident: Resident) -> dict[str, Any]:
        """Everything stored about one resident, for them to see (/mydata)."""
        sessions = await self._fetchall(
            "SELECT flow_id, flow_version, step_id, status, started_at, updated_at FROM sessions"
            " WHERE resident_id = $1 ORDER BY id",
            resident.id,
        )
        answers = await self._fetchall(
            "SELECT flow_id, flow_version, step_id, question, answer, answered_at, themes,"
            " sentiment, tone FROM answers WHERE resident_id = $1 ORDER BY id",
            resident.id,
        )
        updates = await self._fetchall(
            "SELECT payload FROM updates WHERE sent_by = $1 ORDER BY update_id",
            resident.telegram_user_id,
        )
        thread = await self._fetchall(
            "SELECT at, from_service, text FROM thread_messages WHERE resident_id = $1 ORDER BY id",
            resident.id,
        )
        return {
            "you": {
                "telegram_user_id": resident.telegram_user_id,
                "pseudonym_staff_see": resident.pseudonym,
                "first_contact": resident.created_at.isoformat(),
                "asked_to_stop": resident.stopped,
                "may_we_tell_you_what_changed": resident.follow_up_consent,
                "language": resident.language,
            },
            "conversations": [_plain(row) for row in sessions],
            "answers": [_plain(row) for row in answers],
            "messages_as_telegram_sent_them": [json.loads(row[0]) for row in updates],
            "messages_with_the_safeguarding_team": [
                {
                    "at": _stamp(row["at"]),
                    "from": "the service" if row["from_service"] else "you",
                    "text": row["text"],
                }
                for row in thread
            ],
        }

    async def forget(self, resident: Resident) -> None:
        """Delete everything stored about a resident, in every table (/forgetme)."""
        async with self._transaction() as conn:
            # Answers, their themes, sessions and queued messages go with the resident row.
            # Messages to them, and safeguarding alerts about them (which quote their words).
            await conn.execute(
                "DELETE FROM outbox WHERE resident_id = $1 OR chat_id = $2 OR key LIKE $3",
                resident.id,
                resident.chat_id,
                f"safeguarding:{resident.id}:%",
            )
            # The audit log keeps that an alert was raised, no longer about whom.
            await conn.execute(
                "UPDATE audit_log SET detail = jsonb_set(detail, '{resident}', to_jsonb($1::text))"
                " WHERE action LIKE 'safeguarding %' AND detail ->> 'resident' = $2",
                "a resident whose data was deleted at their request",
                resident.pseudonym,
            )
            await conn.execute("DELETE FROM updates WHERE sent_by = $1", resident.telegram_user_id)
            await conn.execute(
                "DELETE FROM previews WHERE telegram_user_id = $1", resident.telegram_user_id
            )
            await conn.execute("DELETE FROM residents WHERE id = $1", resident.id)

    async def broadcast_audience(self) -> list[Recipient]:
        """Residents (id, chat id) who said yes to hearing back, and have not stopped or blocked."""
        rows = await self._fetchall(
            "SELECT id, chat_id FROM residents WHERE follow_up_consent"
            " AND stopped_at IS NULL AND blocked_at IS NULL AND telegram_user_id > 0 ORDER BY id"
        )
        return [Recipient(row[0], row[1]) for row in rows]


def _plain(row: Record) -> dict[str, Any]:
    """A row as /mydata shows it: times written as the SQLite backend writes them."""
    return {
        key: _stamp(value) if hasattr(value, "astimezone") else value
        for key, value in dict(row).items()
    }


def _resident(row: Record) -> Resident:
    return Resident(
        id=row["id"],
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        pseudonym=row["pseudonym"],
        created_at=row["created_at"],
        stopped=row["stopped_at"] is not None,
        blocked=row["blocked_at"] is not None,
        follow_up_consent=row["follow_up_consent"],
        language=row["language"],
    )
