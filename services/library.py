"""The flows the bot can run: every published version, parsed once and kept in memory."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from conversations.changes import describe_changes
from conversations.loader import parse_flow, shipped_flow_sources
from conversations.model import Flow
from storage import Flows, FlowVersion, StaffAndAudit

log = logging.getLogger(__name__)


class UnknownFlow(LookupError):
    """No published flow has this id (or this version)."""


class LibraryStorage(Flows, StaffAndAudit, Protocol):
    """What the library needs: flow versions and drafts, and the audit log for admins' changes."""


class FlowLibrary:
    """Published flows by id and version; residents mid-flow keep the version they started."""

    def __init__(self, storage: LibraryStorage) -> None:
        self._storage = storage
        self._parsed: dict[tuple[str, int], Flow] = {}
        # Residents arriving together after a start must not each parse the same YAML again.
        self._parsing = asyncio.Lock()

    async def install_shipped(self) -> list[FlowVersion]:
        """Publish each shipped flow that the database does not have yet, as its version 1."""
        installed = []
        for flow_id, source in shipped_flow_sources().items():
            if await self._storage.live_flow(flow_id) is None:
                installed.append(await self._storage.publish_flow(flow_id, source))
                log.info("published the shipped flow %s", flow_id)
        return installed

    async def get(self, flow_id: str, version: int) -> Flow:
        """One version of a flow."""
        key = (flow_id, version)
        if key not in self._parsed:
            async with self._parsing:
                if key not in self._parsed:
                    stored = await self._storage.flow_version(flow_id, version)
                    if stored is None:
                        raise UnknownFlow(f"there is no version {version} of {flow_id!r}")
                    self._parsed[key] = parse_flow(stored.source, source=f"{flow_id} v{version}")
        return self._parsed[key]

    async def live(self, flow_id: str) -> tuple[Flow, int]:
        """The live version of a flow, and its number."""
        stored = await self._storage.live_flow(flow_id)
        if stored is None:
            raise UnknownFlow(f"there is no flow called {flow_id!r}")
        return await self.get(flow_id, stored.version), stored.version

    async def by_command(self, command: str) -> str | None:
        """The live flow entered with this command (e.g. "/youth"), if there is one."""
        for stored in await self._storage.live_flows():
            flow = await self.get(stored.flow_id, stored.version)
            if flow.entry == command:
                return flow.id
        return None

    async def commands(self) -> list[tuple[str, str]]:
        """Each flow's own command and its title, for the residents' command menu."""
        found = []
        for stored in await self._storage.live_flows():
            flow = await self.get(stored.flow_id, stored.version)
            if flow.entry and flow.entry.startswith("/"):
                found.append((flow.entry.removeprefix("/"), flow.title))
        return found

    async def default_flow_id(self) -> str:
        """The flow that /start enters: the first live flow whose entry is `start`."""
        for stored in await self._storage.live_flows():
            flow = await self.get(stored.flow_id, stored.version)
            if flow.entry == "start":
                return flow.id
        raise UnknownFlow("no published flow is entered with /start")

    async def save_draft(self, source: str, filename: str, actor: int) -> tuple[Flow, list[str]]:
        """Check an admin's YAML and keep it as its flow's draft; what it would change.

        Raises FlowFileError (with every mistake, its line and field) and keeps nothing if the
        YAML is not a good flow.
        """
        flow = parse_flow(source, source=filename)
        await self._storage.save_draft(flow.id, source, actor)
        await self._storage.audit(actor, "save draft", flow=flow.id, file=filename)
        live = await self._storage.live_flow(flow.id)
        old = await self.get(flow.id, live.version) if live else None
        return flow, describe_changes(old, flow)

    async def publish(self, flow_id: str, actor: int) -> tuple[FlowVersion, list[str]] | None:
        """Make a flow's draft live; the new version and what changed (None: no draft)."""
        live = await self._storage.live_flow(flow_id)
        published = await self._storage.publish_draft(flow_id)
        if published is None:
            return None
        old = await self.get(flow_id, live.version) if live else None
        changes = describe_changes(old, await self.get(flow_id, published.version))
        await self._storage.audit(
            actor, "publish", flow=flow_id, version=published.version, changes=changes
        )
        return published, changes

    async def roll_back(self, flow_id: str, actor: int) -> tuple[FlowVersion, int] | None:
        """Make the version before the live one live again; it and the version it replaced."""
        live = await self._storage.live_flow(flow_id)
        if live is None:
            return None
        restored = await self._storage.roll_back(flow_id)
        if restored is None:
            return None
        await self._storage.audit(
            actor, "rollback", flow=flow_id, version=restored.version, was=live.version
        )
        return restored, live.version
