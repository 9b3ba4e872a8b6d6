"""Delivery of queued messages (digests and the like): each sent once, at Telegram's pace.

Messages wait in the database's outbox until they have gone out, so a restart resumes where it
stopped. A 429 is waited out for as long as Telegram asks; network errors are retried with
growing pauses; a chat that blocked the bot is given up on and marked. Messages to one chat go
out in the order they were queued, even when an earlier one has to be tried again, and across
restarts (storage hands out a chat's next message only once the one before has gone); only a
safeguarding alert or a resident's own file overtakes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from storage import Clocked, OutboxQueue, Residents
from storage.models import ASKED_FOR, REPLY_KEY, QueuedMessage

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]

# Telegram asks bots to stay under about 30 messages a second overall, 1 a second per chat.
MESSAGES_PER_SECOND = 25.0
SECONDS_BETWEEN_MESSAGES_TO_ONE_CHAT = 1.0
LONGEST_PAUSE = 300.0
LONGEST_PAUSE_FOR_A_REPLY = 8.0
# How long a send waits for Telegram's answer. python-telegram-bot gives up after 5 s by default,
# but a slow Telegram still delivers what it was sent: the outbox would then send the message
# again and the chat would get it twice. So a send waits longer for a slow Telegram rather than
# repeat itself; not so long that SIGTERM could not finish the send in hand within 10 s. A send
# that outlives even this wait has an unknown outcome; it is retried like any network error,
# preferring a message that arrives twice to one that never arrives.
SEND_TIMEOUT = 8.0
# Messages claimed at a time (enough chats to take in turn), and how long a claim keeps other
# senders (`whatmatters digest send` beside the bot) off them: longer than sending a batch takes,
# even through a slow Telegram. A sender that died releases its claims when it starts again.
BATCH = 100
CLAIM_HOLD = 300.0


def _interleaved(batch: list[QueuedMessage]) -> list[QueuedMessage]:
    """Each chat's first message, then each chat's second, and so on, each chat's in order.

    A digest is three messages to each member of staff, queued one person after another; sent in
    that order, every second message would wait out its chat's one-second spacing. Taking the
    chats in turn keeps Telegram's overall pace instead.
    """
    seen: dict[int, int] = {}
    ranked = []
    for message in batch:  # already in queue order, the most urgent first
        rank = seen.get(message.chat_id, 0)
        seen[message.chat_id] = rank + 1
        ranked.append((-message.priority, rank, message.id, message))
    return [item[-1] for item in sorted(ranked, key=lambda item: item[:3])]


def _retry_seconds(error: RetryAfter) -> float:
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class DeliveryStorage(OutboxQueue, Residents, Clocked, Protocol):
    """What sending needs: the queue, marking a chat that blocked the bot, and the clock."""


class Outbox:
    """Sends what waits in the outbox; one `deliver()` at a time per process."""

    def __init__(
        self,
        storage: DeliveryStorage,
        bot: Bot,
        *,
        per_second: float = MESSAGES_PER_SECOND,
        per_chat_interval: float = SECONDS_BETWEEN_MESSAGES_TO_ONE_CHAT,
        sleep: Sleep = asyncio.sleep,
        send_timeout: float = SEND_TIMEOUT,
        keep_going: Callable[[], bool] = lambda: True,
        claimant: str | None = None,
        everything: Callable[[], bool] = lambda: True,
    ) -> None:
        self.storage = storage
        # With several workers: this one's name on its claims (handed back if it dies), and
        # whether it sends everything due or only what people wait for (replies, alerts, their
        # own data), leaving broadcasts and digests to the one worker that paces them.
        self._claimant = claimant
        self._everything = everything
        # False once the bot is stopping: the rest waits in the outbox for the next start, so
        # that SIGTERM never waits for a long digest or broadcast to finish.
        self._keep_going = keep_going
        self.bot = bot
        self._send_timeout = send_timeout
        self._interval = 1.0 / per_second
        self._per_chat_interval = per_chat_interval
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_sent = 0.0
        self._last_sent_to: dict[int, float] = {}

    async def deliver(self, max_rounds: int = 1000) -> int:
        """Send every message that is due now; returns how many went out."""
        sent = 0
        async with self._lock:
            for _ in range(max_rounds):
                claimed = await self.storage.claim_due(
                    limit=BATCH,
                    hold=CLAIM_HOLD,
                    worker=self._claimant,
                    least_priority=0 if self._everything() else ASKED_FOR,
                )
                batch = _interleaved(claimed)
                if not batch:
                    break
                for n, message in enumerate(batch):
                    if not self._keep_going():
                        await self.storage.release(m.id for m in batch[n:])
                        return sent
                    try:
                        outcome = await self._send_one(message)
                    except BaseException:
                        # Something unforeseen, or a stop: the rest of the batch is anyone's
                        # again now, not after its claim lapses (this one, perhaps sent, waits
                        # it out).
                        await self.storage.release(m.id for m in batch[n + 1 :])
                        raise
                    if outcome == "sent":
                        sent += 1
                    elif outcome == "flood":
                        await self.storage.release(m.id for m in batch[n + 1 :])
                        break
        return sent

    async def _pace(self, chat_id: int) -> None:
        now = time.monotonic()
        ready = max(
            self._last_sent + self._interval,
            self._last_sent_to.get(chat_id, 0.0) + self._per_chat_interval,
        )
        if ready > now:
            await self._sleep(ready - now)
        self._last_sent = self._last_sent_to[chat_id] = time.monotonic()

    async def _send_one(self, message: QueuedMessage) -> str:
        reply = message.key.startswith(REPLY_KEY)
        await self._pace(message.chat_id)
        # Looked at after the pause, right before sending: a reply the resident's next message
        # made out of date while it waited must not reach them after the newer answer.
        if reply and not await self.storage.still_pending(message.id):
            return "failed"  # out of date since it was claimed: the resident moved on
        try:
            await self._call(message)
        except RetryAfter as error:
            wait = _retry_seconds(error)
            log.warning("Telegram asked to slow down for %.0f s", wait)
            await self.storage.postpone(message.id, self._later(wait), "429 flood control")
            if self._keep_going():  # (a bot that is stopping need not wait it out)
                await self._sleep(wait)  # flood control holds for the whole bot, not one chat
            return "flood"
        except Forbidden as error:
            log.info("giving up on %s: the chat has blocked the bot", message.key)
            await self.storage.give_up(message.id, str(error))
            await self.storage.set_chat_blocked(message.chat_id)
            return "failed"
        except BadRequest as error:
            # Telegram will refuse the same request again; keep it for an operator to see.
            log.error("Telegram refused %s: %s", message.key, error)
            await self.storage.give_up(message.id, str(error))
            return "failed"
        except NetworkError as error:
            # A resident waits for their reply: try it again soon, however long the outage.
            pause = min(
                2.0 ** (message.attempts + 1), LONGEST_PAUSE_FOR_A_REPLY if reply else LONGEST_PAUSE
            )
            log.warning("could not send %s (%s); trying again in %.0f s", message.key, error, pause)
            await self.storage.postpone(message.id, self._later(pause), str(error))
            return "retry"
        await self.storage.mark_sent(message.id)
        return "sent"

    def _later(self, seconds: float) -> datetime:
        return self.storage.now() + timedelta(seconds=seconds)

    async def _call(self, message: QueuedMessage) -> None:
        if message.method == "sendMessage":
            markup = (
                InlineKeyboardMarkup.de_json(json.loads(message.markup), self.bot)
                if message.markup
                else None
            )
            await self.bot.send_message(
                message.chat_id,
                message.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup,
                read_timeout=self._send_timeout,
            )
        elif message.method in ("sendPhoto", "sendDocument"):
            send_file = (
                self.bot.send_photo if message.method == "sendPhoto" else self.bot.send_document
            )
            await send_file(
                message.chat_id,
                message.attachment or b"",
                caption=message.text or None,
                parse_mode=ParseMode.HTML,
                filename=message.filename,
                read_timeout=self._send_timeout,
            )
        else:
            raise BadRequest(f"unknown outbox method {message.method!r}")
