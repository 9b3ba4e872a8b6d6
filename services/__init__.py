"""The application's use cases, with no Telegram and no HTTP in them, and their one composition
root: `build_services(settings)`, shared by the bot, the command line and (later) the dashboard.

Whoever enters `build_services` owns what it opened; handlers receive `Services` and never open or
close anything themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.settings import Settings
from insights import Analyser, ThemeCatalogue, redact
from services.actions import ActionDesk
from services.conversation import Conversations
from services.digest import Digests
from services.library import FlowLibrary
from services.preview import Previews
from services.safeguarding import Safeguard
from services.threads import SafeguardingThreads
from storage import Clock, Storage, open_storage, utc_now

__all__ = ["Services", "build_services"]


@dataclass(frozen=True)
class Services:
    """Everything the bot, the command line and the dashboard share, opened and ready."""

    settings: Settings
    storage: Storage
    catalogue: ThemeCatalogue
    analyser: Analyser
    library: FlowLibrary
    safeguard: Safeguard
    conversations: Conversations
    digests: Digests
    previews: Previews
    actions: ActionDesk
    threads: SafeguardingThreads


@asynccontextmanager
async def build_services(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Open storage, load the themes, signs of risk and flows (installing the shipped ones), and
    close storage again on the way out."""
    catalogue = settings.theme_catalogue()
    signs = settings.safeguarding_list()
    async with open_storage(settings.database, clock=clock) as storage:
        library = FlowLibrary(storage)
        await library.install_shipped()
        analyser = Analyser(catalogue)
        safeguard = Safeguard(settings, storage, signs)
        actions = ActionDesk(storage, [theme.name for theme in catalogue.themes], analyser)
        threads = SafeguardingThreads(settings, storage)
        yield Services(
            settings=settings,
            storage=storage,
            catalogue=catalogue,
            analyser=analyser,
            library=library,
            safeguard=safeguard,
            conversations=Conversations(storage, library, analyser, safeguard, actions, threads),
            digests=Digests(storage, settings.zone, redact, catalogue.covers),
            previews=Previews(storage),
            actions=actions,
            threads=threads,
        )
