"""How fast the bot takes in residents' answers, next to a bare python-telegram-bot echo bot.

N simulated residents (default 200) complete the shipped flow `what-matters` concurrently:
/start, press Yes (consent), two typed answers, press 4 (the 1–5 scale), press Yes (yes/no), and
read the thanks. Each resident waits for the bot's reply before its next step. Then, in the same
run and on the same local Bot API server, as many residents send the same six updates to a bare
echo bot, which answers each with one message (a press is answered, then echoed).

The local Bot API server (`tests.fake_telegram.FakeTelegram`) and the residents share this
process; each bot runs in a process of its own, as in production, so that the bot under test does
not share an event loop (or a core) with its load. The bot under test is the real one:
`build_application` + `serve` on a fresh SQLite database.

Printed for each bot: Bot API calls per second (polls not counted), updates answered per second,
answers stored per second (counted in the database afterwards), median and 95th-percentile reply
latency (from the moment an update is queued on the server to the moment the bot's next new message
reaches it), the bot process's peak resident memory (VmHWM), its CPU (in all, and per update), the
Bot API requests and getUpdates polls it made per update, and the ratios whatmatters / echo. The
run fails (exit status 1) unless every resident was thanked, the database holds exactly N × 4
answers, and nothing was stored or sent twice. Last, whether the targets of issue 14 were met in
this run: a 95th-percentile latency within 1.5x the echo bot's, and Bot API calls per second at
least 0.8x the echo bot's.

    .venv/bin/python bench/ingest.py [--residents N] [--out-json FILE] [--profile-dir DIR]

`--profile-dir` runs each bot under cProfile (slower; read the figures of that run with care).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram, Resident, SentMessage

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The project's modules are imported where they are used, so that each bot's process loads only
# what that bot needs: the echo bot's memory is python-telegram-bot's, not the harness's.

WHATMATTERS = "whatmatters"
ECHO = "echo"

# The flow's questions that store an answer: matters, biggest-difference, happy-here, hear-back.
FLOW_STEPS = frozenset({"matters", "biggest-difference", "happy-here", "hear-back"})
ANSWERS_PER_RESIDENT = len(FLOW_STEPS)

STARTUP_TIMEOUT = 60.0  # seconds for a bot process to reach its first getUpdates
SHUTDOWN_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL
MAX_EDITS_PER_REPLY = 10  # edits skipped while waiting for a new message, at most

# What "quick under load" means (issue 14): next to the echo bot, in the same run.
P95_TARGET = 1.5  # whatmatters' 95th-percentile reply latency, at most this times the echo bot's
CALLS_TARGET = 0.8  # its Bot API calls per second, at least this times the echo bot's

# Telegram user ids of the residents: a separate range per bot, so their chats never mix.
FIRST_USER_ID = {WHATMATTERS: 1_000_000, ECHO: 2_000_000}


class BenchError(Exception):
    """A bot process that would not start, or a reply that was not what the flow says."""


# --------------------------------------------------------------------------------------------
# What a resident does, and what each reply must look like


@dataclass(frozen=True)
class Step:
    """One update a resident sends (a text, or a press of the button labelled `value`)."""

    press: bool
    value: str
    expect: Callable[[SentMessage], bool]
    expected: str  # `expect` in words, for the error message

    def act(self, resident: Resident) -> int:
        """Send the update; return its update_id."""
        return resident.press(self.value) if self.press else resident.send(self.value)


def _shows(*labels: str) -> Callable[[SentMessage], bool]:
    return lambda message: message.labels == list(labels)


def _says(words: str) -> Callable[[SentMessage], bool]:
    return lambda message: words in message.plain


def _echoes(text: str) -> Callable[[SentMessage], bool]:
    return lambda message: message.plain == text


FIRST_ANSWER = "Feeling safe walking home, and a bus that comes on time."
SECOND_ANSWER = "More street lights on the path by the park."

FLOW_SCRIPT = (
    Step(False, "/start", _shows("Yes", "No"), "the consent question's Yes/No"),
    Step(True, "Yes", _says("What matters to you"), "the first question"),
    Step(False, FIRST_ANSWER, _says("biggest difference"), "the second question"),
    Step(False, SECOND_ANSWER, _shows("1", "2", "3", "4", "5", "Skip"), "the 1–5 scale"),
    Step(True, "4", _shows("Yes", "No"), "the yes/no question"),
    Step(True, "Yes", _says("Thank you"), "the thanks"),
)

# The echo bot shows these buttons under every reply, and echoes a press as the button's label.
ECHO_LABELS = ("Yes", "No", "1", "2", "3", "4", "5")
ECHO_SCRIPT = tuple(
    Step(step.press, step.value, _echoes(step.value), f"the echo of {step.value!r}")
    for step in FLOW_SCRIPT
)

SCRIPTS = {WHATMATTERS: FLOW_SCRIPT, ECHO: ECHO_SCRIPT}


# --------------------------------------------------------------------------------------------
# The bots' processes


def echo_application(token: str, base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """A bare PTB bot: every text is sent back, every press answered and its data sent back."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=label) for label in ECHO_LABELS]]
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None
        await context.bot.send_message(message.chat.id, message.text or "", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        assert query is not None
        assert chat is not None
        await query.answer()
        await context.bot.send_message(chat.id, query.data or "", reply_markup=keyboard)

    app = ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(256).build()
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


def run_bot_process(role: str, profile: Path | None) -> int:
    """The body of a bot process: serve until SIGTERM.

    whatmatters runs as `whatmatters run` runs it; the echo bot with PTB's own `run_polling`.
    """

    async def whatmatters() -> None:
        from bot.app import build_application, serve
        from bot.settings import Settings
        from services import build_services

        settings = Settings(_env_file=None)  # WHATMATTERS_* from the environment
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with build_services(settings) as services:
            await serve(build_application(settings, services), stop)

    def run() -> None:
        if role == WHATMATTERS:
            asyncio.run(whatmatters())
        else:
            env = os.environ
            app = echo_application(env["WHATMATTERS_BOT_TOKEN"], env["WHATMATTERS_API_BASE_URL"])
            app.run_polling(allowed_updates=Update.ALL_TYPES)  # stops on SIGTERM

    if profile is None:
        run()
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
        profiler.dump_stats(profile)
    return 0


@dataclass
class BotProcess:
    """A bot running in a child process (this script with `--bot-process ROLE`)."""

    role: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(
        cls, role: str, tg: FakeTelegram, workdir: Path, profile: Path | None
    ) -> BotProcess:
        """Start the bot; return once it polls the server for updates."""
        env = {
            name: value for name, value in os.environ.items() if not name.lower().endswith("proxy")
        }
        env.update(
            PTB_TIMEDELTA="1",
            PYTHONPATH=str(ROOT),
            WHATMATTERS_BOT_TOKEN=tg.token,
            WHATMATTERS_API_BASE_URL=tg.base_url,
            WHATMATTERS_API_FILE_URL=tg.base_file_url,
            WHATMATTERS_DATABASE=str(workdir / f"{role}.db"),
        )
        args = [str(SCRIPT), "--bot-process", role]
        if profile is not None:
            args += ["--profile-to", str(profile)]
        log = workdir / f"{role}.log"
        polls_before = len(tg.calls_to("getUpdates"))
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                env=env,
                cwd=workdir,  # away from any .env in the repository
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        bot = cls(role, process, log)
        polling = asyncio.ensure_future(
            tg.wait_for_call("getUpdates", timeout=STARTUP_TIMEOUT, count=polls_before + 1)
        )
        exited = asyncio.ensure_future(process.wait())
        try:
            await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                raise BenchError(f"the {role} bot exited on start-up:\n{bot.log_tail()}")
            polling.result()  # TimeoutError if it never polled
        except BaseException:
            await bot.stop()
            raise
        finally:
            polling.cancel()
            exited.cancel()
        return bot

    def log_tail(self, lines: int = 20) -> str:
        """The end of what the bot printed."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def peak_rss_kib(self) -> int | None:
        """The process's resident-memory high-water mark so far (VmHWM), in KiB."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time the process has used so far."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return None

    async def stop(self) -> None:
        """SIGTERM, and SIGKILL if the bot has not finished within SHUTDOWN_TIMEOUT."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
            raise BenchError(f"the {self.role} bot ignored SIGTERM:\n{self.log_tail()}") from None


# --------------------------------------------------------------------------------------------
# One bot's run


@dataclass
class Run:
    """What one bot did for the residents, and what was checked afterwards."""

    bot: str
    residents: int
    updates_sent: int = 0
    latencies_s: list[float] = field(default_factory=list)
    completed: int = 0
    first_push: float = math.inf
    last_reply: float = -math.inf
    bot_cpu_s: float | None = None
    harness_cpu_s: float = 0.0
    peak_rss_kib: int | None = None
    api_calls: Counter[str] = field(default_factory=Counter)
    answers_stored: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        """From the first update queued to the last reply received."""
        return max(self.last_reply - self.first_push, 1e-9)

    @property
    def replies(self) -> int:
        """Updates that were answered (one latency each)."""
        return len(self.latencies_s)

    @property
    def updates_per_s(self) -> float:
        return self.replies / self.wall_s

    @property
    def answers_per_s(self) -> float | None:
        return None if self.answers_stored is None else self.answers_stored / self.wall_s

    @property
    def cpu_ms_per_update(self) -> float | None:
        return None if self.bot_cpu_s is None else 1000 * self.bot_cpu_s / max(self.replies, 1)

    @property
    def requests_per_update(self) -> float:
        """Bot API requests the bot made per update answered, polls not counted."""
        sent = sum(n for method, n in self.api_calls.items() if method != "getUpdates")
        return sent / max(self.replies, 1)

    @property
    def calls_per_s(self) -> float:
        """Bot API requests (polls not counted) per second of the run: the throughput."""
        return self.requests_per_update * self.replies / self.wall_s

    @property
    def polls_per_update(self) -> float:
        return self.api_calls["getUpdates"] / max(self.replies, 1)

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.latencies_s) if self.latencies_s else math.nan

    @property
    def p95_ms(self) -> float:
        return 1000 * percentile(self.latencies_s, 95) if self.latencies_s else math.nan

    def summary(self) -> dict[str, Any]:
        """The figures, for --out-json."""
        return {
            "bot": self.bot,
            "residents": self.residents,
            "updates_sent": self.updates_sent,
            "updates_answered": self.replies,
            "residents_completed": self.completed,
            "wall_s": round(self.wall_s, 3),
            "updates_per_s": round(self.updates_per_s, 1),
            "bot_api_calls_per_s": round(self.calls_per_s, 1),
            "answers_stored": self.answers_stored,
            "answers_per_s": None if self.answers_per_s is None else round(self.answers_per_s, 1),
            "median_latency_ms": round(self.median_ms, 1),
            "p95_latency_ms": round(self.p95_ms, 1),
            "peak_rss_mib": None
            if self.peak_rss_kib is None
            else round(self.peak_rss_kib / 1024, 1),
            "bot_cpu_s": None if self.bot_cpu_s is None else round(self.bot_cpu_s, 2),
            "bot_api_calls": dict(self.api_calls),
            "harness_cpu_s": round(self.harness_cpu_s, 2),
            "problems": self.problems,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def next_new_message(resident: Resident, reply_timeout: float) -> SentMessage:
    """The resident's next unread bot message that is new (edits of old ones are skipped)."""
    for _ in range(MAX_EDITS_PER_REPLY + 1):
        message = await resident.reply(timeout=reply_timeout)
        if not message.edited:
            return message
    raise BenchError(f"resident {resident.user_id}: only edits arrived")


async def walk(
    tg: FakeTelegram, resident: Resident, script: Sequence[Step], run: Run, reply_timeout: float
) -> None:
    """One resident through the script, each step only once the previous one was answered."""
    for number, step in enumerate(script, 1):
        update_id = step.act(resident)
        pushed = tg.pushed_at[update_id]
        run.updates_sent += 1
        run.first_push = min(run.first_push, pushed)
        reply = await next_new_message(resident, reply_timeout)
        run.latencies_s.append(reply.at - pushed)
        run.last_reply = max(run.last_reply, reply.at)
        if not step.expect(reply):
            raise BenchError(
                f"resident {resident.user_id}, step {number} ({step.value!r}): expected "
                f"{step.expected}, got {reply.plain[:80]!r} with buttons {reply.labels}"
            )
    run.completed += 1


async def measure(
    tg: FakeTelegram,
    role: str,
    residents: int,
    workdir: Path,
    reply_timeout: float,
    profile: Path | None,
) -> Run:
    """Start one bot, let the residents loose on it, stop it, and check what it did."""
    run = Run(role, residents)
    script = SCRIPTS[role]
    people = [
        tg.resident(FIRST_USER_ID[role] + i, first_name=f"Resident {i}") for i in range(residents)
    ]
    bot = await BotProcess.start(role, tg, workdir, profile)
    try:
        cpu_before, harness_before = bot.cpu_seconds(), time.process_time()
        calls_before = len(tg.calls)
        outcomes = await asyncio.gather(
            *(walk(tg, person, script, run, reply_timeout) for person in people),
            return_exceptions=True,
        )
        run.harness_cpu_s = time.process_time() - harness_before
        run.api_calls = Counter(call.method for call in tg.calls[calls_before:])
        cpu_after = bot.cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            run.bot_cpu_s = cpu_after - cpu_before
        run.peak_rss_kib = bot.peak_rss_kib()
    finally:
        await bot.stop()
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        run.problems.append(f"{len(failures)} resident(s) did not finish; the first: {failures[0]}")
    run.problems += replies_problems(people, len(script))
    if role == WHATMATTERS:
        run.answers_stored, problems = database_problems(workdir / f"{role}.db", people)
        run.problems += problems
    return run


def replies_problems(people: Sequence[Resident], per_resident: int) -> list[str]:
    """Each resident got exactly one new message per update: none lost, none sent twice."""
    counts = Counter(sum(not m.edited for m in person.messages) for person in people)
    wrong = {count: n for count, n in counts.items() if count != per_resident}
    if not wrong:
        return []
    spread = ", ".join(f"{n} got {count}" for count, n in sorted(wrong.items()))
    return [f"residents should get {per_resident} new messages each: {spread}"]


def database_problems(database: Path, people: Sequence[Resident]) -> tuple[int, list[str]]:
    """Count the stored answers, and check each resident has each answer exactly once."""
    problems = []
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT r.telegram_user_id, a.step_id, COUNT(*) FROM answers a"
            " JOIN residents r ON r.id = a.resident_id GROUP BY r.telegram_user_id, a.step_id"
        ).fetchall()
        unanswered = db.execute("SELECT COUNT(*) FROM updates WHERE replied_at IS NULL").fetchone()
    total = sum(count for _, _, count in rows)
    expected = len(people) * ANSWERS_PER_RESIDENT
    if total != expected:
        problems.append(f"{total} answers stored, expected {expected}")
    duplicates = sum(count - 1 for _, _, count in rows if count > 1)
    if duplicates:
        problems.append(f"{duplicates} answers stored twice or more")
    steps: dict[int, set[str]] = {}
    for user_id, step_id, _ in rows:
        steps.setdefault(user_id, set()).add(step_id)
    incomplete = sum(frozenset(steps.get(person.user_id, ())) != FLOW_STEPS for person in people)
    if incomplete:
        problems.append(f"{incomplete} residents lack an answer to some question")
    if unanswered and unanswered[0]:
        problems.append(f"{unanswered[0]} updates recorded but not marked replied")
    return total, problems


# --------------------------------------------------------------------------------------------
# The whole benchmark


async def bench(
    residents: int, reply_timeout: float, overall_timeout: float, profile_dir: Path | None
) -> list[Run]:
    """Both bots, one after the other, on one local Bot API server."""
    from tests.fake_telegram import FakeTelegram

    runs = []
    async with asyncio.timeout(overall_timeout), FakeTelegram() as tg:
        with tempfile.TemporaryDirectory(prefix="whatmatters-bench-") as folder:
            for role in (WHATMATTERS, ECHO):
                profile = None if profile_dir is None else profile_dir / f"{role}.prof"
                runs.append(
                    await measure(tg, role, residents, Path(folder), reply_timeout, profile)
                )
    return runs


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or not theirs or math.isnan(ours) or math.isnan(theirs):
        return "-"
    return f"{ours / theirs:.2f}"


def _figure(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def report(ours: Run, echo: Run) -> str:
    """The figures side by side."""
    mib = [None if r.peak_rss_kib is None else r.peak_rss_kib / 1024 for r in (ours, echo)]
    cpu = [None if r.bot_cpu_s is None else 100 * r.bot_cpu_s / r.wall_s for r in (ours, echo)]
    harness = [100 * r.harness_cpu_s / r.wall_s for r in (ours, echo)]
    rows: list[tuple[str, float | None, float | None]] = [
        ("Bot API calls / s (no polls)", ours.calls_per_s, echo.calls_per_s),
        ("updates answered / s", ours.updates_per_s, echo.updates_per_s),
        ("answers stored / s", ours.answers_per_s, None),
        ("median reply latency, ms", ours.median_ms, echo.median_ms),
        ("95th percentile latency, ms", ours.p95_ms, echo.p95_ms),
        ("peak memory of the bot (VmHWM), MiB", mib[0], mib[1]),
        ("bot CPU, % of one core", cpu[0], cpu[1]),
        ("bot CPU per update, ms", ours.cpu_ms_per_update, echo.cpu_ms_per_update),
        (
            "Bot API requests per update (no polls)",
            ours.requests_per_update,
            echo.requests_per_update,
        ),
        ("getUpdates polls per update", ours.polls_per_update, echo.polls_per_update),
        ("server + residents CPU, % of one core", harness[0], harness[1]),
        ("wall time, s", ours.wall_s, echo.wall_s),
    ]
    lines = [
        f"{ours.residents} residents, {len(FLOW_SCRIPT)} updates each, concurrently; "
        "each bot in its own process, one after the other, on one local Bot API server",
        "",
        f"{'':38}{'whatmatters':>12}{'echo':>12}{'ratio':>8}",
    ]
    for label, a, b in rows:
        lines.append(f"{label:38}{_figure(a):>12}{_figure(b):>12}{_ratio(a, b):>8}")
    expected = ours.residents * ANSWERS_PER_RESIDENT
    lines += [
        "",
        f"whatmatters: {ours.completed}/{ours.residents} residents thanked; "
        f"{ours.answers_stored} answers stored (expected {expected}); "
        f"{ours.replies}/{ours.updates_sent} updates answered",
        f"echo:        {echo.completed}/{echo.residents} residents finished; "
        f"{echo.replies}/{echo.updates_sent} updates answered",
    ]
    p95 = ours.p95_ms / echo.p95_ms if echo.p95_ms else math.nan
    calls = ours.calls_per_s / echo.calls_per_s if echo.calls_per_s else math.nan
    lines += [
        f"target: 95th percentile latency within 1.5x the echo bot's: {p95:.2f}x, "
        + ("met" if p95 <= P95_TARGET else "NOT met"),
        f"target: Bot API calls / s at least 0.8x the echo bot's: {calls:.2f}x, "
        + ("met" if calls >= CALLS_TARGET else "NOT met"),
        "(both bots share this machine with whatever else runs on it: compare them only within "
        "one run)",
    ]
    for run in (ours, echo):
        lines += [f"PROBLEM ({run.bot}): {problem}" for problem in run.problems]
    if not ours.problems and not echo.problems:
        lines.append("checks passed: no resident left behind, nothing stored or sent twice")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=200, help="how many (default 200)")
    parser.add_argument("--out-json", type=Path, help="also write the figures to FILE as JSON")
    parser.add_argument(
        "--reply-timeout", type=float, default=30.0, help="seconds to wait for any one reply"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole run")
    parser.add_argument(
        "--profile-dir",
        type=Path,
        help="profile each bot process with cProfile into DIR/<bot>.prof",
    )
    # Internal: how the benchmark starts a bot in its own process.
    parser.add_argument("--bot-process", choices=(WHATMATTERS, ECHO), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.bot_process:
        return run_bot_process(args.bot_process, args.profile_to)
    if args.residents < 1:
        parser.error("--residents must be at least 1")
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if args.profile_dir is not None:
        args.profile_dir = args.profile_dir.resolve()
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    ours, echo = asyncio.run(
        bench(args.residents, args.reply_timeout, args.timeout, args.profile_dir)
    )
    print(report(ours, echo))
    if args.out_json is not None:
        figures = {
            WHATMATTERS: ours.summary(),
            ECHO: echo.summary(),
            "ratio_updates_per_s": ours.updates_per_s / echo.updates_per_s,
            "ratio_bot_api_calls_per_s": ours.calls_per_s / echo.calls_per_s,
            "ratio_median_latency": ours.median_ms / echo.median_ms,
            "ratio_p95_latency": ours.p95_ms / echo.p95_ms,
        }
        args.out_json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if ours.problems or echo.problems else 0


if __name__ == "__main__":
    sys.exit(main())
