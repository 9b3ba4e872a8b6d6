"""`whatmatters run --workers N`: N worker processes on this machine, one webhook port.

Each worker is a whole `whatmatters run` (webhook mode) of its own; they share the listening
port (SO_REUSEPORT: the kernel spreads the connections) and coordinate through PostgreSQL
(bot/workers.py). This process only starts them, starts again one that dies (after a pause that
grows if it keeps dying), and passes SIGTERM or Ctrl+C on to all of them. A worker that exits
with status 2 (a setting Telegram or the database refuses) stops them all: starting it again
would fail again.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

# A worker that dies is started again after this pause, doubled each time it dies within a
# minute of starting, up to `LONGEST_PAUSE`.
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
STEADY = 60.0
# How long the workers have to stop after SIGTERM before they are killed.
STOP_WAIT = 20.0
CONFIG_ERROR = 2
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_environments(
    base: Mapping[str, str], workers: int, listen: str, settings: Mapping[str, str]
) -> list[dict[str, str]]:
    """The environment of each worker: the parent's, the settings given on the command line,
    one worker each, a name of its own (stable across its restarts), and the dashboard (when
    asked for) served by the first only."""
    host = socket.gethostname()
    environments = []
    for number in range(1, workers + 1):
        env = dict(base)
        env.update(settings)
        env["WHATMATTERS_WORKERS"] = "1"
        env["WHATMATTERS_WORKER_NAME"] = f"{host}:{listen}:{number}"
        if number > 1:
            env["WHATMATTERS_WEB_LISTEN"] = ""  # (over a .env file's too)
        environments.append(env)
    return environments


class Supervisor:
    """Starts the workers, keeps them running, and stops them together."""

    def __init__(self, environments: list[dict[str, str]]) -> None:
        self.environments = environments
        self.stopping = asyncio.Event()
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self.exit_status = 0

    async def _start(self, number: int) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.environments[number],
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self._processes[number] = process
        log.info("worker %d started (pid %d)", number + 1, process.pid)
        return process

    async def _keep(self, number: int) -> None:
        """Run one worker until stopping, starting it again whenever it dies."""
        pause = FIRST_PAUSE
        for _ in range(1_000_000):  # bounded: a worker dying a million times is given up on
            began = time.monotonic()
            process = await self._start(number)
            status = await process.wait()
            if self.stopping.is_set():
                return
            if status == CONFIG_ERROR:
                print(
                    f"whatmatters: worker {number + 1} could not start (see above); stopping all",
                    file=sys.stderr,
                )
                self.exit_status = CONFIG_ERROR
                self.stopping.set()
                return
            pause = FIRST_PAUSE if time.monotonic() - began > STEADY else pause
            print(
                f"whatmatters: worker {number + 1} stopped (status {status}); starting it again"
                f" in {pause:.0f} s",
                file=sys.stderr,
            )
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
                return
            except TimeoutError:
                pass
            pause = min(pause * 2, LONGEST_PAUSE)

    async def run(self) -> int:
        """Run every worker until SIGTERM or Ctrl+C, then stop them all; the exit status."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stopping.set)
        keepers = [asyncio.create_task(self._keep(n)) for n in range(len(self.environments))]
        await self.stopping.wait()
        for process in self._processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        waiting = [p.wait() for p in self._processes.values() if p.returncode is None]
        if waiting:
            _, late = await asyncio.wait(
                [asyncio.ensure_future(w) for w in waiting], timeout=STOP_WAIT
            )
            for process in self._processes.values():
                if process.returncode is None:
                    process.kill()
            if late:
                await asyncio.wait(late, timeout=5)
        for keeper in keepers:
            keeper.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)
        return self.exit_status


def _die_with_parent() -> None:
    """In the worker, before it runs: ask Linux to send it SIGTERM if this supervisor dies (even
    by SIGKILL). A worker left running would share its name with the one started in its place by
    the next supervisor, and two workers of one name would hold the same claims."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the heartbeat's lapse is the only guard
        pass


def supervise(workers: int, listen: str, settings: Mapping[str, str]) -> int:
    """Run `workers` worker processes until stopped; the exit status."""
    environments = worker_environments(os.environ, workers, listen, settings)
    print(
        f"whatmatters: starting {workers} workers on {listen}; Ctrl+C or SIGTERM stops them all",
        file=sys.stderr,
    )
    return asyncio.run(Supervisor(environments).run())
