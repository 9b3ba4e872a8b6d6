"""Per-resident flood control: a burst of messages is still taken in, but answered only once."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

# More than this many messages from one resident within the window is a burst.
BURST = 20
WINDOW = 10.0


class Pace(Enum):
    """How to answer a resident's message, given how fast they are sending."""

    NORMAL = "normal"  # answer as usual
    SLOW_DOWN = "slow down"  # the first message over the limit: say so, kindly, once
    QUIET = "quiet"  # further messages in the burst: kept, not answered


class FloodGauge:
    """Counts each resident's messages over a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}

    def note(self, chat_id: int) -> Pace:
        """Count one message from this chat, and say how to answer it."""
        now = self._clock()
        seen = self._seen.setdefault(chat_id, deque())
        while seen and seen[0] <= now - WINDOW:
            seen.popleft()
        seen.append(now)
        if len(seen) <= BURST:
            if len(seen) == 1 and len(self._seen) > 10_000:
                self._forget_idle(now)
            return Pace.NORMAL
        return Pace.SLOW_DOWN if len(seen) == BURST + 1 else Pace.QUIET

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded: drop residents who have been quiet for a whole window.
        for chat_id in [c for c, seen in self._seen.items() if seen[-1] <= now - WINDOW]:
            del self._seen[chat_id]
