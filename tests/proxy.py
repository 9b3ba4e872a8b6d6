"""A round-robin HTTP proxy on 127.0.0.1, as a load balancer in front of several webhook workers.

Each request goes to the next backend in turn. A backend that refuses the connection (its worker
is dead) is skipped for the next one; if every backend refuses, or a backend dies mid-request,
the answer is 502, and Telegram (here, the local Bot API server) posts the update again.
"""

from __future__ import annotations

import socket
from collections import Counter
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

# Headers that belong to one hop, not to the request (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}
)
BACKEND_TIMEOUT = 30.0


class RoundRobinProxy:
    """Forwards each request to the next of `backends` ((host, port) pairs) in turn."""

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.answered: Counter[int] = Counter()  # requests each backend (by index) answered
        self.refused = 0  # requests no backend would take (answered 502)
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Where to send requests."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=BACKEND_TIMEOUT),
            # A fresh connection each time: a pooled one to a worker killed since would fail.
            connector=aiohttp.TCPConnector(force_close=True),
        )
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        for _ in range(len(self.backends)):
            index = self._next
            self._next = (self._next + 1) % len(self.backends)
            host, port = self.backends[index]
            url = f"http://{host}:{port}{request.rel_url}"
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.answered[index] += 1
                    return web.Response(
                        status=answer.status,
                        body=payload,
                        content_type=answer.content_type,
                    )
            except aiohttp.ClientConnectorError:
                continue  # nobody listens there (a dead worker): the next one
            except (aiohttp.ClientError, TimeoutError):
                # The worker died (or hung) with the request in hand: maybe stored, maybe not.
                self.refused += 1
                return web.Response(status=502, text="Bad gateway")
        self.refused += 1
        return web.Response(status=502, text="No worker answered")
