"""The dashboard's Starlette application: its lifespan enters `build_services` (the one
composition root) and yields the typed state every page uses; the pages are in `web.pages`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.settings import Settings
from services import Services, build_services
from services.signin import SignIns
from storage import Clock, utc_now
from web.guard import RateLimit, SecurityHeaders

HERE = Path(__file__).resolve().parent

# Sign-in links: a few tries a minute from one address, and a handful per link, whatever the
# address (a link is spent by its first good use anyway).
TRIES_PER_ADDRESS = 10
TRIES_PER_LINK = 3
TRY_WINDOW = 60.0


@dataclass(frozen=True)
class Dashboard:
    """What every page needs: the services, sign-in, the templates and the sign-in limits."""

    settings: Settings
    services: Services
    sign_ins: SignIns
    templates: Jinja2Templates
    by_address: RateLimit
    by_link: RateLimit

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https when the public address is https."""
        return (self.settings.web_url or "").lower().startswith("https://")


class State(TypedDict):
    """The lifespan's state, as `request.state` holds it."""

    dashboard: Dashboard


def templates() -> Jinja2Templates:
    """The pages' templates, every value escaped unless marked otherwise."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=environment)


def create_app(settings: Settings, *, clock: Clock = utc_now) -> Starlette:
    """The dashboard over the database and settings given; opened when the server starts."""
    from web.pages import routes

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with build_services(settings, clock=clock) as services:
            yield {
                "dashboard": Dashboard(
                    settings=settings,
                    services=services,
                    sign_ins=SignIns(settings, services.storage),
                    templates=templates(),
                    by_address=RateLimit(TRIES_PER_ADDRESS, TRY_WINDOW),
                    by_link=RateLimit(TRIES_PER_LINK, TRY_WINDOW),
                )
            }

    return Starlette(
        routes=[*routes, Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )
