"""The tests' round-robin proxy spreads requests over its backends, skips one that is down,
answers 502 when none takes a request or one dies holding it, and passes requests and answers
through unchanged."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web
from telegram import Bot
from yarl import URL

from tests.fake_telegram import FakeTelegram
from tests.proxy import Backend, RoundRobinProxy

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class EchoServer:
    """A small HTTP server on 127.0.0.1 that answers every request with what it received, as
    JSON, under its own name; a wrong secret header gets 403, like the bot's webhook."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received = 0
        self._runner: web.AppRunner | None = None
        self.address: Backend = ("127.0.0.1", 0)

    async def _echo(self, request: web.Request) -> web.Response:
        self.received += 1
        if request.headers.get(SECRET_HEADER, "right") != "right":
            return web.json_response({"backend": self.name}, status=403)
        return web.json_response(
            {
                "backend": self.name,
                "method": request.method,
                "raw_path": request.raw_path,
                "secret": request.headers.get(SECRET_HEADER),
                "content_type": request.headers.get("Content-Type"),
                "body": (await request.read()).decode(),
            },
            status=201 if request.method == "PUT" else 200,
        )

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._echo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.address = ("127.0.0.1", int(self._runner.addresses[0][1]))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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


async def post(url: str, count: int = 1) -> list[tuple[int, str]]:
    """POST `count` times, one after another: each answer's status and body."""
    answers = []
    async with aiohttp.ClientSession() as session:
        for n in range(count):
            async with session.post(f"{url}/telegram", json={"update_id": n}) as response:
                answers.append((response.status, await response.text()))
    return answers


def names(answers: list[tuple[int, str]]) -> list[str]:
    return [json.loads(body)["backend"] for _, body in answers]


async def test_requests_go_to_each_backend_in_turn() -> None:
    async with (
        EchoServer("a") as a,
        EchoServer("b") as b,
        EchoServer("c") as c,
        RoundRobinProxy([a.address, b.address, c.address]) as proxy,
    ):
        answers = await post(proxy.url, 9)
    assert [status for status, _ in answers] == [200] * 9
    assert names(answers) == ["a", "b", "c"] * 3
    assert proxy.answered == Counter({a.address: 3, b.address: 3, c.address: 3})
    assert proxy.failed == 0


async def test_a_backend_that_is_down_is_skipped_for_the_next() -> None:
    async with (
        EchoServer("a") as a,
        EchoServer("b") as b,
        EchoServer("c") as c,
        RoundRobinProxy([a.address, b.address, c.address]) as proxy,
    ):
        await b.stop()
        answers = await post(proxy.url, 6)
        assert [status for status, _ in answers] == [200] * 6
        assert names(answers) == ["a", "c", "c", "a", "c", "c"]
        assert proxy.refused == Counter({b.address: 2})
        await b.start(port=b.address[1])  # back on its port: it takes its turns again
        assert names(await post(proxy.url, 3)) == ["a", "b", "c"]
    assert proxy.answered[b.address] == 1
    assert proxy.failed == 0


async def test_every_backend_down_is_502() -> None:
    async with (
        EchoServer("a") as a,
        EchoServer("b") as b,
        RoundRobinProxy([a.address, b.address]) as proxy,
    ):
        await a.stop()
        await b.stop()
        answers = await post(proxy.url, 2)
    assert [status for status, _ in answers] == [502, 502]
    assert proxy.failed == 2
    assert proxy.answered == Counter()
    assert proxy.refused == Counter({a.address: 2, b.address: 2})


async def test_a_backend_that_dies_holding_a_request_is_502_and_no_other_gets_it() -> None:
    """It may have stored the update: Telegram posts it again, the proxy does not."""
    got_request = asyncio.Event()

    async def die(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        got_request.set()
        writer.transport.abort()  # like SIGKILL: the connection is reset, nothing answered

    dying = await asyncio.start_server(die, "127.0.0.1", 0)
    dying_address: Backend = ("127.0.0.1", int(dying.sockets[0].getsockname()[1]))
    try:
        async with (
            EchoServer("b") as b,
            RoundRobinProxy([dying_address, b.address]) as proxy,
        ):
            [(status, _)] = await post(proxy.url)
    finally:
        dying.close()
        await dying.wait_closed()
    assert got_request.is_set()
    assert status == 502
    assert b.received == 0
    assert proxy.failed == 1
    assert proxy.answered == Counter()


async def test_method_path_headers_body_and_status_pass_through() -> None:
    async with (
        EchoServer("a") as a,
        RoundRobinProxy([a.address]) as proxy,
        aiohttp.ClientSession() as session,
    ):
        async with session.put(
            URL(f"{proxy.url}/telegram/a%2Fb?x=1&y=%2F", encoded=True),  # sent as written
            data=b'{"update_id": 7}',
            headers={SECRET_HEADER: "right", "Content-Type": "application/json"},
        ) as response:
            status, seen = response.status, await response.json()
            content_type = response.headers["Content-Type"]
        async with session.post(
            f"{proxy.url}/telegram", json={}, headers={SECRET_HEADER: "wrong"}
        ) as response:
            forged = response.status
    assert status == 201
    assert content_type.startswith("application/json")
    assert seen == {
        "backend": "a",
        "method": "PUT",
        "raw_path": "/telegram/a%2Fb?x=1&y=%2F",
        "secret": "right",
        "content_type": "application/json",
        "body": '{"update_id": 7}',
    }
    assert forged == 403


async def test_telegrams_posts_through_the_proxy_reach_every_live_worker(
    tg: FakeTelegram,
) -> None:
    """The local Bot API server posts many chats' updates at once through the proxy; with one
    worker down, the other two take them all, and every update is confirmed."""
    async with (
        EchoServer("a") as a,
        EchoServer("b") as b,
        EchoServer("c") as c,
        RoundRobinProxy([a.address, b.address, c.address]) as proxy,
        Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        await b.stop()
        pushed = [tg.resident(700 + n).send("hello") for n in range(12)]
        await bot.set_webhook(f"{proxy.url}/telegram", secret_token="right")
        await tg.wait_until_confirmed(timeout=10)
    assert sorted(u for u, status in tg.webhook_calls if status == 200) == pushed
    assert proxy.answered[a.address] + proxy.answered[c.address] == 12
    assert proxy.answered[a.address] > 0
    assert proxy.answered[c.address] > 0
    assert b.address not in proxy.answered
