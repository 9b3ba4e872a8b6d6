"""Kill the bot with SIGKILL at random moments while residents answer; count what survives.

Residents chat with a real `whatmatters run` process through the local Bot API server
(`tests.fake_telegram.FakeTelegram`, on 127.0.0.1). Each answers a flow of open questions, one
question at a time as a person would (waiting for the next question before typing the next answer,
however long a restart takes), and starts it again when it ends. Meanwhile the bot process is
killed with SIGKILL after a random time up, restarted at once, so many times; then it runs until
every resident's last answer has been answered, stops, and `whatmatters export` is read.

Every answer a resident sent must appear in the export exactly once, under the question it
answered. Printed: answers sent, stored, lost, duplicated, unexpected (stored but never sent) and
misplaced (stored under another question), and the time it took. The exit status is 1 if anything
was lost, duplicated, unexpected or misplaced. A resident left waiting for their next question is
reported with what the database holds for them (their last updates, whether each was processed
and answered, and their unsent outbox messages with who claims them).

With `--bursts N`, Telegram is also down as each restart begins: its next N sendMessage calls
answer 500 or 502, so the replies a kill cut off are replayed into an outage.

With `--workers N` (and `--database postgresql://...`), N workers in webhook mode share the
database behind a round-robin proxy (`tests/proxy.py`) that Telegram posts to; each round kills
one worker, chosen at random, and starts it again. Also counted then: answers stored out of the
order their resident typed them.

    .venv/bin/python bench/crash.py [--residents 50] [--rounds 30] [--seed 1] [--bursts 20]
        [--workers 3 --database postgresql://...]

The test suite runs the same harness smaller (tests/test_crash.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram, Resident
    from tests.running_bot import BotProcess

FLOW_ID = "crash-test"
QUESTIONS = 6
FIRST_RESIDENT = 70_000
_QUESTION_RE = re.compile(r"Question (\d+) of")
_ANSWER_RE = re.compile(r"resident (\d+) answer (\d+) ")
_ID_RE = re.compile(r"(\d+)")
DONE_TEXT = "All done"


def crash_flow(questions: int = QUESTIONS) -> str:
    """A flow of open questions only, so that every message a resident types is an answer."""
    steps = "".join(
        f'  - id: q{n}\n    kind: text\n    text: "Question {n} of {questions} - what matters?"\n'
        for n in range(1, questions + 1)
    )
    return (
        f"id: {FLOW_ID}\ntitle: Crash test\nentry: null\nsteps:\n{steps}"
        f"  - id: done\n    kind: end\n    text: {DONE_TEXT}, thank you.\n"
    )


@dataclass
class Outcome:
    """What the residents sent and what the database kept."""

    sent: list[str] = field(default_factory=list)
    stored: Counter[str] = field(default_factory=Counter)
    misplaced: list[str] = field(default_factory=list)  # stored under another question
    disordered: list[str] = field(default_factory=list)  # stored before an earlier answer
    kills: int = 0
    seconds: float = 0.0
    stuck: list[str] = field(default_factory=list)  # residents left waiting at the end
    evidence: list[str] = field(default_factory=list)  # what the database holds for them

    @property
    def lost(self) -> list[str]:
        return [text for text in self.sent if self.stored[text] == 0]

    @property
    def duplicated(self) -> list[str]:
        return [text for text, n in self.stored.items() if n > 1]

    @property
    def unexpected(self) -> list[str]:
        sent = set(self.sent)
        return [text for text in self.stored if text not in sent]

    def report(self) -> str:
        return (
            f"answers sent {len(self.sent)}, stored {sum(self.stored.values())}, "
            f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
            f"unexpected {len(self.unexpected)}, misplaced {len(self.misplaced)}, "
            f"out of order {len(self.disordered)}; "
            f"{self.kills} SIGKILLs in {self.seconds:.1f} s"
            + f"; residents left waiting for a question: {len(self.stuck)}"
            + "".join(f"\n{line}" for line in self.evidence)
        )


class Person:
    """One resident answering the crash-test flow, a question at a time, again and again."""

    def __init__(self, resident: Resident, outcome: Outcome, rng: random.Random) -> None:
        self.resident = resident
        self.outcome = outcome
        self.rng = rng
        self.asked = 0  # the question the bot last asked; 0 before the first
        self.answered = 0  # answers this person typed
        self.waiting_since: float | None = None

    async def _next_question(self, timeout: float) -> int:  # noqa: ASYNC109
        """Read replies until one asks a question after `self.asked` (a repeat is skipped)."""
        deadline = time.monotonic() + timeout
        since = time.strftime("%H:%M:%S")
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            message = await self.resident.reply(timeout=left)
            if message.edited:
                continue
            if DONE_TEXT in message.plain:
                return 0
            found = _QUESTION_RE.search(message.plain)
            if found and int(found[1]) > self.asked:
                return int(found[1])
        raise TimeoutError(
            f"resident {self.resident.user_id}: no question after {self.asked} in {timeout} s"
            f" from {since}"
        )

    async def live(self, stop: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        """Answer until told to stop, then wait for the answer in hand to be taken."""
        for _ in range(100_000):
            if stop.is_set():
                return
            if self.asked == 0:
                self.resident.send(f"/start {FLOW_ID}")
            else:
                text = f"resident {self.resident.user_id} answer {self.answered} (q{self.asked})"
                self.answered += 1
                self.outcome.sent.append(text)
                self.resident.send(text)
            self.waiting_since = time.monotonic()
            self.asked = await self._next_question(timeout)
            self.waiting_since = None
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))  # reading, typing


async def run(
    tg: FakeTelegram,
    workdir: Path,
    *,
    residents: int,
    rounds: int,
    seed: int,
    up: tuple[float, float] = (0.3, 2.5),
    reply_timeout: float = 60.0,
    bursts: int = 0,
    database: str | None = None,
    workers: int = 0,
) -> Outcome:
    """The crash run on a fresh database (a SQLite file in `workdir`, or the empty one named by
    `database`, e.g. a PostgreSQL URL); the server `tg` must be started. With `workers`, that
    many webhook workers behind a round-robin proxy, one killed at random each round."""
    from storage import open_storage

    rng = random.Random(seed)
    database = database or str(workdir / "crash.db")
    async with open_storage(database) as storage:
        await storage.publish_flow(FLOW_ID, crash_flow())
    outcome = Outcome()
    people = [
        Person(tg.resident(FIRST_RESIDENT + n), outcome, random.Random(rng.random()))
        for n in range(residents)
    ]
    began = time.monotonic()
    stop = asyncio.Event()
    async with bots(tg, database, workdir, workers) as processes:
        await _crash(tg, processes, people, stop, rng, outcome, rounds, up, reply_timeout, bursts)
    outcome.seconds = time.monotonic() - began
    outcome.stored, outcome.misplaced, outcome.disordered = await _exported(database)
    if outcome.stuck:
        outcome.evidence = await _evidence(
            database, [int(found[1]) for who in outcome.stuck if (found := _ID_RE.search(who))]
        )
    return outcome


async def _evidence(database: str, chat_ids: list[int]) -> list[str]:
    """What the database holds for residents left waiting: their last updates (whether each
    was processed and answered) and their outbox messages not yet sent (when each is due, who
    claims it), so that a run that failed once says why."""
    from storage import open_storage
    from storage.tables import TABLES

    tables = {table.name: table for table in TABLES}
    updates, outbox = tables["updates"], tables["outbox"]
    lines: list[str] = []
    async with open_storage(database) as storage:
        mine: dict[int, list[str]] = {chat_id: [] for chat_id in chat_ids}
        async for batch in storage.rows(updates):
            for row in batch:
                record = dict(zip(updates.names, row, strict=True))
                message = json.loads(record["payload"]).get("message") or {}
                chat_id = (message.get("chat") or {}).get("id")
                if chat_id in mine:
                    mine[chat_id].append(
                        f"update {record['update_id']} {message.get('text', '')!r}: received"
                        f" {record['received_at']}, processed {record['processed_at']},"
                        f" replied {record['replied_at']}"
                    )
        sends: dict[int, list[str]] = {chat_id: [] for chat_id in chat_ids}
        async for batch in storage.rows(outbox):
            for row in batch:
                record = dict(zip(outbox.names, row, strict=True))
                if record["chat_id"] in sends:
                    sends[record["chat_id"]].append(
                        f"outbox {record['id']} {record['key']} {(record['text'] or '')[:24]!r}:"
                        f" queued {record['created_at']}, due {record['not_before']}, sent"
                        f" {record['sent_at']}, failed {record['failed_at']}, claimed until"
                        f" {record['claimed_until']} by {record['claimed_by']}, tries"
                        f" {record['attempts']}, priority {record['priority']}"
                    )
    for chat_id, found in mine.items():
        lines.append(f"resident {chat_id} (database checked {time.strftime('%H:%M:%S')}):")
        lines.extend(f"  {line}" for line in found[-6:] + sends[chat_id][-6:])
    return lines


@asynccontextmanager
async def bots(
    tg: FakeTelegram, database: str, workdir: Path, workers: int = 0
) -> AsyncIterator[list[BotProcess]]:
    """`whatmatters run` processes on `database`, started, and stopped at the end: one polling
    (`workers` 0), or that many webhook workers behind a round-robin proxy (tests/proxy.py)
    that the local Bot API server posts to."""
    from tests.proxy import RoundRobinProxy
    from tests.running_bot import BotProcess, free_ports, settings_for

    async with contextlib.AsyncExitStack() as stack:
        if workers:
            ports = free_ports(workers)
            proxy = RoundRobinProxy([("127.0.0.1", port) for port in ports])
            await stack.enter_async_context(proxy)
            processes = [
                BotProcess(
                    tg,
                    settings_for(
                        tg,
                        database,
                        webhook_url=f"{proxy.url}/telegram",
                        listen=f"127.0.0.1:{port}",
                    ),
                    log=workdir / f"worker{n}.log",
                )
                for n, port in enumerate(ports, start=1)
            ]
        else:
            processes = [BotProcess(tg, settings_for(tg, database), log=workdir / "bot.log")]
        for process in processes:
            stack.push_async_callback(process.stop)
            await process.start()
        yield processes


async def _crash(
    tg: FakeTelegram,
    processes: list[BotProcess],
    people: list[Person],
    stop: asyncio.Event,
    rng: random.Random,
    outcome: Outcome,
    rounds: int,
    up: tuple[float, float],
    reply_timeout: float,
    bursts: int,
) -> None:
    """Kill a bot at random, again and again, while the residents answer; then let them finish."""
    lives = [asyncio.create_task(p.live(stop, reply_timeout)) for p in people]
    try:
        for _ in range(rounds):
            await asyncio.sleep(rng.uniform(*up))
            process = rng.choice(processes)
            await process.kill()
            outcome.kills += 1
            if bursts:  # Telegram down as the bot comes back: replayed replies meet 5xx
                tg.fail("sendMessage", 500, times=bursts - bursts // 2)
                tg.fail("sendMessage", 502, times=bursts // 2)
            try:
                await process.start()
            except TimeoutError:
                tail = process.log.read_text(errors="replace").splitlines()[-40:]
                raise RuntimeError("the bot did not start again:\n" + "\n".join(tail)) from None
            # A resident left without their next question stops answering: counted as stuck.
        # Let everyone's answer in hand be taken and answered by the last, living bot.
        stop.set()
        done, pending = await asyncio.wait(lives, timeout=reply_timeout + 5)
        outcome.stuck = [str(people[lives.index(task)].resident.user_id) for task in pending]
        for task in done:
            if task.exception() is not None:
                outcome.stuck.append(str(task.exception())[:1500])
    finally:
        for task in lives:
            task.cancel()
        await asyncio.gather(*lives, return_exceptions=True)


async def _exported(database: str) -> tuple[Counter[str], list[str], list[str]]:
    """The answers `whatmatters export --format jsonl --as-written` prints, counted by text;
    those stored under another question; those stored after a later answer of theirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    env.update(PYTHONPATH=str(ROOT), WHATMATTERS_DATABASE=database)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "export",
        "--format",
        "jsonl",
        "--as-written",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        raise RuntimeError(f"whatmatters export failed: {err.decode()}")
    rows = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    ours = [row for row in rows if row["flow"] == FLOW_ID]
    # Each answer says which question it was typed for: "... (q3)".
    misplaced = [row["answer"] for row in ours if not row["answer"].endswith(f"({row['step']})")]
    # In the order they were stored (the export's), each resident's answers count up.
    disordered = []
    latest: dict[str, int] = {}
    for row in ours:
        found = _ANSWER_RE.match(row["answer"])
        if found is None:
            continue
        who, number = found[1], int(found[2])
        if number < latest.get(who, -1):
            disordered.append(row["answer"])
        latest[who] = max(number, latest.get(who, -1))
    return Counter(row["answer"] for row in ours), misplaced, disordered


async def _main(args: argparse.Namespace) -> int:
    from tests.fake_telegram import FakeTelegram

    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if args.workers and not args.database:
        # Several workers share a PostgreSQL database: a throwaway one on this machine.
        from tests.postgres_server import PostgresServer, binaries

        folder = binaries()
        if folder is None:
            print("--workers needs --database postgresql://... or PostgreSQL's programs here")
            return 2
        server = PostgresServer(folder)
        server.start()
        try:
            args.database = server.new_database(migrated=False)
            return await _main(args)
        finally:
            server.stop()
    with tempfile.TemporaryDirectory(prefix="whatmatters-crash-") as temporary:
        workdir: Path = args.keep or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (before anything runs)
        async with FakeTelegram() as tg:
            outcome = await run(
                tg,
                workdir,
                residents=args.residents,
                rounds=args.rounds,
                seed=args.seed,
                bursts=args.bursts,
                database=args.database,
                workers=args.workers,
            )
    print(
        f"crash run: {args.residents} residents, {args.rounds} rounds, seed {args.seed}"
        + (f", {args.bursts} failed sends (500/502) at each restart" if args.bursts else "")
        + (f", {args.workers} webhook workers behind a round-robin proxy" if args.workers else "")
    )
    print(outcome.report())
    for name in ("lost", "duplicated", "unexpected", "misplaced", "disordered", "stuck"):
        for text in getattr(outcome, name)[:10]:
            print(f"  {name}: {text}")
    bad = (
        outcome.lost
        or outcome.duplicated
        or outcome.unexpected
        or outcome.misplaced
        or outcome.disordered
        or outcome.stuck
    )
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="keep the database and the bot's log in this folder"
    )
    parser.add_argument(
        "--database", help="an empty database to run on, e.g. postgresql://user@host/db"
    )
    parser.add_argument(
        "--bursts", type=int, default=0, help="sendMessage calls failing (5xx) at each restart"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="webhook workers behind a round-robin proxy, on PostgreSQL (--database, or a"
        " throwaway server started from the machine's initdb and pg_ctl)",
    )
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
