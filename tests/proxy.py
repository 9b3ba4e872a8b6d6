"""A round-robin HTTP proxy on 127.0.0.1: the load balancer in front of several webhook workers.

Each request goes to the next backend in turn, with its method, path, query, headers (the
webhook's secret among them) and body; the backend's status and body come back. A backend that
refuses the connection (its worker is dead, or not up yet) is skipped, and the same request goes
to the one after it; if every backend refuses, the answer is 502, and Telegram (here, the local
Bot API server) posts the update again later. A backend that took the request and then dropped
the connection, or did not answer in time, may or may not have stored the update: the answer is
502 and the request goes nowhere else, since Telegram re-posts it anyway and the bot stores by
update_id.

Each request opens its own connection to its backend, so a worker killed between two requests is
found refusing, never as a stale kept-alive connection that looks like a drop mid-request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web
from yarl import URL

Backend = tuple[str, int]  # (host, port)

# How long a backend may take to answer one request.
BACKEND_TIMEOUT = 30.0

# Headers that describe one hop, not the request, and so are not passed on (RFC 9110, 7.6.1),
# plus those the client sets again for the new connection.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class RoundRobinProxy:
    """Forwards each request to the next of `backends` in turn; `async with` starts and stops it.

    `answered` counts, per backend, the requests it answered (whatever the status); `refused`, the
    times a backend refused a connection and was skipped; `failed`, the requests answered 502.
    """

    def __init__(self, backends: Iterable[Backend], timeout: float = BACKEND_TIMEOUT) -> None:
        self.backends: list[Backend] = list(backends)
        if not self.backends:
            raise ValueError("a proxy needs at least one backend")
        self.timeout = timeout
        self.answered: Counter[Backend] = Counter()
        self.refused: Counter[Backend] = Counter()
        self.failed = 0
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port it listens on, on 127.0.0.1."""
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return self._port

    @property
    def url(self) -> str:
        """Its address, without a trailing slash (append the path)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(force_close=True),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening, then close the connections to the backends."""
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

    def _turn(self) -> list[Backend]:
        """The backends in the order this request tries them: the next one first."""
        start = self._next % len(self.backends)
        self._next = start + 1
        return self.backends[start:] + self.backends[:start]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        session = self._session
        assert session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        for host, port in self._turn():  # bounded: each backend once
            url = URL.build(
                scheme="http",
                host=host,
                port=port,
                path=request.rel_url.raw_path,
                query_string=request.rel_url.raw_query_string,
                encoded=True,
            )
            try:
                async with session.request(
                    request.method, url, headers=headers, data=body, allow_redirects=False
                ) as response:
                    answer = await response.read()
                    status = response.status
                    passed_headers = {
                        name: response.headers[name]
                        for name in ("Content-Type", "Content-Encoding")
                        if name in response.headers
                    }
            except aiohttp.ClientConnectorError:
                self.refused[(host, port)] += 1
                continue  # nothing was sent: the next backend may take it
            except (aiohttp.ClientError, TimeoutError) as exc:
                # It had the request and died (or hung): it may have stored the update.
                self.failed += 1
                return web.Response(status=502, text=f"backend {host}:{port} failed: {exc!r}")
            self.answered[(host, port)] += 1
            return web.Response(status=status, body=answer, headers=passed_headers)
        self.failed += 1
        return web.Response(status=502, text="no backend took the request")
