"""Per-resident flood control: a burst of messages is all taken in, but answered only a little."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

# A burst: this many of a resident's messages waiting at once (sent without waiting for an
# answer), or more than BURST messages within WINDOW seconds.
WAITING = 3
BURST = 20
WINDOW = 10.0
# In a burst, at most this many replies within WINDOW seconds; past it, the resident is asked,
# kindly, to slow down, and answered again (once, with their latest question) after CALM
# seconds without a message from them.
REPLIES = 8
CALM = 2.0


class Pace(Enum):
    """How to answer a resident's message, given how fast they are sending."""

    NORMAL = "normal"  # answer as usual
    SLOW_DOWN = "slow down"  # the first message over the limit: say so, kindly, once
    QUIET = "quiet"  # further messages in the burst: kept, not answered until it calms


@dataclass(slots=True)
class _Chat:
    seen: deque[float] = field(default_factory=deque)  # when messages came, in the window
    sent: deque[float] = field(default_factory=deque)  # when replies went out, in the window
    last_seen: float = 0.0
    slowed: bool = False


class FloodGauge:
    """Counts each resident's messages and replies over a sliding window; notes when a burst
    calms. Someone who waits for each answer, however quickly, is never held back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._chats: dict[int, _Chat] = {}

    def note(self, chat_id: int, replies: int = 1, waiting: int = 1) -> Pace:
        """Count one message from this chat that `replies` messages would answer, with `waiting`
        of theirs (this one included) waiting to be handled; say how to answer it."""
        now = self._clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) > 10_000:
                self._forget_idle(now)
            chat = self._chats[chat_id] = _Chat()
        for times in (chat.seen, chat.sent):
            while times and times[0] <= now - WINDOW:
                times.popleft()
        if chat.slowed and now - chat.last_seen >= CALM:
            chat.slowed = False
        chat.last_seen = now
        chat.seen.append(now)
        if chat.slowed:
            return Pace.QUIET
        burst = waiting >= WAITING or len(chat.seen) > BURST
        if not burst or len(chat.sent) + replies <= REPLIES:
            chat.sent.extend([now] * replies)
            return Pace.NORMAL
        chat.slowed = True
        return Pace.SLOW_DOWN

    def calm_in(self, chat_id: int) -> float:
        """Seconds until a slowed-down resident's burst counts as calmed (0: it has, or none)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.slowed:
            return 0.0
        return max(0.0, chat.last_seen + CALM - self._clock())

    def calmed(self, chat_id: int) -> None:
        """The burst is over and answered: the resident's next message is answered as usual."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            chat.slowed = False
            chat.seen.clear()
            chat.sent.clear()

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded: drop residents who have been quiet for a whole window.
        for chat_id in [c for c, chat in self._chats.items() if chat.last_seen <= now - WINDOW]:
            del self._chats[chat_id]
