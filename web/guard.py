"""The dashboard's protections that are not about one page: security headers on every response,
and a small in-memory limit on sign-in attempts."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No script at all, styles only from our own file, nothing framed, forms only to ourselves.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Add the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the headers on the response as it starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, stamped)


class RateLimit:
    """At most `hits` attempts per key in any `seconds`-long window (a sliding window)."""

    def __init__(
        self, hits: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hits = hits
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count an attempt under `key`; False if the key has used up its window."""
        now = self.clock()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.hits:
            return False
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle keys so the map cannot grow without end
            for stale in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.seconds]:
                del self._seen[stale]
        return True
