"""Telegram down or slow when the bot starts: the bot waits it out instead of crashing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.app import build_application, serve
from services import build_services
from tests.fake_telegram import FakeTelegram
from tests.running_bot import REPO, RunningBot, said, settings_for


async def test_the_bot_starts_once_telegram_answers_again(tg: FakeTelegram, database: Path) -> None:
    """getMe failing twice (500, then 502) only delays the start; nothing crashes."""
    tg.fail("getMe", 500, times=1)
    tg.fail("getMe", 502, times=1)
    running = RunningBot(tg, settings_for(tg, database))
    await running.start(timeout=15)
    try:
        sam = tg.resident(501)
        sam.send("/start")
        assert (await said(sam)).labels == ["Yes", "No"]
        assert len(tg.calls_to("getMe")) == 3
    finally:
        await running.stop()


async def test_a_stop_while_telegram_is_down_at_start_up_ends_promptly(
    tg: FakeTelegram, database: Path
) -> None:
    """SIGTERM during the wait for Telegram exits within a second, not after the outage."""
    tg.fail("getMe", 500, times=1000)
    stop = asyncio.Event()
    settings = settings_for(tg, database)
    async with build_services(settings) as services:
        app = build_application(settings, services)
        task = asyncio.create_task(serve(app, stop))
        await tg.wait_for_call("getMe", timeout=5, count=2)
        stop.set()
        await asyncio.wait_for(task, timeout=1.5)
    assert tg.calls_to("getUpdates") == []


async def test_a_wrong_token_is_one_clear_line(tg: FakeTelegram, tmp_path: Path) -> None:
    """`whatmatters run` with a token Telegram refuses says so and exits, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    env.update(
        PYTHONPATH=str(REPO),
        WHATMATTERS_BOT_TOKEN="999:WRONG",
        WHATMATTERS_API_BASE_URL=tg.base_url,
        WHATMATTERS_DATABASE=str(tmp_path / "bot.db"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("whatmatters: Telegram refused the bot's token"), lines
    assert "Traceback" not in err.decode()


async def test_a_server_that_answers_what_the_bot_cannot_read_is_one_clear_line(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """getMe without a field every Bot API answer has ends `whatmatters run` with one line that
    names the API address, not a traceback."""
    tg.answer_with("getMe", {"id": 1, "is_bot": True})
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    env.update(
        PYTHONPATH=str(REPO),
        WHATMATTERS_BOT_TOKEN=tg.token,
        WHATMATTERS_API_BASE_URL=tg.base_url,
        WHATMATTERS_DATABASE=str(tmp_path / "bot.db"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith(f"whatmatters: the Bot API server at {tg.base_url} answered"), lines
    assert "Traceback" not in err.decode()
