"""The web dashboard in PostgreSQL: sign-in links and sessions (kept as hashes), weekly figures
and pages of answers filtered as staff ask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.postgres.answers import _FACT_COLUMNS, TONES, _fact
from storage.postgres.base import PostgresBase, _count
from storage.web_models import AnswerPage, AnswerQuery, WebSession, WeekFigures


class PostgresDashboard(PostgresBase):
    """Implements `storage.interfaces.Dashboard`."""

    async def create_sign_in_link(
        self, token_hash: str, telegram_user_id: int, expires_at: datetime
    ) -> None:
        """Keep a one-time sign-in link (its token's hash) for a member of staff."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO web_links (token_hash, telegram_user_id, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                token_hash,
                telegram_user_id,
                self._clock(),
                expires_at,
            )

    async def sign_in_link_open(self, token_hash: str) -> bool:
        """Whether a sign-in link can still be spent (known, unused, unexpired)."""
        row = await self._fetchone(
            "SELECT 1 FROM web_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            token_hash,
            self._clock(),
        )
        return row is not None

    async def spend_sign_in_link(
        self, token_hash: str, session_hash: str, session_expires_at: datetime
    ) -> int | None:
        """Spend an unused, unexpired link and open a session in its place, together; the
        Telegram id it was for, or None (unknown, used or expired: nothing changes)."""
        now = self._clock()
        async with self._transaction() as conn:
            # Of two spends at once, the second waits on the row and then finds it used.
            user = await conn.fetchval(
                "UPDATE web_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL"
                " AND expires_at > $1 RETURNING telegram_user_id",
                now,
                token_hash,
            )
            if user is None:
                return None
            await conn.execute(
                "INSERT INTO web_sessions (token_hash, telegram_user_id, started_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                session_hash,
                user,
                now,
                session_expires_at,
            )
        return int(user)

    async def web_session(self, session_hash: str) -> WebSession | None:
        """The session with this cookie's hash, if it has neither ended nor expired."""
        row = await self._fetchone(
            "SELECT telegram_user_id, started_at, expires_at FROM web_sessions"
            " WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2",
            session_hash,
            self._clock(),
        )
        if row is None:
            return None
        return WebSession(int(row[0]), row[1], row[2])

    async def end_web_session(self, session_hash: str) -> None:
        """End one session (signing out)."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE web_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
                self._clock(),
                session_hash,
            )

    async def end_web_sessions(self, telegram_user_id: int) -> int:
        """End every session of one person (no longer staff); how many were open."""
        async with self._transaction() as conn:
            status = await conn.execute(
                "UPDATE web_sessions SET ended_at = $1 WHERE telegram_user_id = $2"
                " AND ended_at IS NULL",
                self._clock(),
                telegram_user_id,
            )
        return _count(status)

    async def forget_spent_web_access(self, now: datetime) -> int:
        """Delete sign-in links and sessions that can no longer be used by `now`."""
        async with self._transaction() as conn:
            links = await conn.execute("DELETE FROM web_links WHERE expires_at <= $1", now)
            sessions = await conn.execute(
                "DELETE FROM web_sessions WHERE expires_at <= $1 OR ended_at IS NOT NULL", now
            )
        return _count(links) + _count(sessions)

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
        # The weeks travel as three arrays, numbered from 0 in the order given.
        weeks_sql = (
            "SELECT (w.n - 1)::integer AS n, w.s, w.e"
            " FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS w (s, e, n)"
        )
        starts = [start for start, _ in weeks]
        ends = [end for _, end in weeks]
        # (a tap on "This helps" under an action is a reaction, not an answer)
        span = "a.answered_at >= w.s AND a.answered_at < w.e AND a.kind IS DISTINCT FROM 'reaction'"
        tones = ", ".join(f"COUNT(*) FILTER (WHERE a.tone = '{tone}')" for tone in TONES)
        if theme is None:
            source = f"weeks w JOIN answers a ON {span}"
            params: list[Any] = [starts, ends]
        else:
            source = (
                f"weeks w JOIN answers a ON {span}"
                " JOIN answer_themes t ON t.answer_id = a.id AND t.theme = $3"
            )
            params = [starts, ends, theme]
        totals = await self._fetchall(
            f"WITH weeks AS ({weeks_sql})"
            f" SELECT w.n, COUNT(*), COUNT(DISTINCT a.resident_id), {tones}"
            f" FROM {source} GROUP BY w.n",
            *params,
        )
        themes: dict[int, dict[str, int]] = {}
        recent = min(max(themes_in_last, 0), len(weeks))
        if theme is None and recent:
            first = len(weeks) - recent
            rows = await self._fetchall(
                f"WITH weeks AS ({weeks_sql})"
                f" SELECT w.n, t.theme, COUNT(*) FROM weeks w JOIN answers a ON {span}"
                " JOIN answer_themes t ON t.answer_id = a.id WHERE w.n >= $3"
                " GROUP BY w.n, t.theme",
                starts,
                ends,
                first,
            )
            for n, name, count in rows:
                themes.setdefault(int(n), {})[name] = int(count)
        found = {int(row[0]): row for row in totals}
        figures = []
        for n, (start, end) in enumerate(weeks):
            row = found.get(n)
            figures.append(
                WeekFigures(
                    start=start,
                    end=end,
                    residents=int(row[2]) if row else 0,
                    answers=int(row[1]) if row else 0,
                    tones=(
                        {tone: int(row[3 + i]) for i, tone in enumerate(TONES)}
                        if row
                        else dict.fromkeys(TONES, 0)
                    ),
                    themes=themes.get(n, {}),
                )
            )
        return figures

    async def find_answers(
        self, query: AnswerQuery, limit: int | None = 50, offset: int = 0
    ) -> AnswerPage:
        """The answers that match, newest first (`limit` None: all of them), and their number."""
        params: list[Any] = []

        def param(value: Any) -> str:
            params.append(value)
            return f"${len(params)}"

        source = "answers a JOIN residents r ON r.id = a.resident_id"
        if query.theme is not None:
            source += (
                f" JOIN answer_themes t ON t.answer_id = a.id AND t.theme = {param(query.theme)}"
            )
        where: list[str] = []
        if not query.with_held_back:
            where.append("a.safeguarding IS NULL")
        if query.flow is not None:
            where.append(f"a.flow_id = {param(query.flow)}")
        if query.step is not None:
            where.append(f"a.step_id = {param(query.step)}")
        if query.tone is not None:
            where.append(f"a.tone = {param(query.tone)}")
        if query.start is not None:
            where.append(f"a.answered_at >= {param(query.start)}")
        if query.end is not None:
            where.append(f"a.answered_at < {param(query.end)}")
        if query.words:
            # Any case, as SQLite's LIKE is for ASCII; the words are matched literally.
            escaped = query.words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(f"a.answer ILIKE {param(f'%{escaped}%')} ESCAPE '\\'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = await self._fetchval(f"SELECT COUNT(*) FROM {source}{clause}", *params)
        page = f" LIMIT {param(limit)} OFFSET {param(offset)}"
        rows = await self._fetchall(
            f"SELECT {_FACT_COLUMNS} FROM {source}{clause} ORDER BY a.id DESC{page}", *params
        )
        return AnswerPage(tuple(_fact(row) for row in rows), int(total or 0))
