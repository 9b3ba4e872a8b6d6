"""Flows in PostgreSQL: published versions, the live one, drafts and admins' previews."""

from __future__ import annotations

import json

from storage.models import FlowVersion, Preview
from storage.postgres.base import Connection, PostgresBase, Record


class PostgresFlows(PostgresBase):
    """Implements `storage.interfaces.Flows`."""

    async def publish_flow(self, flow_id: str, source: str) -> FlowVersion:
        """Store a new version of a flow and make it the live one."""
        async with self._transaction() as conn:
            return await self._publish(conn, flow_id, source)

    async def _publish(self, conn: Connection, flow_id: str, source: str) -> FlowVersion:
        # Two publishes of one flow at once (two workers) take turns, so each gets its number.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('flow:' || $1))", flow_id)
        now = self._clock()
        version = int(
            await conn.fetchval(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions WHERE flow_id = $1",
                flow_id,
            )
        )
        await conn.execute(
            "INSERT INTO flow_versions (flow_id, version, source, published_at)"
            " VALUES ($1, $2, $3, $4)",
            flow_id,
            version,
            source,
            now,
        )
        await self._go_live(conn, flow_id, version)
        return FlowVersion(flow_id, version, source, now)

    async def _go_live(self, conn: Connection, flow_id: str, version: int) -> None:
        await conn.execute(
            "INSERT INTO live_flows (flow_id, version, changed_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (flow_id) DO UPDATE SET version = excluded.version,"
            " changed_at = excluded.changed_at",
            flow_id,
            version,
            self._clock(),
        )

    async def save_draft(self, flow_id: str, source: str, saved_by: int | None) -> None:
        """Keep an admin's checked YAML as the flow's draft, replacing any earlier draft."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO flow_drafts (flow_id, source, saved_at, saved_by)"
                " VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (flow_id) DO UPDATE SET source = excluded.source,"
                " saved_at = excluded.saved_at, saved_by = excluded.saved_by",
                flow_id,
                source,
                self._clock(),
                saved_by,
            )

    async def draft(self, flow_id: str) -> str | None:
        """The flow's draft YAML, if it has one."""
        row = await self._fetchone("SELECT source FROM flow_drafts WHERE flow_id = $1", flow_id)
        return str(row[0]) if row else None

    async def publish_draft(self, flow_id: str) -> FlowVersion | None:
        """Make the flow's draft its new live version; None if there is no draft."""
        async with self._transaction() as conn:
            source = await conn.fetchval(
                "DELETE FROM flow_drafts WHERE flow_id = $1 RETURNING source", flow_id
            )
            if source is None:
                return None
            return await self._publish(conn, flow_id, source)

    async def roll_back(self, flow_id: str) -> FlowVersion | None:
        """Make the version before the live one live again; None if there is none before it."""
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                "SELECT f.* FROM flow_versions f JOIN live_flows l USING (flow_id)"
                " WHERE f.flow_id = $1 AND f.version < l.version"
                " ORDER BY f.version DESC LIMIT 1 FOR UPDATE OF l",
                flow_id,
            )
            if row is None:
                return None
            await self._go_live(conn, flow_id, row["version"])
        return _flow_version(row)

    async def live_flow(self, flow_id: str) -> FlowVersion | None:
        """The version of a flow that new sessions start on."""
        row = await self._fetchone(
            "SELECT f.* FROM flow_versions f JOIN live_flows l USING (flow_id, version)"
            " WHERE f.flow_id = $1",
            flow_id,
        )
        return _flow_version(row) if row else None

    async def flow_version(self, flow_id: str, version: int) -> FlowVersion | None:
        """One particular version of a flow, as residents mid-way through it still need it."""
        row = await self._fetchone(
            "SELECT * FROM flow_versions WHERE flow_id = $1 AND version = $2", flow_id, version
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
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO previews (telegram_user_id, flow_id, source, state, answers,"
                " started_at) VALUES ($1, $2, $3, $4, '[]', $5)"
                " ON CONFLICT (telegram_user_id) DO UPDATE SET flow_id = excluded.flow_id,"
                " source = excluded.source, state = excluded.state, answers = '[]',"
                " started_at = excluded.started_at",
                telegram_user_id,
                flow_id,
                source,
                state,
                self._clock(),
            )

    async def preview(self, telegram_user_id: int) -> Preview | None:
        """The admin's preview under way: flow id, its YAML, and the engine state."""
        row = await self._fetchone(
            "SELECT flow_id, source, state FROM previews WHERE telegram_user_id = $1",
            telegram_user_id,
        )
        return Preview(row[0], row[1], row[2]) if row else None

    async def save_preview(self, telegram_user_id: int, state: str, answer: str | None) -> None:
        """Keep a preview's new state, and its answer apart from residents' answers."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE previews SET state = $1, answers = CASE WHEN $2::text IS NULL THEN answers"
                " ELSE answers || jsonb_build_array($2::text) END WHERE telegram_user_id = $3",
                state,
                answer,
                telegram_user_id,
            )

    async def preview_answers(self, telegram_user_id: int) -> list[str]:
        """What the admin answered in their preview so far."""
        row = await self._fetchone(
            "SELECT answers FROM previews WHERE telegram_user_id = $1", telegram_user_id
        )
        return list(json.loads(row[0])) if row else []

    async def end_preview(self, telegram_user_id: int) -> None:
        """End an admin's preview; its answers go with it."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM previews WHERE telegram_user_id = $1", telegram_user_id)


def _flow_version(row: Record) -> FlowVersion:
    return FlowVersion(
        flow_id=row["flow_id"],
        version=row["version"],
        source=row["source"],
        published_at=row["published_at"],
    )
