"""Staff's theme corrections in PostgreSQL: an answer moved off a theme, counted per theme."""

from __future__ import annotations

import json

from storage.models import CorrectionCount, ThemeCorrection
from storage.postgres.base import PostgresBase, _joined, _split


class PostgresCorrections(PostgresBase):
    """Implements `storage.interfaces.Corrections`."""

    async def correct_theme(
        self, answer_id: int, from_theme: str, to_theme: str | None, by_user_id: int, by_name: str
    ) -> ThemeCorrection | None:
        """Move an answer off `from_theme` (onto `to_theme`, or none), keep who and when, and
        audit it, in one transaction; None if the answer is gone or no longer has that theme."""
        now = self._clock()
        async with self._transaction() as conn:
            # The answer's row is locked: two members of staff correcting it at once take turns,
            # and the second reads the themes the first left.
            row = await conn.fetchrow(
                "SELECT t.tone, a.themes FROM answers a JOIN answer_themes t"
                " ON t.answer_id = a.id AND t.theme = $2 WHERE a.id = $1 FOR UPDATE OF a",
                answer_id,
                from_theme,
            )
            if row is None:
                return None
            tone, stored = row[0], row[1]
            await conn.execute(
                "DELETE FROM answer_themes WHERE answer_id = $1 AND theme = $2",
                answer_id,
                from_theme,
            )
            themes = [theme for theme in _split(stored) if theme != from_theme]
            if to_theme is not None and to_theme not in themes:
                # The words that made the wrong theme are about this one: their tone goes with.
                await conn.execute(
                    "INSERT INTO answer_themes (answer_id, theme, tone) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING",
                    answer_id,
                    to_theme,
                    tone,
                )
                themes.append(to_theme)
            await conn.execute(
                "UPDATE answers SET themes = $1 WHERE id = $2", _joined(themes), answer_id
            )
            await conn.execute(
                "INSERT INTO theme_corrections (answer_id, from_theme, to_theme, by_user_id,"
                " by_name, at) VALUES ($1, $2, $3, $4, $5, $6)",
                answer_id,
                from_theme,
                to_theme,
                by_user_id,
                by_name,
                now,
            )
            detail = {"answer_id": answer_id, "from": from_theme, "to": to_theme}
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                now,
                by_user_id,
                "correct theme",
                json.dumps(detail),
            )
        return ThemeCorrection(
            answer_id=answer_id,
            from_theme=from_theme,
            to_theme=to_theme,
            by_user_id=by_user_id,
            by_name=by_name,
            at=now,
            themes=tuple(themes),
        )

    async def correction_counts(self) -> list[CorrectionCount]:
        """Every theme staff corrected: answers moved off it and onto it, most moved off first."""
        rows = await self._fetchall(
            "SELECT theme, SUM(off), SUM(onto) FROM ("
            " SELECT from_theme AS theme, 1 AS off, 0 AS onto FROM theme_corrections"
            " UNION ALL SELECT to_theme, 0, 1 FROM theme_corrections WHERE to_theme IS NOT NULL"
            ') AS moved GROUP BY theme ORDER BY SUM(off) DESC, SUM(onto) DESC, theme COLLATE "C"'
        )
        return [CorrectionCount(row[0], int(row[1]), int(row[2])) for row in rows]
