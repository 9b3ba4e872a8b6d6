"""SQLite storage through aiosqlite: the only module that speaks SQL.

One connection in WAL mode; every read and write takes an asyncio lock so that concurrent
handlers never interleave statements inside one another's transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from storage.models import (
    REPLY_KEY,
    THREAD,
    Alert,
    AnswerFact,
    ExportRow,
    FlowVersion,
    OutgoingMessage,
    PeriodFigures,
    QueuedMessage,
    RecordedUpdate,
    Resident,
    Session,
    StaffMember,
    Turn,
    UpdateStatus,
)
from storage.pseudonyms import new_pseudonym
from storage.sqlite_actions import SQLiteActions

Clock = Callable[[], datetime]

TONES = ("negative", "neutral", "positive")
# Who sent a raw update, whatever kind it is.
_SENT_BY = (
    "COALESCE(json_extract(payload, '$.message.from.id'),"
    " json_extract(payload, '$.edited_message.from.id'),"
    " json_extract(payload, '$.callback_query.from.id'),"
    " json_extract(payload, '$.my_chat_member.from.id'))"
)
# Quotes staff will actually read: not a word or two, not a page.
SHORTEST_QUOTE = 15
READABLE_QUOTE = 300


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    # Stored as UTC ISO-8601 text so that string order is time order.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def migrations() -> list[tuple[int, str]]:
    """The numbered schema migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SQLiteStorage(SQLiteActions):
    """Everything durable, in one SQLite file: residents, sessions, answers, updates, flows."""

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect, switch to WAL and apply any migrations not yet applied."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun explicitly, as BEGIN IMMEDIATE.
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._migrate()

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def now(self) -> datetime:
        """The time by storage's clock (tests move it by hand)."""
        return self._clock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    async def _migrate(self) -> None:
        async with self._lock:
            row = await (await self.db.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            for number, script in migrations():
                if number <= current:
                    continue
                # executescript commits on its own; the version is bumped inside the script.
                await self.db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._lock:
            cursor = await self.db.execute(sql, tuple(params))
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            rows = await self.db.execute_fetchall(sql, tuple(params))
            return list(rows)

    # Updates --------------------------------------------------------------------------------

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

    async def record_updates(self, updates: Sequence[tuple[int, str]]) -> None:
        """Keep a batch of raw updates (update_id, JSON) as fetched; repeats are ignored."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO updates (update_id, received_at, payload) VALUES (?, ?, ?)",
                [(update_id, now, payload) for update_id, payload in updates],
            )

    async def unfinished_updates(self, limit: int = 100_000) -> list[tuple[int, str]]:
        """Updates kept but not processed, or processed with replies not yet sent, oldest first."""
        rows = await self._fetchall(
            "SELECT update_id, payload FROM updates"
            " WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL)"
            " ORDER BY update_id LIMIT ?",
            (limit,),
        )
        return [(row["update_id"], row["payload"]) for row in rows]

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
        """Whether the sender of this update has had a later update of theirs processed since
        (the replies to this one are then out of date)."""
        row = await self._fetchone(
            f"SELECT 1 FROM updates AS later, updates AS this WHERE this.update_id = ?"
            f" AND later.update_id > this.update_id AND later.processed_at IS NOT NULL"
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
            f" AND substr(key, 1, {len(REPLY_KEY)}) = ? LIMIT 1",
            (chat_id, REPLY_KEY),
        )
        return row is not None

    async def mark_replied(self, update_id: int) -> None:
        """Record that the replies to an update went out."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE updates SET replied_at = ? WHERE update_id = ?",
                (_stamp(self._clock()), update_id),
            )

    # Residents ------------------------------------------------------------------------------

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
                " WHERE action = 'safeguarding alert' AND json_extract(detail, '$.resident') = ?",
                ("a resident whose data was deleted at their request", resident.pseudonym),
            )
            await db.execute(
                f"DELETE FROM updates WHERE {_SENT_BY} = ?", (resident.telegram_user_id,)
            )
            await db.execute(
                "DELETE FROM previews WHERE telegram_user_id = ?", (resident.telegram_user_id,)
            )
            await db.execute("DELETE FROM residents WHERE id = ?", (resident.id,))

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete answers (and the raw messages that carried them) given before `cutoff`."""
        async with self._transaction() as db:
            deleted = await db.execute(
                "DELETE FROM answers WHERE answered_at < ?", (_stamp(cutoff),)
            )
            await db.execute("DELETE FROM updates WHERE received_at < ?", (_stamp(cutoff),))
            # Digests and alerts that went out (or never could) quote answers too.
            await db.execute(
                "DELETE FROM outbox WHERE COALESCE(sent_at, failed_at) < ?", (_stamp(cutoff),)
            )
        return deleted.rowcount

    async def backup(self, target: Path) -> None:
        """A consistent copy of the whole database, taken while the bot goes on (online backup)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock, aiosqlite.connect(target) as copy:
            await self.db.backup(copy)

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

    # Sessions and answers -------------------------------------------------------------------

    async def active_session(self, resident_id: int) -> Session | None:
        """The resident's latest session that is still under way."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = ? AND status = 'active' "
            "ORDER BY id DESC LIMIT 1",
            (resident_id,),
        )
        return _session(row) if row else None

    async def latest_session(self, resident_id: int) -> Session | None:
        """The resident's latest conversation, whatever its status (not the thread of their
        reactions to what the service told them)."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = ? AND status != ? ORDER BY id DESC LIMIT 1",
            (resident_id, THREAD),
        )
        return _session(row) if row else None

    async def save_turn(self, turn: Turn) -> Session:
        """Commit a session's new state, its answer and the update as processed, all at once."""
        async with self._transaction() as db:
            return await self._save_turn(db, turn, _stamp(self._clock()))

    async def save_turns(self, turns: Iterable[Turn]) -> list[Session]:
        """Commit many turns in one transaction (imports and benchmarks)."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            return [await self._save_turn(db, turn, now) for turn in turns]

    async def _save_turn(self, db: aiosqlite.Connection, turn: Turn, now: str) -> Session:
        if turn.session_id is None:
            cursor = await db.execute(
                "INSERT INTO sessions (resident_id, flow_id, flow_version, step_id, status,"
                " state, started_at, updated_at, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.resident_id,
                    turn.flow_id,
                    turn.flow_version,
                    turn.step_id,
                    turn.status,
                    turn.state,
                    now,
                    now,
                    now,
                ),
            )
            session_id = cursor.lastrowid
            assert session_id is not None
        else:
            session_id = turn.session_id
            # A new question starts its own clock for a reminder and for expiry.
            await db.execute(
                "UPDATE sessions SET asked_at = CASE WHEN step_id IS ? THEN asked_at ELSE ? END,"
                " reminded_at = CASE WHEN step_id IS ? THEN reminded_at ELSE NULL END,"
                " step_id = ?, status = ?, state = ?, updated_at = ? WHERE id = ?",
                (
                    turn.step_id,
                    now,
                    turn.step_id,
                    turn.step_id,
                    turn.status,
                    turn.state,
                    now,
                    session_id,
                ),
            )
        if turn.answer is not None:
            answer = turn.answer
            found = answer.analysed
            if answer.kind == "reaction":
                # A second tap changes the resident's reaction; it never counts twice.
                await db.execute(
                    "DELETE FROM answers WHERE resident_id = ? AND flow_id = ? AND step_id = ?"
                    " AND kind = 'reaction'",
                    (turn.resident_id, turn.flow_id, answer.step_id),
                )
            cursor = await db.execute(
                "INSERT INTO answers (resident_id, session_id, flow_id, flow_version, step_id,"
                " question, answer, number, answered_at, update_id, kind, asks_for,"
                " themes, sentiment, tone, key_phrases, safeguarding)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.resident_id,
                    session_id,
                    turn.flow_id,
                    turn.flow_version,
                    answer.step_id,
                    answer.question,
                    answer.text,
                    answer.number,
                    now,
                    turn.update_id,
                    answer.kind,
                    answer.asks_for,
                    _joined(found.themes) if found else None,
                    found.sentiment if found else None,
                    found.tone if found else None,
                    _joined(found.key_phrases) if found and not answer.safeguarding else None,
                    _joined(answer.safeguarding) if answer.safeguarding else None,
                ),
            )
            if found and found.themes:
                await db.executemany(
                    "INSERT OR IGNORE INTO answer_themes (answer_id, theme) VALUES (?, ?)",
                    [(cursor.lastrowid, theme) for theme in found.themes],
                )
            if answer.follow_up_consent is not None:
                await db.execute(
                    "UPDATE residents SET follow_up_consent = ? WHERE id = ?",
                    (int(answer.follow_up_consent), turn.resident_id),
                )
        if turn.alert is not None:
            # Queued with the answer itself: an answer is never stored without its alert.
            await self._insert_outgoing(db, turn.alert.messages)
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 0, ?, ?)",
                (now, "safeguarding alert", json.dumps(turn.alert.audit, default=str)),
            )
        if turn.update_id is not None:
            await db.execute(
                "UPDATE updates SET processed_at = ?, replies = ? WHERE update_id = ?",
                (now, turn.replies, turn.update_id),
            )
            # The resident has moved on: replies to their earlier messages that Telegram could
            # not take at the time (waiting in the outbox) would now be out of date.
            await db.execute(
                "UPDATE outbox SET failed_at = ?, error = 'out of date: the resident moved on'"
                " WHERE chat_id = (SELECT chat_id FROM residents WHERE id = ?)"
                " AND sent_at IS NULL AND failed_at IS NULL"  # (the index of waiting messages)
                f" AND substr(key, 1, {len(REPLY_KEY)}) = ?",
                (now, turn.resident_id, REPLY_KEY),
            )
        return Session(
            id=session_id,
            resident_id=turn.resident_id,
            flow_id=turn.flow_id,
            flow_version=turn.flow_version,
            step_id=turn.step_id,
            status=turn.status,
            state=turn.state,
        )

    async def waiting_sessions(self) -> list[tuple[Session, int, datetime, bool]]:
        """Sessions under way whose resident can still be written to: each with the chat to
        write to, when its question was asked, and whether the reminder has gone."""
        rows = await self._fetchall(
            "SELECT s.*, r.chat_id AS chat, s.asked_at AS asked,"
            " s.reminded_at IS NOT NULL AS reminded"
            " FROM sessions s JOIN residents r ON r.id = s.resident_id"
            " WHERE s.status = 'active' AND r.stopped_at IS NULL AND r.blocked_at IS NULL"
            " AND r.telegram_user_id > 0 ORDER BY s.id"
        )
        return [
            (_session(row), row["chat"], _moment(row["asked"]), bool(row["reminded"]))
            for row in rows
        ]

    async def queue_reminder(self, session_id: int, message: OutgoingMessage) -> None:
        """Queue a session's reminder and note it sent, together: a question is nudged once."""
        async with self._transaction() as db:
            await self._insert_outgoing(db, [message])
            await db.execute(
                "UPDATE sessions SET reminded_at = ? WHERE id = ?",
                (_stamp(self._clock()), session_id),
            )

    async def count_answers(self, resident_id: int | None = None) -> int:
        """How many answers are stored, for one resident or for everyone."""
        if resident_id is None:
            row = await self._fetchone("SELECT COUNT(*) FROM answers")
        else:
            row = await self._fetchone(
                "SELECT COUNT(*) FROM answers WHERE resident_id = ?", (resident_id,)
            )
        return int(row[0]) if row else 0

    async def export_rows(self, since: datetime | None = None) -> list[ExportRow]:
        """Every answer (since a moment, if given), oldest first, under pseudonyms only."""
        rows = await self._fetchall(
            "SELECT r.pseudonym, a.flow_id, a.flow_version, a.step_id, a.question, a.answer,"
            " a.answered_at, a.themes, a.sentiment FROM answers a"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE a.answered_at >= ? ORDER BY a.answered_at, a.id",
            (_stamp(since) if since else "",),
        )
        return [
            ExportRow(
                resident=row["pseudonym"],
                flow=row["flow_id"],
                flow_version=row["flow_version"],
                step=row["step_id"],
                question=row["question"],
                answer=row["answer"],
                answered_at=_moment(row["answered_at"]),
                themes=_split(row["themes"]),
                sentiment=row["sentiment"],
            )
            for row in rows
        ]

    # Flows ----------------------------------------------------------------------------------

    async def publish_flow(self, flow_id: str, source: str) -> FlowVersion:
        """Store a new version of a flow and make it the live one."""
        async with self._transaction() as db:
            return await self._publish(db, flow_id, source)

    async def _publish(self, db: aiosqlite.Connection, flow_id: str, source: str) -> FlowVersion:
        now = self._clock()
        cursor = await db.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions WHERE flow_id = ?",
            (flow_id,),
        )
        row = await cursor.fetchone()
        version = int(row[0]) if row else 1
        await db.execute(
            "INSERT INTO flow_versions (flow_id, version, source, published_at)"
            " VALUES (?, ?, ?, ?)",
            (flow_id, version, source, _stamp(now)),
        )
        await self._go_live(db, flow_id, version)
        return FlowVersion(flow_id, version, source, now)

    async def _go_live(self, db: aiosqlite.Connection, flow_id: str, version: int) -> None:
        await db.execute(
            "INSERT INTO live_flows (flow_id, version, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (flow_id) DO UPDATE SET version = excluded.version,"
            " changed_at = excluded.changed_at",
            (flow_id, version, _stamp(self._clock())),
        )

    async def save_draft(self, flow_id: str, source: str, saved_by: int | None) -> None:
        """Keep an admin's checked YAML as the flow's draft, replacing any earlier draft."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO flow_drafts (flow_id, source, saved_at, saved_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (flow_id) DO UPDATE SET source = excluded.source,"
                " saved_at = excluded.saved_at, saved_by = excluded.saved_by",
                (flow_id, source, _stamp(self._clock()), saved_by),
            )

    async def draft(self, flow_id: str) -> str | None:
        """The flow's draft YAML, if it has one."""
        row = await self._fetchone("SELECT source FROM flow_drafts WHERE flow_id = ?", (flow_id,))
        return str(row[0]) if row else None

    async def publish_draft(self, flow_id: str) -> FlowVersion | None:
        """Make the flow's draft its new live version; None if there is no draft."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT source FROM flow_drafts WHERE flow_id = ?", (flow_id,)
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            published = await self._publish(db, flow_id, row[0])
            await db.execute("DELETE FROM flow_drafts WHERE flow_id = ?", (flow_id,))
        return published

    async def roll_back(self, flow_id: str) -> FlowVersion | None:
        """Make the version before the live one live again; None if there is none before it."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT f.* FROM flow_versions f JOIN live_flows l USING (flow_id)"
                " WHERE f.flow_id = ? AND f.version < l.version ORDER BY f.version DESC LIMIT 1",
                (flow_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await self._go_live(db, flow_id, row["version"])
        return _flow_version(row)

    async def live_flow(self, flow_id: str) -> FlowVersion | None:
        """The version of a flow that new sessions start on."""
        row = await self._fetchone(
            "SELECT f.* FROM flow_versions f JOIN live_flows l USING (flow_id, version)"
            " WHERE f.flow_id = ?",
            (flow_id,),
        )
        return _flow_version(row) if row else None

    async def flow_version(self, flow_id: str, version: int) -> FlowVersion | None:
        """One particular version of a flow, as residents mid-way through it still need it."""
        row = await self._fetchone(
            "SELECT * FROM flow_versions WHERE flow_id = ? AND version = ?", (flow_id, version)
        )
        return _flow_version(row) if row else None

    async def live_flows(self) -> list[FlowVersion]:
        """The live version of every flow."""
        rows = await self._fetchall(
            "SELECT f.* FROM flow_versions f JOIN live_flows l USING (flow_id, version)"
            " ORDER BY f.flow_id"
        )
        return [_flow_version(row) for row in rows]

    async def drafted_flows(self) -> set[str]:
        """The ids of flows that have a draft waiting."""
        return {row[0] for row in await self._fetchall("SELECT flow_id FROM flow_drafts")}

    # Previews -------------------------------------------------------------------------------

    async def start_preview(
        self, telegram_user_id: int, flow_id: str, source: str, state: str
    ) -> None:
        """Begin (or begin again) an admin's preview of a flow's draft."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO previews (telegram_user_id, flow_id, source, state,"
                " answers, started_at) VALUES (?, ?, ?, ?, '[]', ?)",
                (telegram_user_id, flow_id, source, state, _stamp(self._clock())),
            )

    async def preview(self, telegram_user_id: int) -> tuple[str, str, str] | None:
        """The admin's preview under way: flow id, its YAML, and the engine state."""
        row = await self._fetchone(
            "SELECT flow_id, source, state FROM previews WHERE telegram_user_id = ?",
            (telegram_user_id,),
        )
        return (row[0], row[1], row[2]) if row else None

    async def save_preview(self, telegram_user_id: int, state: str, answer: str | None) -> None:
        """Keep a preview's new state, and its answer apart from residents' answers."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE previews SET state = ?, answers = CASE WHEN ? IS NULL THEN answers"
                " ELSE json_insert(answers, '$[#]', ?) END WHERE telegram_user_id = ?",
                (state, answer, answer, telegram_user_id),
            )

    async def preview_answers(self, telegram_user_id: int) -> list[str]:
        """What the admin answered in their preview so far."""
        row = await self._fetchone(
            "SELECT answers FROM previews WHERE telegram_user_id = ?", (telegram_user_id,)
        )
        return list(json.loads(row[0])) if row else []

    async def end_preview(self, telegram_user_id: int) -> None:
        """End an admin's preview; its answers go with it."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM previews WHERE telegram_user_id = ?", (telegram_user_id,))

    # Staff and invites ----------------------------------------------------------------------

    async def create_invite(self, code: str, created_by: int, expires_at: datetime) -> None:
        """Keep a one-time invite code made by an admin."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO invites (code, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (code, created_by, _stamp(self._clock()), _stamp(expires_at)),
            )

    async def redeem_invite(
        self, code: str, telegram_user_id: int, chat_id: int, name: str
    ) -> StaffMember | None:
        """Spend an unused, unexpired invite code on a new member of staff; None if it is not."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            spent = await db.execute(
                "UPDATE invites SET used_by = ?, used_at = ?"
                " WHERE code = ? AND used_by IS NULL AND expires_at > ?",
                (telegram_user_id, now, code, now),
            )
            if spent.rowcount != 1:
                return None
            await db.execute(
                "INSERT INTO staff (telegram_user_id, chat_id, name, joined_at, invite_code)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (telegram_user_id) DO UPDATE SET"
                " chat_id = excluded.chat_id, name = excluded.name, blocked_at = NULL",
                (telegram_user_id, chat_id, name, now, code),
            )
            cursor = await db.execute(
                "SELECT * FROM staff WHERE telegram_user_id = ?", (telegram_user_id,)
            )
            row = await cursor.fetchone()
        assert row is not None
        return _staff(row)

    async def staff_member(self, telegram_user_id: int) -> StaffMember | None:
        """The member of staff with this Telegram id, if they are one."""
        row = await self._fetchone(
            "SELECT * FROM staff WHERE telegram_user_id = ?", (telegram_user_id,)
        )
        return _staff(row) if row else None

    async def staff_members(self) -> list[StaffMember]:
        """Every member of staff, in the order they joined."""
        return [_staff(row) for row in await self._fetchall("SELECT * FROM staff ORDER BY id")]

    async def remove_staff(self, staff_id: int) -> StaffMember | None:
        """Remove a member of staff; returns who it was, or None if there was no such one."""
        async with self._transaction() as db:
            cursor = await db.execute("SELECT * FROM staff WHERE id = ?", (staff_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            await db.execute("DELETE FROM staff WHERE id = ?", (staff_id,))
        return _staff(row)

    async def set_safeguarding(self, staff_id: int, contact: bool) -> StaffMember | None:
        """Make a member of staff a safeguarding contact, or not; None if there is no such one."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE staff SET safeguarding = ? WHERE id = ? RETURNING *",
                (int(contact), staff_id),
            )
            row = await cursor.fetchone()
        return None if row is None else _staff(row)

    async def safeguarding_staff(self) -> list[StaffMember]:
        """The staff marked as safeguarding contacts who can still be written to."""
        rows = await self._fetchall(
            "SELECT * FROM staff WHERE safeguarding = 1 AND blocked_at IS NULL ORDER BY id"
        )
        return [_staff(row) for row in rows]

    async def set_chat_blocked(self, chat_id: int) -> None:
        """Record that whoever is in this chat (staff or resident) has blocked the bot."""
        async with self._transaction() as db:
            for table in ("staff", "residents"):
                await db.execute(
                    f"UPDATE {table} SET blocked_at = ? WHERE chat_id = ?",
                    (_stamp(self._clock()), chat_id),
                )

    async def broadcast_audience(self) -> list[tuple[int, int]]:
        """Residents (id, chat id) who said yes to hearing back, and have not stopped or blocked."""
        rows = await self._fetchall(
            "SELECT id, chat_id FROM residents WHERE follow_up_consent = 1"
            " AND stopped_at IS NULL AND blocked_at IS NULL AND telegram_user_id > 0 ORDER BY id"
        )
        return [(row[0], row[1]) for row in rows]

    async def audit(self, actor: int, action: str, **detail: object) -> None:
        """Write an admin's action to the audit log."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (_stamp(self._clock()), actor, action, json.dumps(detail, default=str)),
            )

    async def audit_log(self) -> list[tuple[datetime, int, str, dict[str, Any]]]:
        """The audit log, oldest first: when, who (Telegram id), what, and the details."""
        rows = await self._fetchall("SELECT * FROM audit_log ORDER BY id")
        return [
            (_moment(row["at"]), row["actor"], row["action"], json.loads(row["detail"]))
            for row in rows
        ]

    # Digests --------------------------------------------------------------------------------

    async def claim_digest(self, start: datetime, end: datetime) -> tuple[int, bool]:
        """The digest for a period: its id, and whether it has already been queued for staff."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO digests (period_start, period_end, created_at)"
                " VALUES (?, ?, ?)",
                (_stamp(start), _stamp(end), _stamp(self._clock())),
            )
            cursor = await db.execute(
                "SELECT id, queued_at FROM digests WHERE period_start = ? AND period_end = ?",
                (_stamp(start), _stamp(end)),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), row[1] is not None

    async def enqueue_digest(self, digest_id: int, messages: Iterable[OutgoingMessage]) -> int:
        """Queue a digest's messages and mark it queued, in one transaction."""
        async with self._transaction() as db:
            added = await self._insert_outgoing(db, messages)
            await db.execute(
                "UPDATE digests SET queued_at = ? WHERE id = ?",
                (_stamp(self._clock()), digest_id),
            )
        return added

    async def answers_between(self, start: datetime, end: datetime) -> list[AnswerFact]:
        """Every answer given in [start, end), with what the analysis found in it."""
        rows = await self._fetchall(
            "SELECT r.pseudonym, a.flow_id, a.step_id, a.question, a.kind, a.answer, a.number,"
            " a.answered_at, a.themes, a.sentiment, a.tone, a.key_phrases,"
            " a.safeguarding IS NOT NULL FROM answers a"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE a.answered_at >= ? AND a.answered_at < ? ORDER BY a.answered_at, a.id",
            (_stamp(start), _stamp(end)),
        )
        return [_fact(row) for row in rows]

    async def period_figures(self, start: datetime, end: datetime) -> PeriodFigures:
        """Counts of the answers given in [start, end): residents, tones, themes, scales."""
        span = (_stamp(start), _stamp(end))
        in_span = "a.answered_at >= ? AND a.answered_at < ?"
        totals = await self._fetchone(
            "SELECT COUNT(DISTINCT a.resident_id), COUNT(*), SUM(a.tone = 'negative'),"
            " SUM(a.tone = 'neutral'), SUM(a.tone = 'positive'),"
            " SUM(a.safeguarding IS NOT NULL)"
            f" FROM answers a WHERE {in_span}",
            span,
        )
        themes = await self._fetchall(
            # The week's answers first (by time), then their themes (by key).
            "SELECT t.theme, COALESCE(a.tone, ''), COUNT(*) FROM answers a"
            f" CROSS JOIN answer_themes t ON t.answer_id = a.id WHERE {in_span}"
            " GROUP BY t.theme, a.tone",
            span,
        )
        scales = await self._fetchall(
            f"SELECT a.question, AVG(a.number), COUNT(*) FROM answers a WHERE {in_span}"
            " AND a.kind = 'scale' AND a.number IS NOT NULL GROUP BY a.question ORDER BY MIN(a.id)",
            span,
        )
        phrases = await self._fetchall(
            f"SELECT a.key_phrases FROM answers a WHERE {in_span}"
            " AND (a.themes IS NULL OR a.themes = '') AND a.key_phrases != ''",
            span,
        )
        theme_tones: dict[str, dict[str, int]] = {}
        for theme, tone, count in themes:
            theme_tones.setdefault(theme, {})[tone] = count
        unthemed: Counter[str] = Counter()
        for row in phrases:
            unthemed.update(set(_split(row[0])))
        return PeriodFigures(
            residents=int(totals[0]) if totals else 0,
            answers=int(totals[1]) if totals else 0,
            tones={
                tone: int(count or 0)
                for tone, count in zip(TONES, totals[2:] if totals else (), strict=False)
                if count
            },
            theme_tones=theme_tones,
            scales=tuple((question, float(average), count) for question, average, count in scales),
            unthemed_phrases=dict(unthemed),
            held_back=int(totals[5] or 0) if totals else 0,
        )

    async def quote_candidates(
        self, theme: str, start: datetime, end: datetime, pool: int = 300
    ) -> list[AnswerFact]:
        """A theme's latest open answers of a readable length in [start, end), newest first.

        Only the latest `pool` are read (walking the theme's index backwards), so quotes are
        picked from recent voices without reading every answer of a busy week.
        """
        rows = await self._fetchall(
            "SELECT r.pseudonym, a.flow_id, a.step_id, a.question, a.kind, a.answer, a.number,"
            " a.answered_at, a.themes, a.sentiment, a.tone, a.key_phrases,"
            " a.safeguarding IS NOT NULL"
            " FROM answer_themes t JOIN answers a ON a.id = t.answer_id"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE t.theme = ? AND a.answered_at >= ? AND a.answered_at < ?"
            " AND a.kind = 'text' AND length(a.answer) BETWEEN ? AND ?"
            " AND a.safeguarding IS NULL"
            " ORDER BY t.answer_id DESC LIMIT ?",
            (theme, _stamp(start), _stamp(end), SHORTEST_QUOTE, READABLE_QUOTE, pool),
        )
        return [_fact(row) for row in rows]

    # Outbox ---------------------------------------------------------------------------------

    async def enqueue(self, messages: Iterable[OutgoingMessage]) -> int:
        """Queue messages to send; one whose key is already queued is left as it is."""
        async with self._transaction() as db:
            return await self._insert_outgoing(db, messages)

    async def _insert_outgoing(
        self, db: aiosqlite.Connection, messages: Iterable[OutgoingMessage]
    ) -> int:
        now = _stamp(self._clock())
        added = 0
        for message in messages:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO outbox (key, chat_id, method, text, filename,"
                " attachment, created_at, not_before, resident_id, markup, priority)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.key,
                    message.chat_id,
                    message.method,
                    message.text,
                    message.filename,
                    message.attachment,
                    now,
                    now,
                    message.resident_id,
                    message.markup,
                    message.priority,
                ),
            )
            added += cursor.rowcount
        return added

    async def raise_alert(self, alert: Alert) -> None:
        """Queue a safeguarding alert and write it to the audit log, in one transaction."""
        async with self._transaction() as db:
            await self._insert_outgoing(db, alert.messages)
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 0, ?, ?)",
                (_stamp(self._clock()), "safeguarding alert", json.dumps(alert.audit, default=str)),
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

    async def claim_due(self, limit: int = 20, hold: float = 60.0) -> list[QueuedMessage]:
        """Take messages that may go out now, oldest first, so no other sender takes them too.

        A claim lapses after `hold` seconds, so a sender that died leaves nothing stuck.
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
                "UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT id FROM outbox"
                " WHERE sent_at IS NULL AND failed_at IS NULL AND not_before <= ?"
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
                (_stamp(now + timedelta(seconds=hold)), _stamp(now), _stamp(now), limit),
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
                "UPDATE outbox SET claimed_until = NULL WHERE id = ?",
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


def _joined(values: Iterable[str]) -> str:
    return ";".join(values)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


def _fact(row: sqlite3.Row) -> AnswerFact:
    return AnswerFact(
        resident=row[0],
        flow=row[1],
        step=row[2],
        question=row[3],
        kind=row[4],
        answer=row[5],
        number=row[6],
        answered_at=_moment(row[7]),
        themes=_split(row[8]),
        sentiment=row[9],
        tone=row[10],
        key_phrases=_split(row[11]),
        held_back=bool(row[12]),
    )


def _staff(row: sqlite3.Row) -> StaffMember:
    return StaffMember(
        id=row["id"],
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        name=row["name"],
        joined_at=_moment(row["joined_at"]),
        safeguarding=bool(row["safeguarding"]),
        blocked=row["blocked_at"] is not None,
    )


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


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        resident_id=row["resident_id"],
        flow_id=row["flow_id"],
        flow_version=row["flow_version"],
        step_id=row["step_id"],
        status=row["status"],
        state=row["state"],
    )


def _flow_version(row: sqlite3.Row) -> FlowVersion:
    return FlowVersion(
        flow_id=row["flow_id"],
        version=row["version"],
        source=row["source"],
        published_at=_moment(row["published_at"]),
    )


def restore(backup: Path, database: Path) -> None:
    """Put a backup back in place of the database (the bot must not be running).

    The backup is checked first: a file that is not a sound whatmatters database changes nothing.
    """
    try:
        with contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source:
            version = source.execute("PRAGMA user_version").fetchone()[0]
            sound = source.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            if not sound or version < 1:
                raise ValueError(f"{backup} is not a whatmatters database")
            with contextlib.closing(sqlite3.connect(database)) as target:
                source.backup(target)
    except sqlite3.DatabaseError:
        raise ValueError(f"{backup} is not a whatmatters database") from None
