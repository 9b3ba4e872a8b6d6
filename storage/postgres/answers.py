"""Sessions and answers in PostgreSQL: turns committed whole, reminders, exports and counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

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
from storage.postgres.base import Connection, PostgresBase, Record, _count, _joined, _split

TONES = ("negative", "neutral", "positive")
# Quotes staff will actually read: not a word or two, not a page.
SHORTEST_QUOTE = 15
READABLE_QUOTE = 300

_FACT_COLUMNS = (
    "r.pseudonym, a.flow_id, a.step_id, a.question, a.kind, a.answer, a.number,"
    " a.answered_at, a.themes, a.sentiment, a.tone, a.key_phrases,"
    " a.safeguarding IS NOT NULL, a.id"
)


class PostgresAnswers(PostgresBase):
    """Implements `storage.interfaces.Answers`."""

    async def active_session(self, resident_id: int) -> Session | None:
        """The resident's latest session that is still under way."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = $1 AND status = 'active'"
            " ORDER BY id DESC LIMIT 1",
            resident_id,
        )
        return _session(row) if row else None

    async def latest_session(self, resident_id: int) -> Session | None:
        """The resident's latest conversation, whatever its status (not the thread of their
        reactions to what the service told them)."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = $1 AND status != $2"
            " ORDER BY id DESC LIMIT 1",
            resident_id,
            THREAD,
        )
        return _session(row) if row else None

    async def save_turn(self, turn: Turn) -> Session:
        """Commit a session's new state, its answer and the update as processed, all at once."""
        async with self._transaction() as conn:
            return await self._save_turn(conn, turn, self._clock())

    async def save_turns(self, turns: Iterable[Turn]) -> list[Session]:
        """Commit many turns in one transaction (imports and benchmarks)."""
        now = self._clock()
        async with self._transaction() as conn:
            return [await self._save_turn(conn, turn, now) for turn in turns]

    async def _save_turn(self, conn: Connection, turn: Turn, now: datetime) -> Session:
        if turn.update_id is not None:
            # Only an update nobody has processed yet: of two workers that both took it (one of
            # them after its claim lapsed), the second waits for the first's row, sees it
            # processed, and changes nothing.
            marked = await conn.execute(
                "UPDATE updates SET processed_at = $1, replies = $2 WHERE update_id = $3"
                " AND processed_at IS NULL",
                now,
                turn.replies,
                turn.update_id,
            )
            if marked == "UPDATE 0" and await conn.fetchval(
                "SELECT true FROM updates WHERE update_id = $1", turn.update_id
            ):
                raise AlreadyHandled(f"update {turn.update_id} was processed already")
        if turn.session_id is None:
            session_id = int(
                await conn.fetchval(
                    "INSERT INTO sessions (resident_id, flow_id, flow_version, step_id, status,"
                    " state, started_at, updated_at, asked_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING id",
                    turn.resident_id,
                    turn.flow_id,
                    turn.flow_version,
                    turn.step_id,
                    turn.status,
                    turn.state,
                    now,
                )
            )
        else:
            session_id = turn.session_id
            # A new question starts its own clock for a reminder and for expiry.
            await conn.execute(
                "UPDATE sessions SET"
                " asked_at = CASE WHEN step_id IS NOT DISTINCT FROM $1 THEN asked_at ELSE $2 END,"
                " reminded_at = CASE WHEN step_id IS NOT DISTINCT FROM $1 THEN reminded_at END,"
                " step_id = $1, status = $3, state = $4, updated_at = $2 WHERE id = $5",
                turn.step_id,
                now,
                turn.status,
                turn.state,
                session_id,
            )
        if turn.answer is not None:
            answer = turn.answer
            found = answer.analysed
            if answer.kind == "reaction":
                # A second tap changes the resident's reaction; it never counts twice.
                await conn.execute(
                    "DELETE FROM answers WHERE resident_id = $1 AND flow_id = $2 AND step_id = $3"
                    " AND kind = 'reaction'",
                    turn.resident_id,
                    turn.flow_id,
                    answer.step_id,
                )
            answer_id = await conn.fetchval(
                "INSERT INTO answers (resident_id, session_id, flow_id, flow_version, step_id,"
                " question, answer, number, answered_at, update_id, kind, asks_for,"
                " themes, sentiment, tone, key_phrases, safeguarding)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
                " $17) RETURNING id",
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
            )
            if found and found.themes:
                # Each theme with the tone of the words about it (else the answer's tone).
                await conn.execute(
                    "INSERT INTO answer_themes (answer_id, theme, tone)"
                    " SELECT $1, t.theme, t.tone FROM unnest($2::text[], $3::text[]) AS t (theme,"
                    " tone) ON CONFLICT DO NOTHING",
                    answer_id,
                    list(found.themes),
                    [found.theme_tones.get(theme, found.tone) for theme in found.themes],
                )
            if answer.follow_up_consent is not None:
                await conn.execute(
                    "UPDATE residents SET follow_up_consent = $1 WHERE id = $2",
                    answer.follow_up_consent,
                    turn.resident_id,
                )
        if turn.alert is not None:
            # Queued with the answer itself: an answer is never stored without its alert.
            await self._insert_outgoing(conn, turn.alert.messages)
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, 0, $2, $3)",
                now,
                "safeguarding alert",
                json.dumps(turn.alert.audit, default=str),
            )
        if turn.update_id is not None:
            # The resident has moved on: replies to their earlier messages that Telegram could
            # not take at the time (waiting in the outbox) would now be out of date.
            await conn.execute(
                "UPDATE outbox SET failed_at = $1, error = 'out of date: the resident moved on'"
                " WHERE chat_id = (SELECT chat_id FROM residents WHERE id = $2)"
                " AND sent_at IS NULL AND failed_at IS NULL AND starts_with(key, $3)",
                now,
                turn.resident_id,
                REPLY_KEY,
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
            WaitingSession(_session(row), row["chat"], row["asked"], bool(row["reminded"]))
            for row in rows
        ]

    async def queue_reminder(self, session_id: int, message: OutgoingMessage) -> None:
        """Queue a session's reminder and note it sent, together: a question is nudged once."""
        async with self._transaction() as conn:
            await self._insert_outgoing(conn, [message])
            await conn.execute(
                "UPDATE sessions SET reminded_at = $1 WHERE id = $2", self._clock(), session_id
            )

    async def count_answers(self, resident_id: int | None = None) -> int:
        """How many answers are stored, for one resident or for everyone."""
        if resident_id is None:
            return int(await self._fetchval("SELECT COUNT(*) FROM answers"))
        return int(
            await self._fetchval("SELECT COUNT(*) FROM answers WHERE resident_id = $1", resident_id)
        )

    async def export_rows(self, since: datetime | None = None) -> list[ExportRow]:
        """Every answer (since a moment, if given), oldest first, under pseudonyms only."""
        rows = await self._fetchall(
            "SELECT r.pseudonym, a.flow_id, a.flow_version, a.step_id, a.question, a.answer,"
            " a.answered_at, a.themes, a.sentiment FROM answers a"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE $1::timestamptz IS NULL OR a.answered_at >= $1 ORDER BY a.answered_at, a.id",
            since,
        )
        return [
            ExportRow(
                resident=row["pseudonym"],
                flow=row["flow_id"],
                flow_version=row["flow_version"],
                step=row["step_id"],
                question=row["question"],
                answer=row["answer"],
                answered_at=row["answered_at"],
                themes=_split(row["themes"]),
                sentiment=row["sentiment"],
            )
            for row in rows
        ]

    async def answers_between(self, start: datetime, end: datetime) -> list[AnswerFact]:
        """Every answer given in [start, end), with what the analysis found in it."""
        rows = await self._fetchall(
            f"SELECT {_FACT_COLUMNS} FROM answers a JOIN residents r ON r.id = a.resident_id"
            " WHERE a.answered_at >= $1 AND a.answered_at < $2 ORDER BY a.answered_at, a.id",
            start,
            end,
        )
        return [_fact(row) for row in rows]

    async def period_figures(self, start: datetime, end: datetime) -> PeriodFigures:
        """Counts of the answers given in [start, end): residents, tones, themes, scales."""
        in_span = "a.answered_at >= $1 AND a.answered_at < $2"
        totals = await self._fetchone(
            "SELECT COUNT(DISTINCT a.resident_id), COUNT(*),"
            " COUNT(*) FILTER (WHERE a.tone = 'negative'),"
            " COUNT(*) FILTER (WHERE a.tone = 'neutral'),"
            " COUNT(*) FILTER (WHERE a.tone = 'positive'),"
            " COUNT(*) FILTER (WHERE a.safeguarding IS NOT NULL)"
            # A tap on "This helps" under an action is a reaction, not an answer.
            f" FROM answers a WHERE {in_span} AND a.kind IS DISTINCT FROM 'reaction'",
            start,
            end,
        )
        themes = await self._fetchall(
            # Each theme's own tone (the words about it), else the answer's.
            "SELECT t.theme, COALESCE(t.tone, a.tone, '') AS theme_tone, COUNT(*) FROM answers a"
            f" JOIN answer_themes t ON t.answer_id = a.id WHERE {in_span}"
            " GROUP BY t.theme, theme_tone",
            start,
            end,
        )
        scales = await self._fetchall(
            f"SELECT a.question, AVG(a.number), COUNT(*) FROM answers a WHERE {in_span}"
            " AND a.kind = 'scale' AND a.number IS NOT NULL GROUP BY a.question ORDER BY MIN(a.id)",
            start,
            end,
        )
        phrases = await self._fetchall(
            f"SELECT a.key_phrases FROM answers a WHERE {in_span}"
            " AND (a.themes IS NULL OR a.themes = '') AND a.key_phrases != ''",
            start,
            end,
        )
        theme_tones: dict[str, dict[str, int]] = {}
        for theme, tone, count in themes:
            theme_tones.setdefault(theme, {})[tone] = int(count)
        unthemed: Counter[str] = Counter()
        for row in phrases:
            unthemed.update(set(_split(row[0])))
        counts = [int(value) for value in totals] if totals else [0] * 6
        return PeriodFigures(
            residents=counts[0],
            answers=counts[1],
            tones={tone: count for tone, count in zip(TONES, counts[2:5], strict=True) if count},
            theme_tones=theme_tones,
            scales=tuple(
                (question, float(average), int(count)) for question, average, count in scales
            ),
            unthemed_phrases=dict(unthemed),
            held_back=counts[5],
        )

    async def quote_candidates(
        self, theme: str, start: datetime, end: datetime, pool: int = 300
    ) -> list[AnswerFact]:
        """A theme's latest open answers of a readable length in [start, end), newest first;
        only the latest `pool` are read."""
        rows = await self._fetchall(
            f"SELECT {_FACT_COLUMNS}"
            " FROM answer_themes t JOIN answers a ON a.id = t.answer_id"
            " JOIN residents r ON r.id = a.resident_id"
            " WHERE t.theme = $1 AND a.answered_at >= $2 AND a.answered_at < $3"
            " AND a.kind = 'text' AND length(a.answer) BETWEEN $4 AND $5"
            " AND a.safeguarding IS NULL"
            " ORDER BY t.answer_id DESC LIMIT $6",
            theme,
            start,
            end,
            SHORTEST_QUOTE,
            READABLE_QUOTE,
            pool,
        )
        return [_fact(row) for row in rows]

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete answers (and the raw messages that carried them) given before `cutoff`."""
        async with self._transaction() as conn:
            deleted = await conn.execute("DELETE FROM answers WHERE answered_at < $1", cutoff)
            await conn.execute("DELETE FROM updates WHERE received_at < $1", cutoff)
            # Digests and alerts that went out (or never could) quote answers too.
            await conn.execute("DELETE FROM outbox WHERE COALESCE(sent_at, failed_at) < $1", cutoff)
        return _count(deleted)

    async def latest_answers(self, resident_id: int, limit: int = 5) -> list[OwnAnswer]:
        """A resident's latest answers, newest first (for them to pick one to delete)."""
        rows = await self._fetchall(
            "SELECT id, question, answer, answered_at FROM answers WHERE resident_id = $1"
            " ORDER BY answered_at DESC, id DESC LIMIT $2",
            resident_id,
            limit,
        )
        return [_own(row) for row in rows]

    async def forget_answer(
        self, resident: Resident, answer_id: int, quoted_by: str = ""
    ) -> OwnAnswer | None:
        """Delete one of this resident's answers, its themes and the words that carried it."""
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                "SELECT id, question, answer, answered_at, update_id FROM answers"
                " WHERE id = $1 AND resident_id = $2",
                answer_id,
                resident.id,
            )
            if row is None:
                return None
            if quoted_by:  # (before the carrying update loses its sender with its words)
                await conn.execute(
                    "UPDATE updates SET payload = '{}'::jsonb, replies = NULL WHERE sent_by = $1"
                    " AND (strpos(payload::text, $2) > 0 OR strpos(COALESCE(replies, ''), $2) > 0)",
                    resident.telegram_user_id,
                    quoted_by,
                )
            await conn.execute("DELETE FROM answer_themes WHERE answer_id = $1", answer_id)
            await conn.execute("DELETE FROM answers WHERE id = $1", answer_id)
            if row["update_id"] is not None:
                # Kept as a processed id without its words: Telegram may send an update again.
                await conn.execute(
                    "UPDATE updates SET payload = '{}'::jsonb, replies = NULL WHERE update_id = $1",
                    row["update_id"],
                )
        return _own(row)


def _own(row: Record) -> OwnAnswer:
    return OwnAnswer(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        answered_at=row["answered_at"],
    )


def _session(row: Record) -> Session:
    return Session(
        id=row["id"],
        resident_id=row["resident_id"],
        flow_id=row["flow_id"],
        flow_version=row["flow_version"],
        step_id=row["step_id"],
        status=row["status"],
        state=row["state"],
    )


def _fact(row: Record) -> AnswerFact:
    return AnswerFact(
        resident=row[0],
        flow=row[1],
        step=row[2],
        question=row[3],
        kind=row[4],
        answer=row[5],
        number=row[6],
        answered_at=row[7],
        themes=_split(row[8]),
        sentiment=row[9],
        tone=row[10],
        key_phrases=_split(row[11]),
        held_back=bool(row[12]),
        answer_id=row[13],
    )
