"""The real bot polling the tests' local Bot API server: a test can start, stop, restart it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram.ext import Application

from bot.app import build_application, serve
from bot.settings import Settings
from bot.webhook import Webhook, WebhookServer
from services import build_services
from storage import Storage, open_storage
from tests.fake_telegram import FakeTelegram, Resident, SentMessage

REPO = Path(__file__).resolve().parent.parent


def settings_for(tg: FakeTelegram, database: Path | str, **changes: Any) -> Settings:
    """Settings that point the bot at the local server and a test database (no .env read)."""
    return Settings(
        _env_file=None,
        bot_token=SecretStr(tg.token),
        api_base_url=tg.base_url,
        api_file_url=tg.base_file_url,
        database=str(database),
        **changes,
    )


class RunningBot:
    """The bot as `whatmatters run` runs it: `serve()` on its own task, stoppable at will."""

    def __init__(self, tg: FakeTelegram, settings: Settings) -> None:
        self.tg = tg
        self.settings = settings
        # Opened by `start` (through `build_services`, as `whatmatters run` opens it).
        self.storage: Storage = open_storage(settings.database)
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._services = contextlib.AsyncExitStack()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Start the bot and wait until it polls for updates (or has set its webhook)."""
        hook = Webhook.from_settings(self.settings)
        waits_for = "setWebhook" if hook else "getUpdates"
        calls_before = len(self.tg.calls_to(waits_for))
        self._services = contextlib.AsyncExitStack()
        services = await self._services.enter_async_context(build_services(self.settings))
        self.storage = services.storage
        self.app = build_application(self.settings, services)
        self._stop = asyncio.Event()
        server = WebhookServer(self.app, self.storage, hook) if hook else None
        self._task = asyncio.create_task(serve(self.app, self._stop, server))
        await self.tg.wait_for_call(waits_for, timeout=timeout, count=calls_before + 1)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop the bot as SIGTERM would, and wait for it to finish."""
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(task, timeout)
        finally:
            await self._services.aclose()

    async def kill(self) -> None:
        """Stop the bot abruptly, mid-work, as a crash would: no shutdown steps run."""
        if self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await self._services.aclose()  # what a dead process's connection would be: gone

    async def restart(self) -> None:
        """Stop the bot cleanly and start a new one on the same database."""
        await self.stop()
        await self.start()


class BotProcess:
    """The bot as a separate `whatmatters run` process, so a test can kill it with SIGKILL."""

    def __init__(self, tg: FakeTelegram, settings: Settings, log: Path | None = None) -> None:
        self.tg = tg
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
        self.env.update(
            PYTHONPATH=str(REPO),
            WHATMATTERS_BOT_TOKEN=tg.token,
            WHATMATTERS_API_BASE_URL=settings.api_base_url,
            WHATMATTERS_API_FILE_URL=settings.file_url,
            WHATMATTERS_DATABASE=settings.database,
            WHATMATTERS_ADMINS=",".join(str(admin) for admin in settings.admins),
            WHATMATTERS_TIMEZONE=settings.timezone,
        )
        # Webhook mode (one worker of several, perhaps): it listens, and registers the webhook.
        self.waits_for = "getUpdates"
        if settings.webhook_url:
            self.env.update(
                WHATMATTERS_WEBHOOK_URL=settings.webhook_url, WHATMATTERS_LISTEN=settings.listen
            )
            self.waits_for = "setWebhook"
            if settings.workers > 1:  # `run --workers N`: a supervisor and its N workers
                self.env["WHATMATTERS_WORKERS"] = str(settings.workers)
        self.log = log or Path(settings.database).with_suffix(".log")
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not been killed or stopped."""
        return self._process is not None

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Start `whatmatters run` and wait until it polls for updates (or set its webhook)."""
        polls_before = len(self.tg.calls_to(self.waits_for))
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env,
                cwd=self.log.parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        await self.tg.wait_for_call(self.waits_for, timeout=timeout, count=polls_before + 1)

    async def whatmatters(self, *args: str) -> tuple[int, str]:
        """Run the command line with the bot's settings (beside it, or instead of it); its exit
        status and its output (standard output and error together)."""
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(run.communicate(), 60)
        assert run.returncode is not None
        return run.returncode, out.decode()

    async def kill(self) -> None:
        """SIGKILL: the process dies at once, wherever it is."""
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None

    async def stop(self, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """SIGTERM, and wait for a clean exit; returns the exit status."""
        if self._process is None:
            return 0
        process, self._process = self._process, None
        process.terminate()
        try:
            return await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 nobody listens on (the system picks them; all different)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on."""
    return free_ports(1)[0]


async def said(person: Resident, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
    """The next new message (not an edit of an old one) that the bot sent this person."""
    for _ in range(10):
        message = await person.reply(timeout)
        if not message.edited:
            return message
    raise AssertionError("only edits arrived")
