"""\"You said, we did\" in PostgreSQL: actions, their history, who was told, staff's drafts."""

from __future__ import annotations

import json
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
from storage.postgres.answers import _session
from storage.postgres.base import PostgresBase, Record

# The flow whose answers are residents' reactions and replies (services.actions.FLOW_ID).
LOOP_FLOW = "you-said-we-did"


def _action(row: Record) -> Action:
    return Action(
        id=row["id"],
        theme=row["theme"],
        text=row["text"],
        status=row["status"],
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _change(row: Record) -> ActionChange:
    return ActionChange(
        row["action_id"],
        row["status"],
        row["text"],
        row["reason"],
        row["changed_by"],
        row["changed_at"],
        row["told"],
    )


class PostgresActions(PostgresBase):
    """Implements `storage.interfaces.Actions`."""

    async def theme_counts(self, since: datetime) -> list[ThemeCount]:
        """Themes of answers given since `since`, most said first, with whether each has an
        action."""
        rows = await self._fetchall(
            "SELECT t.theme, COUNT(*) AS answers,"
            " EXISTS (SELECT 1 FROM actions WHERE actions.theme = t.theme) AS has_action"
            " FROM answers a JOIN answer_themes t ON t.answer_id = a.id"
            " WHERE a.answered_at >= $1 AND a.flow_id != $2"
            " GROUP BY t.theme ORDER BY answers DESC, t.theme",
            since,
            LOOP_FLOW,
        )
        return [ThemeCount(row[0], int(row[1]), bool(row[2])) for row in rows]

    async def listeners(
        self, theme: str, since: datetime, action_id: int | None, status: str
    ) -> list[Listener]:
        """Residents to tell of an action on `theme` at `status`: opted in to hearing back, an
        answer on the theme since `since`, not stopped or blocked, not told of it at this status
        already; each with their latest such answer that carried no sign of risk."""
        rows = await self._fetchall(
            "WITH spoke AS (SELECT a.resident_id, a.answer, a.safeguarding, a.answered_at, a.id"
            " FROM answer_themes t JOIN answers a ON a.id = t.answer_id"
            " WHERE t.theme = $1 AND a.answered_at >= $2 AND a.flow_id != $3)"
            " SELECT r.id, r.chat_id,"
            " (SELECT s.answer FROM spoke s WHERE s.resident_id = r.id AND s.safeguarding IS NULL"
            "  ORDER BY s.answered_at DESC, s.id DESC LIMIT 1) AS quote"
            " FROM residents r WHERE r.id IN (SELECT resident_id FROM spoke)"
            " AND r.follow_up_consent AND r.stopped_at IS NULL AND r.blocked_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM action_recipients x WHERE x.action_id = $4"
            "  AND x.resident_id = r.id AND x.status = $5)"
            " ORDER BY r.id",
            theme,
            since,
            LOOP_FLOW,
            action_id or 0,
            status,
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
        now = self._clock()
        async with self._transaction() as conn:
            if action_id is None:
                row = await conn.fetchrow(
                    "INSERT INTO actions (theme, text, status, reason, created_by, created_at,"
                    " updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING *",
                    theme,
                    text,
                    status,
                    reason,
                    by,
                    now,
                )
            else:
                row = await conn.fetchrow(
                    "UPDATE actions SET text = $1, status = $2, reason = $3, updated_by = $4,"
                    " updated_at = $5 WHERE id = $6 RETURNING *",
                    text,
                    status,
                    reason,
                    by,
                    now,
                    action_id,
                )
            assert row is not None
            action = _action(row)
            told = 0
            if listeners:
                # Only those not told of this action at this status yet are told now.
                fresh = {
                    record[0]
                    for record in await conn.fetch(
                        "INSERT INTO action_recipients (action_id, resident_id, status, told_at)"
                        " SELECT $1, resident_id, $2, $3 FROM unnest($4::bigint[]) AS resident_id"
                        " ON CONFLICT DO NOTHING RETURNING resident_id",
                        action.id,
                        status,
                        now,
                        [listener.resident_id for listener in listeners],
                    )
                }
                told = len(fresh)
                await self._insert_outgoing(
                    conn, (message(action, x) for x in listeners if x.resident_id in fresh)
                )
            await conn.execute(
                "INSERT INTO action_changes (action_id, status, text, reason, changed_by,"
                " changed_at, told) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                action.id,
                status,
                text,
                reason,
                by,
                now,
                told,
            )
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                now,
                by,
                "action recorded" if row["created_at"] == now else "action updated",
                json.dumps({"action": action.id, "theme": theme, "status": status, "told": told}),
            )
        return action

    async def action(self, action_id: int) -> Action | None:
        """One action as it stands."""
        row = await self._fetchone("SELECT * FROM actions WHERE id = $1", action_id)
        return _action(row) if row else None

    async def action_history(self, action_id: int) -> list[ActionChange]:
        """Every version of an action, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM action_changes WHERE action_id = $1 ORDER BY id", action_id
        )
        return [_change(row) for row in rows]

    async def action_summaries(self) -> list[ActionSummary]:
        """Every action with residents told, reactions and written replies; latest change first."""
        rows = await self._fetchall(
            "SELECT actions.*,"
            " (SELECT COUNT(DISTINCT resident_id) FROM action_recipients r"
            "  WHERE r.action_id = actions.id) AS told,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = $1 AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'reaction' AND a.answer = 'helps') AS helps,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = $1 AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'reaction' AND a.answer = 'not enough') AS not_enough,"
            " (SELECT COUNT(*) FROM answers a WHERE a.flow_id = $1 AND a.step_id = 'action-' ||"
            "  actions.id AND a.kind = 'text') AS replies"
            " FROM actions ORDER BY updated_at DESC, id DESC",
            LOOP_FLOW,
        )
        return [
            ActionSummary(
                _action(row),
                int(row["told"]),
                int(row["helps"]),
                int(row["not_enough"]),
                int(row["replies"]),
            )
            for row in rows
        ]

    async def changed_actions(self, start: datetime, end: datetime) -> list[ActionChange]:
        """Changes made to actions in [start, end), oldest first (the digest's section)."""
        rows = await self._fetchall(
            "SELECT * FROM action_changes WHERE changed_at >= $1 AND changed_at < $2 ORDER BY id",
            start,
            end,
        )
        return [_change(row) for row in rows]

    async def told_lately(self, resident_id: int, since: datetime) -> Action | None:
        """The latest action this resident was told of since `since`, if any."""
        row = await self._fetchone(
            "SELECT actions.* FROM action_recipients r JOIN actions ON actions.id = r.action_id"
            " WHERE r.resident_id = $1 AND r.told_at >= $2 ORDER BY r.told_at DESC LIMIT 1",
            resident_id,
            since,
        )
        return _action(row) if row else None

    async def flow_session(self, resident_id: int, flow_id: str) -> Session | None:
        """The resident's latest session of one flow (the thread of their reactions)."""
        row = await self._fetchone(
            "SELECT * FROM sessions WHERE resident_id = $1 AND flow_id = $2"
            " ORDER BY id DESC LIMIT 1",
            resident_id,
            flow_id,
        )
        return _session(row) if row else None

    async def save_action_draft(self, draft: ActionDraft) -> None:
        """Keep a member of staff's action in the writing, replacing any earlier one of theirs."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO action_drafts (telegram_user_id, action_id, theme, stage, text,"
                " status, reason, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (telegram_user_id) DO UPDATE SET action_id = excluded.action_id,"
                " theme = excluded.theme, stage = excluded.stage, text = excluded.text,"
                " status = excluded.status, reason = excluded.reason,"
                " started_at = excluded.started_at",
                draft.telegram_user_id,
                draft.action_id,
                draft.theme,
                draft.stage,
                draft.text,
                draft.status,
                draft.reason,
                self._clock(),
            )

    async def action_draft(self, telegram_user_id: int) -> ActionDraft | None:
        """The action this member of staff is part-way through, if any."""
        row = await self._fetchone(
            "SELECT * FROM action_drafts WHERE telegram_user_id = $1", telegram_user_id
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
        async with self._transaction() as conn:
            await conn.execute(
                "DELETE FROM action_drafts WHERE telegram_user_id = $1", telegram_user_id
            )
