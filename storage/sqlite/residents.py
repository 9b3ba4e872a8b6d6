"""Residents in SQLite: pseudonyms, /stop, languages, blocking, /mydata and /forgetme."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from storage.models import Recipient, Resident
from storage.pseudonyms import new_pseudonym
from storage.sqlite.base import SQLiteBase, _moment, _stamp

# Who sent a raw update, whatever kind it is.
_SENT_BY = (
    "COALESCE(json_extract(payload, '$.message.from.id'),"
    " json_extract(payload, '$.edited_message.from.id'),"
    " json_extract(payload, '$.callback_query.from.id'),"
    " json_extract(payload, '$.my_chat_member.from.id'))"
)


class SQLiteResidents(SQLiteBase):
    """Implements `storage.interfaces.Residents`."""

    async def resident(self, telegram_user_id: int, chat_id: int) -> Resident:
        """The resident with this Telegram id, made (under a new pseudonym) if they are new."""
        row = await self._fetchone(
            "SELECT * FROM residents WHERE telegram_user_id = ?", (telegram_user_id,)
        )
        if row is None:
            async with self._transaction() as db:
                for _ in range(20):  # a clash of random pseudonyms is rare; try another
                    try:
                        await db.execute(
                            "INSERT INTO residents "
                            "(telegram_user_id, chat_id, pseudonym, created_at) VALUES (?, ?, ?, ?)"
                            " ON CONFLICT (telegram_user_id) DO NOTHING",
                            (telegram_user_id, chat_id, new_pseudonym(), _stamp(self._clock())),
                        )
                        break
                    except sqlite3.IntegrityError:
                        continue
                cursor = await db.execute(
                    "SELECT * FROM residents WHERE telegram_user_id = ?", (telegram_user_id,)
                )
                row = await cursor.fetchone()
            assert row is not None
        elif row["chat_id"] != chat_id:
            async with self._transaction() as db:
                await db.execute(
                    "UPDATE residents SET chat_id = ? WHERE id = ?", (chat_id, row["id"])
                )
        return _resident(row)

    async def set_stopped(self, resident_id: int, stopped: bool) -> None:
        """Record that a resident asked for no more messages (/stop), or asked again (/start);
        whatever waits in the outbox for them is not sent."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            await db.execute(
                "UPDATE residents SET stopped_at = ? WHERE id = ?",
                (now if stopped else None, resident_id),
            )
            if stopped:
                await db.execute(
                    "UPDATE outbox SET failed_at = ?, error = 'the resident asked to stop'"
                    " WHERE resident_id = ? AND sent_at IS NULL AND failed_at IS NULL",
                    (now, resident_id),
                )

    async def set_language(self, resident_id: int, language: str) -> None:
        """Remember the language a resident chose, for the flows they start from now on."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE residents SET language = ? WHERE id = ?", (language, resident_id)
            )

    async def set_blocked(self, resident_id: int, blocked: bool) -> None:
        """Record that a resident blocked the bot, or wrote to it again."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE residents SET blocked_at = ? WHERE id = ?",
                (_stamp(self._clock()) if blocked else None, resident_id),
            )

    async def set_chat_blocked(self, chat_id: int) -> None:
        """Record that whoever is in this chat (staff or resident) has blocked the bot."""
        async with self._transaction() as db:
            for table in ("staff", "residents"):
                await db.execute(
                    f"UPDATE {table} SET blocked_at = ? WHERE chat_id = ?",
                    (_stamp(self._clock()), chat_id),
                )

    async def personal_data(self, resident: Resident) -> dict[str, Any]:
        """Everything stored about one resident, for them to see (/mydata)."""
        sessions = await self._fetchall(
            "SELECT flow_id, flow_version, step_id, status, started_at, updated_at FROM sessions"
            " WHERE resident_id = ? ORDER BY id",
            (resident.id,),
        )
        answers = await self._fetchall(
            "SELECT flow_id, flow_version, step_id, question, answer, answered_at, themes,"
            " sentiment, tone FROM answers WHERE resident_id = ? ORDER BY id",
            (resident.id,),
        )
        updates = await self._fetchall(
            f"SELECT payload FROM updates WHERE {_SENT_BY} = ? ORDER BY update_id",
            (resident.telegram_user_id,),
        )
        thread = await self._fetchall(
            "SELECT at, from_service, text FROM thread_messages WHERE resident_id = ? ORDER BY id",
            (resident.id,),
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
            "conversations": [dict(row) for row in sessions],
            "answers": [dict(row) for row in answers],
            "messages_as_telegram_sent_them": [json.loads(row[0]) for row in updates],
            "messages_with_the_safeguarding_team": [
                {
                    "at": row["at"],
                    "from": "the service" if row["from_service"] else "you",
                    "text": row["text"],
                }
                for row in thread
            ],
        }

    async def forget(self, resident: Resident) -> None:
        """Delete everything stored about a resident, in every table (/forgetme)."""
        async with self._transaction() as db:
            # Answers, their themes, sessions and queued messages go with the resident row.
            # Messages to them, and safeguarding alerts about them (which quote their words).
            await db.execute(
                "DELETE FROM outbox WHERE resident_id = ? OR chat_id = ? OR key LIKE ?",
                (resident.id, resident.chat_id, f"safeguarding:{resident.id}:%"),
            )
            # The audit log keeps that an alert was raised, no longer about whom.
            await db.execute(
                "UPDATE audit_log SET detail = json_set(detail, '$.resident', ?)"
                " WHERE action LIKE 'safeguarding %'"
                " AND json_extract(detail, '$.resident') = ?",
                ("a resident whose data was deleted at their request", resident.pseudonym),
            )
            await db.execute(
                f"DELETE FROM updates WHERE {_SENT_BY} = ?", (resident.telegram_user_id,)
            )
            await db.execute(
                "DELETE FROM previews WHERE telegram_user_id = ?", (resident.telegram_user_id,)
            )
            await db.execute("DELETE FROM residents WHERE id = ?", (resident.id,))

    async def broadcast_audience(self) -> list[Recipient]:
        """Residents (id, chat id) who said yes to hearing back, and have not stopped or blocked."""
        rows = await self._fetchall(
            "SELECT id, chat_id FROM residents WHERE follow_up_consent = 1"
            " AND stopped_at IS NULL AND blocked_at IS NULL AND telegram_user_id > 0 ORDER BY id"
        )
        return [Recipient(row[0], row[1]) for row in rows]


def _resident(row: sqlite3.Row) -> Resident:
    consent = row["follow_up_consent"]
    return Resident(
        id=row["id"],
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        pseudonym=row["pseudonym"],
        created_at=_moment(row["created_at"]),
        stopped=row["stopped_at"] is not None,
        blocked=row["blocked_at"] is not None,
        follow_up_consent=None if consent is None else bool(consent),
        language=row["language"],
    )
