"""\"You said, we did\" in SQLite: actions, their history, who was told, staff's drafts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from storage.models import (
    Action,
    ActionChange,
    ActionDraft,
    ActionSummary,
    Listener,
    OutgoingMessage,
    Session,
    ThemeCount,
)
from storage.sqlite.answers import _session
from storage.sqlite.base import SQLiteBase, _stamp

# The flow whose answers are residents' reactions and replies (services.actions.FLOW_ID).
LOOP_FLOW = "you-said-we-did"


def _action(row: sqlite3.Row) -> Action:
    return Action(
        id=row["id"],
        theme=row["theme"],
        text=row["text"],
        status=row["status"],
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


class SQLiteActions(SQLiteBase):
    """Implements `storage.interfaces.Actions`."""

    async def theme_counts(self, since: datetime) -> list[ThemeCount]:
        """Themes of answers given since `since`, most said first, with whether each has an
        action."""
        rows = await self._fetchall(
            "SELECT t.theme, COUNT(*) AS answers,"
            " EXISTS (SELECT 1 FROM actions WHERE actions.theme = t.theme) AS has_action"
            " FROM answers a JOIN answer_themes t ON t.answer_id = a.id"
            " WHERE a.answered_at >= ? AND a.flow_id != ?"
            " GROUP BY t.theme ORDER BY answers DESC, t.theme",
            (_stamp(since), LOOP_FLOW),
        )
        return [ThemeCount(row[0], row[1], bool(row[2])) for row in rows]

    async def listeners(
        self, theme: str, since: datetime, action_id: int | None, status: str
    ) -> list[Listener]:
        """Residents to tell of an action on `theme` at `status`: opted in to hearing back, an
        answer on the theme since `since`, not stopped or blocked, not told of it at this status
        already; each with their latest such answer that carried no sign of risk."""
        rows = await self._fetchall(
            "WITH spoke AS (SELECT a.resident_id, a.answer, a.safeguarding, a.answered_at, a.id"
            " FROM answer_themes t JOIN answers a ON a.id = t.answer_id"
            " WHERE t.theme = ? AND a.answered_at >= ? AND a.flow_id != ?)"
            " SELECT r.id, r.chat_id,"
            " (SELECT s.answer FROM spoke s WHERE s.resident_id = r.id AND s.safeguarding IS NULL"
            "  ORDER BY s.answered_at DESC, s.id DESC LIMIT 1) AS quote"
            " FROM residents r WHERE r.id IN (SELECT resident_id FROM spoke)"
            " AND r.follow_up_consent = 1 AND r.stopped_at IS NULL AND r.blocked_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM action_recipients x WHERE x.action_id = ?"
            "  AND x.resident_id = r.id AND x.status = ?)"
            " ORDER BY r.id",
            (theme, _stamp(since), LOOP_FLOW, action_id or 0, status),
        )
        return [Listener(row[0], row[1], row[2]) for row in rows]

    async def save_action(
        self,
        action_id: int | None,
        *,
        theme: str,
        status: str,
        text: str,
        reason: str | None,
        by: int,
        listeners: Sequence[Listener],
        message: Callable[[Action, Listener], OutgoingMessage],
    ) -> Action:
        """Record a new action (`action_id` None) or a change to one, its history entry, the
        audit entry, and one outbox message per listener, all in one transaction. Telling is
        idempotent on (action, status, resident): a listener told already is skipped."""
        now = _stamp(self._clock())
        async with self._transaction() as db:
            if action_id is None:
                cursor = await db.execute(
                    "INSERT INTO actions (theme, text, status, reason, created_by, created_at,"
                    " updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (theme, text, status, reason, by, now, by, now),
                )
                action_id = cursor.lastrowid
                assert action_id is not None
            else:
                await db.execute(
                    "UPDATE actions SET text = ?, status = ?, reason = ?, updated_by = ?,"
                    " updated_at = ? WHERE id = ?",
                    (text, status, reason, by, now, action_id),
                )
            cursor = await db.execute("SELECT * FROM actions WHERE id = ?", (action_id,))
            row = await cursor.fetchone()
            assert row is not None
            action = _action(row)
            told = 0
            if listeners:
                inserted = await db.executemany(
                    "INSERT OR IGNORE INTO action_recipients (action_id, resident_id, status,"
                    " told_at) VALUES (?, ?, ?, ?)",
                    [(action_id, x.resident_id, status, now) for x in listeners],
                )
                told = inserted.rowcount
                await self._insert_outgoing(db, (message(action, x) for x in listeners))
            await db.execute(
                "INSERT INTO action_changes (action_id, status, text, reason, changed_by,"
                " changed_at, told) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (action_id, status, text, reason, by, now, told),
            )
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (
                    now,
                    by,
                    "action recorded" if row["created_at"] == now else "action updated",
                    json.dumps(
                        {"action": action_id, "theme": theme, "status": status, "told": told}
                    ),
                ),
            )
        return action

    async def action(self, action_id: int) -> Action | None:
        """One action as it stands."""
        row = await self._fetchone("SELECT * FROM actions WHERE id = ?", (action_id,))
        return _action(row) if row else None

    async def action_history(self, action_id: int) -> list[ActionChange]:
        """Every version of an action, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM action_changes WHERE action_id = ? ORDER BY id", (action_id,)
        )
        return [
            ActionChange(
                row["action_id"],
                row["status"],
                row["text"],
                row["reason"],
                row["changed_by"],
                datetime.fromisoformat(row["changed_at"]),
                row["told"],
            )
            for row in rows
        ]

    async def action_summaries(self) -> list[ActionSummary]:
        """Every action with residents told, reactions and written replies; latest change first."""
        rows = await self._fetchall(
            "SELECT actions.*,"
            " (SELECT COUNT(DISTINCT resident_id) FROM action_recipients r"
            "  WHERE r.action_id = actions.id) AS told,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = ? AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'reaction' AND a.answer = 'helps') AS helps,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = ? AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'reaction' AND a.answer = 'not enough') AS not_enough,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = ? AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'text') AS replies"
            " FROM actions ORDER BY updated_at DESC, id DESC",
            (LOOP_FLOW, LOOP_FLOW, LOOP_FLOW),
        )
        return [
            ActionSummary(
                _action(row), row["told"], row["helps"], row["not_enough"], row["replies"]
            )
            for row in rows
        ]

    async def changed_actions(self, start: datetime, end: datetime) -> list[ActionChange]:
        """Changes made to actions in [start, end), oldest first (the digest's section)."""
        rows = await self._fetchall(
            "SELECT * FROM action_changes WHERE changed_at >= ? AND changed_at < ? ORDER BY id",
            (_stamp(start), _stamp(end)),
        )
        return [
            ActionChange(
                row["action_id"],
                row["status"],
                row["text"],
                row["reason"],
                row["changed_by"],
                datetime.fromisoformat(row["changed_at"]),
                row["told"],
            )
            for row in rows
        ]

    async def told_lately(self, resident_id: int, since: datetime) -> Action | None:
        """The latest action this resident was told of since `since`, if any."""
        row = await self._fetchone(
            "SELECT actions.* FROM action_recipients r JOIN actions ON actions.id = r.action_id"
            " WHERE r.resident_id = ? AND r.told_at >= ? ORDER BY r.told_at DESC LIMIT 1",
            (resident_id, _stamp(since)),
        )
        return _action(row) if row else None

    async def flow_session(self, resident_id: int, flow_id: str) -> Session | None:
        """The resident's latest session of one flow (the thread of their reactions)."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = ? AND flow_id = ? ORDER BY id DESC LIMIT 1",
            (resident_id, flow_id),
        )
        return _session(row) if row else None

    async def save_action_draft(self, draft: ActionDraft) -> None:
        """Keep a member of staff's action in the writing, replacing any earlier one of theirs."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO action_drafts (telegram_user_id, action_id, theme, stage,"
                " text, status, reason, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.telegram_user_id,
                    draft.action_id,
                    draft.theme,
                    draft.stage,
                    draft.text,
                    draft.status,
                    draft.reason,
                    _stamp(self._clock()),
                ),
            )

    async def action_draft(self, telegram_user_id: int) -> ActionDraft | None:
        """The action this member of staff is part-way through, if any."""
        row = await self._fetchone(
            "SELECT * FROM action_drafts WHERE telegram_user_id = ?", (telegram_user_id,)
        )
        if row is None:
            return None
        return ActionDraft(
            row["telegram_user_id"],
            row["action_id"],
            row["theme"],
            row["stage"],
            row["text"],
            row["status"],
            row["reason"],
        )

    async def drop_action_draft(self, telegram_user_id: int) -> None:
        """Forget an action in the writing (sent, cancelled, or its writer removed)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM action_drafts WHERE telegram_user_id = ?", (telegram_user_id,)
            )
