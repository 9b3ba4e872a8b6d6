"""Webhook mode: Telegram posts each update to the bot's own HTTPS address instead of the bot
asking for them. An update is stored in the inbox before the HTTP 200 goes back, so Telegram
keeps retrying anything not stored; a request without the right secret is refused (403) and
nothing is stored. Behind a load balancer, any number of workers may receive them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.inbox import raw_update
from bot.settings import Settings
from storage import Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's own limit on an update; anything larger is not Telegram.
LARGEST_UPDATE = 1024 * 1024


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, where the bot listens, and the secret that proves it."""

    url: str
    host: str
    port: int
    secret: str

    @property
    def path(self) -> str:
        """The path the bot serves: the URL's own (a proxy in front may keep it as it is)."""
        return urlsplit(self.url).path or "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> Webhook | None:
        """The webhook the settings ask for, or None for long polling."""
        if not settings.webhook_url:
            return None
        host, _, port = settings.listen.rpartition(":")
        if settings.webhook_secret is not None:
            secret = settings.webhook_secret.get_secret_value()
        else:
            # The same for every worker of one bot, and unguessable without its token.
            assert settings.bot_token is not None
            token = settings.bot_token.get_secret_value().encode()
            secret = hmac.new(token, b"whatmatters webhook", hashlib.sha256).hexdigest()
        return cls(settings.webhook_url, host.strip("[]"), int(port), secret)


class WebhookServer:
    """The HTTP side of webhook mode: store, answer 200, then hand the update to the bot."""

    def __init__(
        self, app: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox, webhook: Webhook
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.webhook = webhook
        self._runner: web.AppRunner | None = None

    async def receive(self, request: web.Request) -> web.Response:
        """Take one update from Telegram."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            log.warning("refused a webhook call without the right secret from %s", request.remote)
            return web.Response(status=403, text="Forbidden")
        if request.content_length is not None and request.content_length > LARGEST_UPDATE:
            return web.Response(status=413, text="Too large")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("refused a webhook call that is not an update: %s", error)
            return web.Response(status=400, text="Not an update")
        if update is None:
            return web.Response(status=400, text="Not an update")
        # Stored before the 200: if this fails, Telegram is told nothing and sends it again.
        await self.inbox.record_updates([(update.update_id, raw_update(update))])
        await self.app.update_queue.put(update)
        return web.Response(status=200)

    async def start(self) -> None:
        """Listen on the webhook's address."""
        server = web.Application(client_max_size=LARGEST_UPDATE)
        server.router.add_post(self.webhook.path, self.receive)
        self._runner = web.AppRunner(server, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        # Several workers on one machine share the port (`--workers N`): the kernel spreads
        # the connections among them.
        await web.TCPSite(
            self._runner, self.webhook.host, self.webhook.port, reuse_port=True
        ).start()
        log.info("listening for Telegram on %s:%d%s", *self._address())

    def _address(self) -> tuple[str, int, str]:
        return self.webhook.host, self.webhook.port, self.webhook.path

    async def stop(self) -> None:
        """Stop listening; calls in progress finish first."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
