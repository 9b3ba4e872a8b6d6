"""Several `whatmatters run` processes on one database (webhook mode, behind a load balancer).

Any worker may receive any update; each stores it (by `update_id`, once) before answering 200.
What keeps the workers off each other's work is claims in the database (`storage.Workers`):

- **each sender's updates, in order, by one worker at a time**: the worker that received an
  update claims the sender ("chat:<id>") and handles their stored, unfinished updates oldest
  first until none is left, then lets go and looks once more (an update that another worker
  stored meanwhile, and could not claim for, is seen then). An update is taken from the
  database, never from the request, so what a worker handles is always the sender's oldest;
- **the scheduled jobs (digest, reminders, retention, the outbox's pacing) on one worker**, the
  one holding the "lead" claim;
- **each outbox message by one sender**: claimed with the worker's name (`claim_due`).

A worker is alive while its heartbeat (every `HEARTBEAT` seconds) comes in time; a killed worker's
claims are anyone's after `ALIVE_FOR` seconds. Every heartbeat also looks for senders whose
unfinished updates nobody took (their worker died after the 200) and takes them.

One process alone (long polling) needs none of this: it keeps the simpler in-memory order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application

from storage import Inbox, StorageError, Workers

log = logging.getLogger(__name__)
_PROJECT = Path(__file__).resolve().parent.parent
# This project's own code, wherever it is installed (for naming where a stalled update waits).
_OURS = tuple(
    _PROJECT / name
    for name in ("bot", "conversations", "insights", "services", "storage", "web", "tests")
)

HEARTBEAT = 2.0
ALIVE_FOR = 10.0
LEAD = "lead"
# Tries at one update whose handling keeps failing (the database gone, a bug) before it is given
# up on with a log line: its sender's later updates must not wait behind it for ever.
TRIES = 5
# At most this many updates of one sender are read at once (the rest wait their turn).
WINDOW = 20
# Senders drained at once by one worker (as python-telegram-bot's concurrent updates).
AT_ONCE = 256
# One update in hand this long is logged with where it waits; this long again, its drain is
# given up as a crash would end it (what was committed stays, the rest is handled afresh).
STALLED = 30.0


class WorkerStorage(Inbox, Workers, Protocol):
    """What a worker needs: the inbox and the claims."""


def sender_of(update: Update) -> int | None:
    """Who sent an update, as storage keys it (`updates.sent_by`): the sender of a message, an
    edit, a button press or a membership change; None for anything else."""
    for part in (update.message, update.edited_message, update.callback_query):
        if part is not None and part.from_user is not None:
            return part.from_user.id
    if update.my_chat_member is not None:
        return update.my_chat_member.from_user.id
    return None


class Worker:
    """This process among the workers: its name, its heartbeat, and whether it leads."""

    def __init__(self, storage: WorkerStorage, name: str | None = None) -> None:
        self.storage = storage
        # A name given by the `--workers N` supervisor stays the same when it starts this
        # worker again after it died: what the dead one held is taken back at once.
        self.stable = bool(name)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.leading = False

    async def start(self) -> None:
        """Join the workers (taking back what a dead predecessor of the same name held)."""
        if self.stable:
            await self.storage.worker_stopped(self.name)
        await self.beat()

    async def beat(self) -> bool:
        """Say this worker is alive; clear dead workers' claims; lead if nobody alive does.
        True if this worker has just begun to lead."""
        await self.storage.heartbeat(self.name, ALIVE_FOR)
        dead = await self.storage.clear_dead_workers()
        if dead:
            log.warning("%d worker(s) stopped answering; their work is taken over", dead)
        leading = await self.storage.claim(LEAD, self.name)
        began = leading and not self.leading
        if began:
            log.info("worker %s runs the scheduled jobs", self.name)
        self.leading = leading
        return began

    async def stop(self) -> None:
        """Leave cleanly: everything this worker held is anyone's at once."""
        self.leading = False
        await self.storage.worker_stopped(self.name)


class ChatDrains:
    """Each sender's stored updates, handled in order by one worker at a time."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        storage: WorkerStorage,
        worker: Worker,
        at_once: int = AT_ONCE,
    ) -> None:
        self.app = app
        self.storage = storage
        self.worker = worker
        self._slots = asyncio.Semaphore(at_once)
        self._draining: dict[int | None, asyncio.Task[None]] = {}
        self._again: set[int | None] = set()  # senders whose updates came in while draining
        self._tries: Counter[int] = Counter()
        self._waiting: dict[int, int] = {}
        self._stuck_before: set[int | None] = set()
        # When each drain took its current update in hand (monotonic), to find one stalled.
        self._in_hand_since: dict[int | None, float] = {}
        self._reported: set[int | None] = set()

    def waiting(self, sender_id: int) -> int:
        """How many of this sender's updates wait (this one included), for flood control."""
        return self._waiting.get(sender_id, 1)

    def arrived(self, sender: int | None) -> None:
        """A sender's update is stored: see that their updates are handled (here, or by the
        worker that holds them)."""
        if sender in self._draining:
            self._again.add(sender)
            return
        if not self.app.running:
            return  # stopping: another worker (or the next start) takes them on
        # The application's task: stopping waits for it, so this worker's claims are handed
        # back only once nothing of theirs is being handled here.
        self._draining[sender] = self.app.create_task(self._drain(sender), name="drain")

    async def sweep(self, everyone: bool = False) -> int:
        """Take on the senders whose unfinished updates nobody is handling: those waiting at two
        sweeps in a row (their worker died after the 200), or `everyone` waiting (at start-up).
        Returns how many were looked at."""
        self._look_for_stalls()
        waiting = set(await self.storage.senders_waiting())
        stuck = waiting if everyone else waiting & self._stuck_before
        self._stuck_before = waiting
        for sender in stuck:
            self.arrived(sender)
        return len(stuck)

    def _look_for_stalls(self) -> None:
        """Log a drain whose update has been in hand for `STALLED` seconds, with where it waits;
        end it at twice that: the sender's updates are then taken on again, as after a crash."""
        now = time.monotonic()
        for sender, task in list(self._draining.items()):
            since = self._in_hand_since.get(sender)
            if since is None or now - since < STALLED:
                continue
            if sender not in self._reported:
                self._reported.add(sender)
                log.warning(
                    "an update has been in hand for %.0f s, waiting at %s",
                    now - since,
                    where_waiting(task),
                )
            elif now - since >= 2 * STALLED:
                log.error(
                    "giving up a stalled drain after %.0f s at %s", now - since, where_waiting(task)
                )
                self._in_hand_since.pop(sender, None)
                task.cancel()

    async def _drain(self, sender: int | None) -> None:
        name = f"chat:{'none' if sender is None else sender}"
        try:
            async with self._slots:
                for _ in range(10_000):  # bounded: each round handles everything waiting
                    self._again.discard(sender)
                    if not await self.storage.claim(name, self.worker.name):
                        return  # another worker holds them, and looks again before it lets go
                    try:
                        finished = await self._handle_waiting(sender)
                    finally:
                        await self.storage.release_claim(name, self.worker.name)
                    if not finished:
                        return  # an update that failed is tried again at a later sweep
                    if sender in self._again:
                        continue
                    waiting = await self.storage.unfinished_from(sender, limit=1)
                    if not waiting and sender not in self._again:
                        return
        except StorageError as error:
            # The database is unreachable, say: the sweep comes back for these updates.
            log.warning("could not handle the updates waiting from a sender: %s", error)
        except Exception:
            log.exception("could not handle the updates waiting from a sender")
        finally:
            # No await between the last look and leaving the table: an arrival after this
            # starts a new drain.
            self._draining.pop(sender, None)
            self._in_hand_since.pop(sender, None)
            self._reported.discard(sender)
            if sender is not None:
                self._waiting.pop(sender, None)

    async def _handle_waiting(self, sender: int | None) -> bool:
        """Handle the sender's unfinished updates, oldest first, while holding their claim;
        False if one of them could not be finished (it is left for a later try)."""
        last: int | None = None
        for _ in range(100_000):  # bounded: one sender's backlog
            if not self.app.running:
                return False  # stopping: the rest is left to the other workers
            batch = await self.storage.unfinished_from(sender, limit=WINDOW)
            if not batch:
                return True
            stored = batch[0]
            if stored.update_id == last:
                return False  # handled, yet not finished: leave it, try again later
            if last is not None:
                self._tries.pop(last, None)
            last = stored.update_id
            self._tries[stored.update_id] += 1
            if self._tries[stored.update_id] > TRIES:
                log.error("giving up on update %d after %d tries", stored.update_id, TRIES)
                await self.storage.mark_failed(stored.update_id)
                self._tries.pop(stored.update_id, None)
                last = None
                continue
            if sender is not None:
                self._waiting[sender] = len(batch)
            self._in_hand_since[sender] = time.monotonic()
            self._reported.discard(sender)
            update = Update.de_json(json.loads(stored.payload), self.app.bot)
            if update is None:
                await self.storage.mark_failed(stored.update_id)
                continue
            await self.app.process_update(update)
        return False


def where_waiting(task: asyncio.Task[Any]) -> str:
    """Where a task waits: the innermost line of this project's code in its chain of awaits, and
    the innermost line of all ("bot/outbox.py:123 in deliver, at asyncio/locks.py:213 in wait")."""
    awaited: Any = task.get_coro()
    ours = innermost = "an unknown place"
    for _ in range(100):  # bounded: the chain of awaits
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        path = Path(frame.f_code.co_filename)
        innermost = f"{path.parent.name}/{path.name}:{frame.f_lineno} in {frame.f_code.co_name}"
        if any(path.is_relative_to(folder) for folder in _OURS):
            ours = f"{path.relative_to(_PROJECT)}:{frame.f_lineno} in {frame.f_code.co_name}"
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return ours if ours == innermost else f"{ours}, at {innermost}"
