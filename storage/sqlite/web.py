"""The web dashboard in SQLite: sign-in links and sessions (kept as hashes), weekly figures and
pages of answers filtered as staff ask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.sqlite.answers import TONES, _fact
from storage.sqlite.base import SQLiteBase, _moment, _stamp
from storage.web_models import AnswerPage, AnswerQuery, WebSession, WeekFigures

_FACT_COLUMNS = (
    "r.pseudonym, a.flow_id, a.step_id, a.question, a.kind, a.answer, a.number,"
    " a.answered_at, a.themes, a.sentiment, a.tone, a.key_phrases, a.safeguarding IS NOT NULL,"
    " a.id"
)


class SQLiteDashboard(SQLiteBase):
    """Implements `storage.interfaces.Dashboard`."""

    async def create_sign_in_link(
        self, token_hash: str, telegram_user_id: int, expires_at: datetime
    ) -> None:
        """Keep a one-time sign-in link (its token's hash) for a member of staff."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO web_links (token_hash, telegram_user_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, telegram_user_id, _stamp(self._clock()), _stamp(expires_at)),
            )

    async def sign_in_link_open(self, token_hash: str) -> bool:
        """Whether a sign-in link can still be spent (known, unused, unexpired)."""
        row = await self._fetchone(
            "SELECT 1 FROM web_links WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            (token_hash, _stamp(self._clock())),
        )
        return row is not None

    async def spend_sign_in_link(
        self, token_hash: str, session_hash: str, session_expires_at: datetime
    ) -> int | None:
        """Spend an unused, unexpired link and open a session in its place, together; the
        Telegram id it was for, or None (unknown, used or expired: nothing changes)."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE web_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at > ? RETURNING telegram_user_id",
                (now, token_hash, now),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            user = int(row[0])
            await db.execute(
                "INSERT INTO web_sessions (token_hash, telegram_user_id, started_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session_hash, user, now, _stamp(session_expires_at)),
            )
        return user

    async def web_session(self, session_hash: str) -> WebSession | None:
        """The session with this cookie's hash, if it has neither ended nor expired."""
        row = await self._fetchone(
            "SELECT telegram_user_id, started_at, expires_at FROM web_sessions"
            " WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?",
            (session_hash, _stamp(self._clock())),
        )
        if row is None:
            return None
        return WebSession(int(row[0]), _moment(row[1]), _moment(row[2]))

    async def end_web_session(self, session_hash: str) -> None:
        """End one session (signing out)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                (_stamp(self._clock()), session_hash),
            )

    async def end_web_sessions(self, telegram_user_id: int) -> int:
        """End every session of one person (no longer staff); how many were open."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE telegram_user_id = ?"
                " AND ended_at IS NULL",
                (_stamp(self._clock()), telegram_user_id),
            )
        return cursor.rowcount

    async def forget_spent_web_access(self, now: datetime) -> int:
        """Delete sign-in links and sessions that can no longer be used by `now`."""
        stamp = _stamp(now)
        async with self._transaction() as db:
            links = await db.execute("DELETE FROM web_links WHERE expires_at <= ?", (stamp,))
            sessions = await db.execute(
                "DELETE FROM web_sessions WHERE expires_at <= ? OR ended_at IS NOT NULL", (stamp,)
            )
        return max(links.rowcount, 0) + max(sessions.rowcount, 0)

    async def weekly_figures(
        self,
        weeks: Sequence[tuple[datetime, datetime]],
        theme: str | None = None,
        themes_in_last: int = 2,
    ) -> list[WeekFigures]:
        """Residents, answers and tones of each week [start, end) in the order given: of one
        theme's answers, or of all, with each theme's count in the last `themes_in_last` weeks."""
        if not weeks:
            return []
        values = ", ".join("(?, ?, ?)" for _ in weeks)
        bounds: list[Any] = []
        for n, (start, end) in enumerate(weeks):
            bounds += [n, _stamp(start), _stamp(end)]
        # (a tap on "This helps" under an action is a reaction, not an answer)
        span = "a.answered_at >= w.s AND a.answered_at < w.e AND a.kind IS NOT 'reaction'"
        if theme is None:
            source = f"weeks w JOIN answers a ON {span}"
            params: list[Any] = bounds
        else:
            # Driven by the theme's index (CROSS JOIN fixes the order): the planner would
            # otherwise read every answer of the theme once per week.
            source = (
                "answer_themes t CROSS JOIN answers a ON a.id = t.answer_id"
                f" CROSS JOIN weeks w ON {span} WHERE t.theme = ?"
            )
            params = [*bounds, theme]
        totals = await self._fetchall(
            f"WITH weeks(n, s, e) AS (VALUES {values})"
            " SELECT w.n, COUNT(*), COUNT(DISTINCT a.resident_id), SUM(a.tone = 'negative'),"
            f" SUM(a.tone = 'neutral'), SUM(a.tone = 'positive') FROM {source} GROUP BY w.n",
            params,
        )
        themes: dict[int, dict[str, int]] = {}
        recent = min(max(themes_in_last, 0), len(weeks))
        if theme is None and recent:
            first = len(weeks) - recent
            rows = await self._fetchall(
                f"WITH weeks(n, s, e) AS (VALUES {values})"
                f" SELECT w.n, t.theme, COUNT(*) FROM weeks w JOIN answers a ON {span}"
                " JOIN answer_themes t ON t.answer_id = a.id WHERE w.n >= ?"
                " GROUP BY w.n, t.theme",
                [*bounds, first],
            )
            for n, name, count in rows:
                themes.setdefault(int(n), {})[name] = int(count)
        found = {int(row[0]): row for row in totals}
        figures = []
        for n, (start, end) in enumerate(weeks):
            row = found.get(n)
            tones = (
                {tone: int(count or 0) for tone, count in zip(TONES, row[3:6], strict=True)}
                if row
                else dict.fromkeys(TONES, 0)
            )
            figures.append(
                WeekFigures(
                    start=start,
                    end=end,
                    residents=int(row[2]) if row else 0,
                    answers=int(row[1]) if row else 0,
                    tones=tones,
                    themes=themes.get(n, {}),
                )
            )
        return figures

    async def find_answers(
        self, query: AnswerQuery, limit: int | None = 50, offset: int = 0
    ) -> AnswerPage:
        """The answers that match, newest first (`limit` None: all of them), and their number."""
        where, params = _conditions(query)
        source = "answers a JOIN residents r ON r.id = a.resident_id"
        if query.theme is not None:
            source += " JOIN answer_themes t ON t.answer_id = a.id AND t.theme = ?"
            params = [query.theme, *params]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        count = await self._fetchone(f"SELECT COUNT(*) FROM {source}{clause}", params)
        # A theme's answers come by walking its index backwards (same order, no sort).
        newest = "t.answer_id DESC" if query.theme is not None else "a.id DESC"
        rows = await self._fetchall(
            f"SELECT {_FACT_COLUMNS} FROM {source}{clause} ORDER BY {newest} LIMIT ? OFFSET ?",
            [*params, -1 if limit is None else limit, offset],
        )
        return AnswerPage(tuple(_fact(row) for row in rows), int(count[0]) if count else 0)


def _conditions(query: AnswerQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if not query.with_held_back:
        where.append("a.safeguarding IS NULL")
    if query.flow is not None:
        where.append("a.flow_id = ?")
        params.append(query.flow)
    if query.step is not None:
        where.append("a.step_id = ?")
        params.append(query.step)
    if query.tone is not None:
        where.append("a.tone = ?")
        params.append(query.tone)
    if query.start is not None:
        where.append("a.answered_at >= ?")
        params.append(_stamp(query.start))
    if query.end is not None:
        where.append("a.answered_at < ?")
        params.append(_stamp(query.end))
    if query.words:
        escaped = query.words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("a.answer LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return where, params
