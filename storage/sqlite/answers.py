"""Sessions and answers in SQLite: turns committed whole, reminders, exports and counts."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from storage.errors import AlreadyHandled
from storage.models import (
    REPLY_KEY,
    THREAD,
    AnswerFact,
    ExportRow,
    OutgoingMessage,
    OwnAnswer,
    PeriodFigures,
    Resident,
    Session,
    Turn,
    WaitingSession,
)
from storage.sqlite.base import SQLiteBase, _joined, _moment, _split, _stamp
from storage.sqlite.residents import _SENT_BY

TONES = ("negative", "neutral", "positive")
# Quotes staff will actually read: not a word or two, not a page.
SHORTEST_QUOTE = 15
READABLE_QUOTE = 300


class SQLiteAnswers(SQLiteBase):
    """Implements `storage.interfaces.Answers`."""

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
        if turn.update_id is not None:
            # Only an update nobody has processed yet: two workers that both took it (one of
            # them after its claim lapsed) keep it once, and the second changes nothing.
            marked = await db.execute(
                "UPDATE updates SET processed_at = ?, replies = ? WHERE update_id = ?"
                " AND processed_at IS NULL",
                (now, turn.replies, turn.update_id),
            )
            if marked.rowcount == 0:
                kept = await db.execute(
                    "SELECT 1 FROM updates WHERE update_id = ?", (turn.update_id,)
                )
                if await kept.fetchone() is not None:
                    raise AlreadyHandled(f"update {turn.update_id} was processed already")
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
                # Each theme with the tone of the words about it (else the answer's tone).
                await db.executemany(
                    "INSERT OR IGNORE INTO answer_themes (answer_id, theme, tone) VALUES (?, ?, ?)",
                    [
                        (cursor.lastrowid, theme, found.theme_tones.get(theme, found.tone))
                        for theme in found.themes
                    ],
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

    async def waiting_sessions(self) -> list[WaitingSession]:
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
            WaitingSession(_session(row), row["chat"], _moment(row["asked"]), bool(row["reminded"]))
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

    async def answers_between(self, start: datetime, end: datetime) -> list[AnswerFact]:
        """Every answer given in [start, end), with what the analysis found in it."""
        rows = await self._fetchall(
            "SELECT r.pseudonym, a.flow_id, a.step_id, a.question, a.kind, a.answer, a.number,"
            " a.answered_at, a.themes, a.sentiment, a.tone, a.key_phrases,"
            " a.safeguarding IS NOT NULL, a.id FROM answers a"
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
            # A tap on "This helps" under an action is a reaction, not an answer.
            f" FROM answers a WHERE {in_span} AND a.kind IS NOT 'reaction'",
            span,
        )
        themes = await self._fetchall(
            # The week's answers first (by time), then their themes (by key).
            # Each theme's own tone (the words about it), else the answer's.
            "SELECT t.theme, COALESCE(t.tone, a.tone, '') AS theme_tone, COUNT(*) FROM answers a"
            f" CROSS JOIN answer_themes t ON t.answer_id = a.id WHERE {in_span}"
            " GROUP BY t.theme, theme_tone",
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
            " a.safeguarding IS NOT NULL, a.id"
            " FROM answer_themes t JOIN answers a ON a.id = t.answer_id"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE t.theme = ? AND a.answered_at >= ? AND a.answered_at < ?"
            " AND a.kind = 'text' AND length(a.answer) BETWEEN ? AND ?"
            " AND a.safeguarding IS NULL"
            " ORDER BY t.answer_id DESC LIMIT ?",
            (theme, _stamp(start), _stamp(end), SHORTEST_QUOTE, READABLE_QUOTE, pool),
        )
        return [_fact(row) for row in rows]

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

    async def latest_answers(self, resident_id: int, limit: int = 5) -> list[OwnAnswer]:
        """A resident's latest answers, newest first (for them to pick one to delete)."""
        rows = await self._fetchall(
            "SELECT id, question, answer, answered_at FROM answers WHERE resident_id = ?"
            " ORDER BY answered_at DESC, id DESC LIMIT ?",
            (resident_id, limit),
        )
        return [_own(row) for row in rows]

    async def forget_answer(
        self, resident: Resident, answer_id: int, quoted_by: str = ""
    ) -> OwnAnswer | None:
        """Delete one of this resident's answers, its themes and the words that carried it."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT id, question, answer, answered_at, update_id FROM answers"
                " WHERE id = ? AND resident_id = ?",
                (answer_id, resident.id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await db.execute("DELETE FROM answer_themes WHERE answer_id = ?", (answer_id,))
            await db.execute("DELETE FROM answers WHERE id = ?", (answer_id,))
            if row["update_id"] is not None:
                # Kept as a processed id without its words: Telegram may send an update again.
                await db.execute(
                    "UPDATE updates SET payload = '{}', replies = NULL WHERE update_id = ?",
                    (row["update_id"],),
                )
            if quoted_by:
                await db.execute(
                    "UPDATE updates SET payload = '{}', replies = NULL"
                    f" WHERE {_SENT_BY} = ? AND (instr(payload, ?) OR instr(replies, ?))",
                    (resident.telegram_user_id, quoted_by, quoted_by),
                )
        return _own(row)


def _own(row: sqlite3.Row) -> OwnAnswer:
    return OwnAnswer(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        answered_at=_moment(row["answered_at"]),
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
        answer_id=row[13],
    )
