"""Webhook mode: Telegram posts updates to the bot; each is stored before the 200 goes back,
and a post without the right secret is refused with 403 and stores nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from bot.webhook import SECRET_HEADER
from tests.fake_telegram import FakeTelegram, text_update
from tests.running_bot import REPO, RunningBot, free_port, said, settings_for

SAM = 811
SECRET = "a-long-secret_from-the-settings"


def webhook_bot(tg: FakeTelegram, database: Path, port: int) -> RunningBot:
    """The bot in webhook mode, listening on `port` of 127.0.0.1."""
    return RunningBot(
        tg,
        settings_for(
            tg,
            database,
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            listen=f"127.0.0.1:{port}",
            webhook_secret=SECRET,
        ),
    )


async def test_a_resident_is_answered_through_the_webhook(tg: FakeTelegram, database: Path) -> None:
    """The bot registers its URL and secret; Telegram's posts are answered 200 and the resident
    walks into the conversation; nothing polls."""
    port = free_port()
    bot = webhook_bot(tg, database, port)
    await bot.start()
    try:
        assert tg.webhook_url == f"http://127.0.0.1:{port}/telegram"
        assert tg.webhook_secret == SECRET
        sam = tg.resident(SAM)
        sam.send("/start")
        assert (await said(sam)).labels == ["Yes", "No"]
        sam.press("Yes")
        assert "What matters to you" in (await said(sam)).text
        sam.send("Safer crossings near the school")
        assert "biggest difference" in (await said(sam)).text
        assert await bot.storage.count_answers() == 1
        assert {status for _, status in tg.webhook_calls} == {200}
        assert tg.calls_to("getUpdates") == []
    finally:
        await bot.stop()


async def test_a_post_without_the_right_secret_is_refused_and_nothing_is_stored(
    tg: FakeTelegram, database: Path
) -> None:
    """A forged update (no secret, or a wrong one) gets 403; the inbox stays empty."""
    port = free_port()
    bot = webhook_bot(tg, database, port)
    await bot.start()
    try:
        forged = text_update(999_001, 5, "/start", first_name="Mallory")
        url = f"http://127.0.0.1:{port}/telegram"
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "guess"}):
                async with session.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
            async with session.post(
                url, data=b"not json", headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 400
        assert await bot.storage.unfinished_updates() == []
        assert tg.messages_to(5) == []
    finally:
        await bot.stop()


async def test_an_update_posted_while_the_bot_is_down_is_answered_when_it_is_back(
    tg: FakeTelegram, database: Path
) -> None:
    """Telegram keeps retrying an update nobody took; the bot answers it once after a restart."""
    port = free_port()
    bot = webhook_bot(tg, database, port)
    await bot.start()
    sam = tg.resident(SAM)
    await bot.stop()
    sam.send("/start")
    await asyncio.sleep(0.5)  # Telegram tries, and fails, to post it
    bot = webhook_bot(tg, database, port)
    await bot.start()
    try:
        assert (await said(sam, timeout=10)).labels == ["Yes", "No"]
        await sam.no_reply(within=0.5)
        assert [status for _, status in tg.webhook_calls][-1] == 200
        assert 0 in [status for _, status in tg.webhook_calls]  # refused while down
    finally:
        await bot.stop()


async def test_run_serves_the_dashboard_too_when_told_where(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """With WHATMATTERS_WEB_LISTEN set, `whatmatters run` answers residents and serves the
    dashboard's sign-in page from the same process; SIGTERM stops both, cleanly."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    env.update(
        PYTHONPATH=str(REPO),
        WHATMATTERS_BOT_TOKEN=tg.token,
        WHATMATTERS_API_BASE_URL=tg.base_url,
        WHATMATTERS_DATABASE=str(tmp_path / "bot.db"),
        WHATMATTERS_WEB_LISTEN=f"127.0.0.1:{port}",
        WHATMATTERS_WEB_URL=f"http://127.0.0.1:{port}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await tg.wait_for_call("getUpdates", timeout=30)
        sam = tg.resident(SAM)
        sam.send("/start")
        assert (await said(sam, timeout=10)).labels == ["Yes", "No"]
        async with aiohttp.ClientSession() as session:
            for _ in range(50):  # the page may come up a moment after the bot
                try:
                    async with session.get(f"http://127.0.0.1:{port}/signin") as response:
                        status, page = response.status, await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the dashboard never answered")
        assert status == 200
        assert "<html" in page.lower()
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, err.decode()[-2000:]
