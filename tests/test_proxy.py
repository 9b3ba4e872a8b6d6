"""The tests' round-robin proxy: requests spread over live backends, a dead one skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from tests.proxy import RoundRobinProxy


@asynccontextmanager
async def backend(name: str) -> AsyncIterator[tuple[str, int]]:
    """A small HTTP server answering with its name, the secret header and the body it got."""

    async def answer(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return web.Response(text=f"{name}|{secret}|{await request.text()}")

    app = web.Application()
    app.router.add_post("/hook", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield "127.0.0.1", port
    finally:
        await runner.cleanup()


async def _post(url: str, body: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/hook", data=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3"}
        ) as response,
    ):
        return response.status, await response.text()


async def test_requests_go_to_each_backend_in_turn_with_headers_and_body() -> None:
    async with (
        backend("a") as a,
        backend("b") as b,
        backend("c") as c,
        RoundRobinProxy([a, b, c]) as proxy,
    ):
        answers = [await _post(proxy.url, f"update {n}") for n in range(6)]
    assert answers == [
        (200, f"{name}|s3|update {n}") for n, name in enumerate(["a", "b", "c", "a", "b", "c"])
    ]
    assert proxy.answered == {0: 2, 1: 2, 2: 2}


async def test_a_backend_nobody_listens_on_is_skipped() -> None:
    async with backend("a") as a:
        async with backend("gone") as gone:
            pass  # stopped: its port refuses connections now
        async with RoundRobinProxy([gone, a]) as proxy:
            answers = [await _post(proxy.url, "x") for _ in range(3)]
    assert answers == [(200, "a|s3|x")] * 3
    assert proxy.answered == {1: 3}


async def test_with_every_backend_down_the_answer_is_502() -> None:
    async with backend("gone") as gone:
        pass
    async with RoundRobinProxy([gone, gone]) as proxy:
        status, _ = await _post(proxy.url, "x")
    assert status == 502
    assert proxy.refused == 1
