"""SQLite storage through aiosqlite: the only module that speaks SQL.

One connection in WAL mode; every read and write takes an asyncio lock so that concurrent
handlers never interleave statements inside one another's transactions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from storage.models import (
    ExportRow,
    FlowVersion,
    RecordedUpdate,
    Resident,
    Session,
    Turn,
    UpdateStatus,
)
from storage.pseudonyms import new_pseudonym

Clock = Callable[[], datetime]


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


class SQLiteStorage:
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

    async def mark_processed(self, update_id: int, replies: str | None = None) -> None:
        """Record that an update needed no stored change, with what the bot answers to it."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE updates SET processed_at = ?, replies = ? WHERE update_id = ?",
                (_stamp(self._clock()), replies, update_id),
            )

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

    async def resident_by_id(self, resident_id: int) -> Resident | None:
        """The resident with this internal id, if any."""
        row = await self._fetchone("SELECT * FROM residents WHERE id = ?", (resident_id,))
        return _resident(row) if row else None

    async def set_stopped(self, resident_id: int, stopped: bool) -> None:
        """Record that a resident asked for no more messages (/stop), or asked again (/start)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE residents SET stopped_at = ? WHERE id = ?",
                (_stamp(self._clock()) if stopped else None, resident_id),
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
        """The resident's latest session, whatever its status."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = ? ORDER BY id DESC LIMIT 1",
            (resident_id,),
        )
        return _session(row) if row else None

    async def save_turn(self, turn: Turn) -> Session:
        """Commit a session's new state, its answer and the update as processed, all at once."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            if turn.session_id is None:
                cursor = await db.execute(
                    "INSERT INTO sessions (resident_id, flow_id, flow_version, step_id, status,"
                    " state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        turn.resident_id,
                        turn.flow_id,
                        turn.flow_version,
                        turn.step_id,
                        turn.status,
                        turn.state,
                        now,
                        now,
                    ),
                )
                session_id = cursor.lastrowid
                assert session_id is not None
            else:
                session_id = turn.session_id
                await db.execute(
                    "UPDATE sessions SET step_id = ?, status = ?, state = ?, updated_at = ?"
                    " WHERE id = ?",
                    (turn.step_id, turn.status, turn.state, now, session_id),
                )
            if turn.answer is not None:
                answer = turn.answer
                await db.execute(
                    "INSERT INTO answers (resident_id, session_id, flow_id, flow_version, step_id,"
                    " question, answer, number, answered_at, update_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    ),
                )
                if answer.follow_up_consent is not None:
                    await db.execute(
                        "UPDATE residents SET follow_up_consent = ? WHERE id = ?",
                        (int(answer.follow_up_consent), turn.resident_id),
                    )
            if turn.update_id is not None:
                await db.execute(
                    "UPDATE updates SET processed_at = ?, replies = ? WHERE update_id = ?",
                    (now, turn.replies, turn.update_id),
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
                themes=tuple(t for t in (row["themes"] or "").split(";") if t),
                sentiment=row["sentiment"],
            )
            for row in rows
        ]

    # Flows ----------------------------------------------------------------------------------

    async def publish_flow(self, flow_id: str, source: str) -> FlowVersion:
        """Store a new live version of a flow and return it."""
        now = self._clock()
        async with self._transaction() as db:
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
        return FlowVersion(flow_id, version, source, now)

    async def live_flow(self, flow_id: str) -> FlowVersion | None:
        """The version of a flow that new sessions start on."""
        row = await self._fetchone(
            "SELECT * FROM flow_versions WHERE flow_id = ? ORDER BY version DESC LIMIT 1",
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
            "SELECT f.* FROM flow_versions f JOIN (SELECT flow_id, MAX(version) AS version"
            " FROM flow_versions GROUP BY flow_id) live USING (flow_id, version)"
            " ORDER BY f.flow_id"
        )
        return [_flow_version(row) for row in rows]


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
