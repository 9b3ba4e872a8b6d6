"""One bot process on SQLite next to 1, 2 and 3 webhook workers on PostgreSQL, under one load.

The same load runs against each set-up in turn, in one run, on the same machine: N residents
(default 100) each answer the crash-test flow of six open questions (bench/crash.py) R times over
(default 2), one message at a time, each waiting for the bot's next question before typing the
next answer, as a person does. The set-ups:

- **SQLite, 1 process**: `whatmatters run` long polling a SQLite file (the default installation);
- **PostgreSQL, 1/2/3 workers**: that many `whatmatters run` processes in webhook mode on one
  PostgreSQL database (a throwaway cluster this script starts with the machine's `initdb` and
  `pg_ctl`), behind a round-robin proxy (tests/proxy.py) that the local Bot API server posts to,
  up to 40 updates at once, each chat's in order (as Telegram does).

Printed side by side: updates answered per second (the residents' messages, from the first sent
to the last answered), the median and 95th-percentile latency from a message sent to the bot's
next question, and whether every answer was stored exactly once. Everything (the local Bot API
server, the residents, PostgreSQL, the workers) shares this machine's cores, so more workers only
help while cores are free: read the figures with `nproc` in mind.

    .venv/bin/python bench/scale.py [--residents 100] [--rounds 2] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.crash import (  # noqa: E402 (after the path is set)
    _QUESTION_RE,
    DONE_TEXT,
    FLOW_ID,
    QUESTIONS,
    _exported,
    bots,
    crash_flow,
)

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram, Resident

FIRST_RESIDENT = 90_000
REPLY_TIMEOUT = 60.0


@dataclass
class Figures:
    """What one set-up did under the load."""

    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    sent: list[str] = field(default_factory=list)
    stored_once: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _next_question(resident: Resident, asked: int) -> int:
    """The number of the next question the bot asks (0 once it thanks)."""
    deadline = time.monotonic() + REPLY_TIMEOUT
    for _ in range(1000):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        message = await resident.reply(timeout=left)
        if message.edited:
            continue
        if DONE_TEXT in message.plain:
            return 0
        found = _QUESTION_RE.search(message.plain)
        if found and int(found[1]) > asked:
            return int(found[1])
    raise TimeoutError(f"resident {resident.user_id}: no next question in {REPLY_TIMEOUT} s")


async def _resident(resident: Resident, rounds: int, figures: Figures) -> None:
    """Answer the flow `rounds` times, timing each message to the bot's next question."""
    for round_ in range(rounds):
        resident.send(f"/start {FLOW_ID}")
        asked = await _next_question(resident, 0)
        for _ in range(QUESTIONS):
            text = f"resident {resident.user_id} answer {round_}.{asked} (q{asked})"
            figures.sent.append(text)
            began = time.monotonic()
            resident.send(text)
            asked = await _next_question(resident, asked)
            figures.latencies.append(time.monotonic() - began)
            if asked == 0:
                break


async def _load(tg: FakeTelegram, residents: int, rounds: int, figures: Figures) -> None:
    people = [tg.resident(FIRST_RESIDENT + n) for n in range(residents)]
    began = time.monotonic()
    results = await asyncio.gather(
        *(_resident(person, rounds, figures) for person in people), return_exceptions=True
    )
    figures.seconds = time.monotonic() - began
    figures.failures = [str(result)[:200] for result in results if isinstance(result, Exception)]


async def measure(
    tg: FakeTelegram, workdir: Path, database: str, workers: int, residents: int, rounds: int
) -> Figures:
    """Run the load against `workers` webhook workers on `database` (0: one polling process)."""
    from storage import open_storage

    name = "SQLite, 1 process" if not workers else f"PostgreSQL, {workers} worker(s)"
    figures = Figures(name)
    async with open_storage(database) as storage:
        await storage.publish_flow(FLOW_ID, crash_flow())
    logs = workdir / f"set-up-{workers}"
    logs.mkdir(exist_ok=True)
    async with bots(tg, database, logs, workers):
        await _load(tg, residents, rounds, figures)
    stored, misplaced, disordered = await _exported(database)
    figures.stored_once = (
        sorted(stored.elements()) == sorted(figures.sent) and not misplaced and not disordered
    )
    return figures


def report(rows: list[Figures], residents: int, rounds: int) -> str:
    """The figures side by side."""
    lines = [
        f"{residents} residents x {rounds} rounds of {QUESTIONS} answers each, one set-up after"
        f" another; {os.cpu_count()} cores shared by everything",
        f"{'set-up':<26}{'answers/s':>10}{'median ms':>11}{'p95 ms':>9}{'answered':>10}"
        f"{'stored once':>13}",
    ]
    for row in rows:
        lines.append(
            f"{row.name:<26}{row.per_second:>10.1f}{row.percentile(0.5) * 1000:>11.0f}"
            f"{row.percentile(0.95) * 1000:>9.0f}{len(row.latencies):>10}"
            f"{'yes' if row.stored_once else 'NO':>13}"
        )
        for failure in row.failures[:3]:
            lines.append(f"    failed: {failure}")
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    from tests.fake_telegram import FakeTelegram
    from tests.postgres_server import PostgresServer, binaries

    os.environ.setdefault("PTB_TIMEDELTA", "1")
    folder = binaries()
    if folder is None:
        print("bench/scale.py needs PostgreSQL's programs (initdb, pg_ctl, psql)", file=sys.stderr)
        return 2
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    server = PostgresServer(folder)
    server.start()
    rows: list[Figures] = []
    try:
        with tempfile.TemporaryDirectory(prefix="whatmatters-scale-") as temporary:
            workdir = Path(temporary)
            async with FakeTelegram() as tg:
                rows.append(
                    await measure(
                        tg, workdir, str(workdir / "scale.db"), 0, args.residents, args.rounds
                    )
                )
                print(report(rows, args.residents, args.rounds).splitlines()[-1], flush=True)
            for workers in counts:
                async with FakeTelegram() as tg:
                    database = server.new_database(migrated=False)
                    rows.append(
                        await measure(tg, workdir, database, workers, args.residents, args.rounds)
                    )
                    print(report(rows, args.residents, args.rounds).splitlines()[-1], flush=True)
    finally:
        server.stop()
    print()
    print(report(rows, args.residents, args.rounds))
    return 0 if all(row.stored_once and not row.failures for row in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,2,3", help="worker counts to run on PostgreSQL")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
