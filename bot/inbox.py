"""Incoming updates are kept before Telegram forgets them, and replayed if a crash cut them short.

Telegram keeps an update until the bot's next `getUpdates` call asks for a later offset; that call
is what confirms it. python-telegram-bot makes that next call as soon as it has queued a batch,
long before the batch is processed. So the batch is written to the database inside the polling
call itself, before it returns: by the time the next poll can confirm an update, it is stored.
At start-up, anything stored but not processed (or processed but not answered) is put back in the
queue ahead of new updates; processing is idempotent on `update_id`, so an update Telegram
delivers again as well is processed once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import Application, ExtBot
from telegram.request import HTTPXRequest

from storage import Inbox

log = logging.getLogger(__name__)

# As python-telegram-bot's ApplicationBuilder would make them: many sends at once, one poll.
SEND_CONNECTIONS = 256
POLL_CONNECTIONS = 1


# Who people are on Telegram, beyond their id: not needed to answer them, so not kept.
_NAME_FIELDS = frozenset({"first_name", "last_name", "username"})
# What a shared contact carries: a phone number and names, none of it needed.
_CONTACT_FIELDS = frozenset({"phone_number", "vcard"})


def _scrubbed(value: Any) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if key in _NAME_FIELDS:
                if key == "first_name":
                    kept[key] = ""  # python-telegram-bot needs the field to read a user back
                continue
            if key in _CONTACT_FIELDS:
                continue
            kept[key] = _scrubbed(item)
        return kept
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def raw_update(update: Update) -> str:
    """An update as kept in the database: all of it but Telegram names, usernames and shared
    contacts' details, which answering never needs (data minimisation)."""
    return json.dumps(_scrubbed(update.to_dict()))


class RecordingBot(ExtBot[None]):
    """The application's bot, which stores each batch of updates as it fetches it."""

    __slots__ = ("_fresh", "_inbox")

    def __init__(self, token: str, base_url: str, base_file_url: str, inbox: Inbox) -> None:
        super().__init__(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=HTTPXRequest(connection_pool_size=SEND_CONNECTIONS),
            get_updates_request=HTTPXRequest(connection_pool_size=POLL_CONNECTIONS),
        )
        self._inbox = inbox
        # Updates this process has just stored for the first time: new, nothing done about them.
        self._fresh: set[int] = set()

    def take_fresh(self, update_id: int) -> bool:
        """Whether this update was first stored by this bot's last fetches (asked once)."""
        if update_id in self._fresh:
            self._fresh.discard(update_id)
            return True
        return False

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (the Bot API method's own)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """Fetch updates and commit them to the inbox before anyone can confirm them."""
        updates = await super().get_updates(
            offset=offset,
            limit=limit,
            timeout=timeout,
            allowed_updates=allowed_updates,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        if updates:
            # If this fails, the error reaches the polling loop, which polls again with the same
            # offset: Telegram sends the batch again, nothing is confirmed unstored.
            self._fresh |= await self._inbox.record_updates(
                [(update.update_id, raw_update(update)) for update in updates]
            )
        return updates


async def replay_unfinished(app: Application[Any, Any, Any, Any, Any, Any], storage: Inbox) -> int:
    """Queue the updates a crash left unprocessed or unanswered; returns how many."""
    unfinished = await storage.unfinished_updates()
    for stored in unfinished:
        update = Update.de_json(json.loads(stored.payload), app.bot)
        if update is not None:
            await app.update_queue.put(update)
    if unfinished:
        log.info("replaying %d updates a stop cut short", len(unfinished))
    return len(unfinished)
