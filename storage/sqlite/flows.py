"""Flows in SQLite: published versions, the live one, drafts and admins' previews."""

from __future__ import annotations

import json
import sqlite3

import aiosqlite

from storage.models import FlowVersion, Preview
from storage.sqlite.base import SQLiteBase, _moment, _stamp


class SQLiteFlows(SQLiteBase):
    """Implements `storage.interfaces.Flows`."""

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

    async def preview(self, telegram_user_id: int) -> Preview | None:
        """The admin's preview under way: flow id, its YAML, and the engine state."""
        row = await self._fetchone(
            "SELECT flow_id, source, state FROM previews WHERE telegram_user_id = ?",
            (telegram_user_id,),
        )
        return Preview(row[0], row[1], row[2]) if row else None

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


def _flow_version(row: sqlite3.Row) -> FlowVersion:
    return FlowVersion(
        flow_id=row["flow_id"],
        version=row["version"],
        source=row["source"],
        published_at=_moment(row["published_at"]),
    )
