"""The `whatmatters` command line: run the bot, try a flow in the terminal, check flows, export."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import fcntl
import json
import logging
import os
import re
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot import cli_actions, cli_db, cli_web
from bot.settings import Settings, explain, misspelt
from conversations.loader import FlowFileError, check_flow_file
from conversations.model import Flow
from insights import SafeguardingList, Signal
from insights.yamlfile import InsightsFileError
from storage import ExportRow, Flows, Storage, StorageError, open_storage

EXPORT_COLUMNS = (
    "resident",
    "flow",
    "flow_version",
    "step",
    "question",
    "answer",
    "answered_at",
    "themes",
    "sentiment",
)

NO_TOKEN = (
    "whatmatters: set WHATMATTERS_BOT_TOKEN to your bot's token from @BotFather "
    "(in the environment or in a .env file); to try the conversation without Telegram, "
    "run `whatmatters try`."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whatmatters",
        description="A Telegram bot that helps public services hear what matters to residents.",
    )
    # Not required: plain `whatmatters` prints this help rather than an error.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (long polling, or a webhook)")
    run.add_argument(
        "--webhook-url", help="receive updates at this public HTTPS URL (WHATMATTERS_WEBHOOK_URL)"
    )
    run.add_argument(
        "--listen", metavar="HOST:PORT", help="where the webhook listens (WHATMATTERS_LISTEN)"
    )
    run.add_argument(
        "--secret-token",
        help="the secret Telegram sends with each update (WHATMATTERS_WEBHOOK_SECRET)",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start N worker processes sharing the webhook port; more than one needs"
        " PostgreSQL (WHATMATTERS_WORKERS)",
    )

    try_ = commands.add_parser("try", help="chat with a flow in the terminal, as a resident would")
    try_.add_argument("flow_id", nargs="?", help="the flow to try (default: the /start flow)")
    try_.add_argument(
        "--keep",
        action="store_true",
        help="store the answers in the configured database (default: a throwaway one)",
    )

    flows = commands.add_parser("flows", help="manage conversation flows")
    flow_commands = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    validate = flow_commands.add_parser("validate", help="check flow files for mistakes")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    flow_commands.add_parser("list", help="every flow, its live version and any draft")
    export_flow = flow_commands.add_parser("export", help="print a flow's YAML, to edit it")
    export_flow.add_argument("flow_id", metavar="ID")
    export_flow.add_argument("--draft", action="store_true", help="the draft, not the live one")
    export_flow.add_argument(
        "--version",
        type=int,
        metavar="N",
        help="an earlier (or rolled back) version, not the live one",
    )
    export_flow.add_argument("--output", "-o", type=Path, help="write to FILE")
    import_flow = flow_commands.add_parser(
        "import", help="check a flow file and keep it as a draft"
    )
    import_flow.add_argument("file", type=Path, metavar="FILE")
    publish = flow_commands.add_parser("publish", help="make a flow's draft its live version")
    publish.add_argument("flow_id", metavar="ID")
    rollback = flow_commands.add_parser("rollback", help="go back to the version before")
    rollback.add_argument("flow_id", metavar="ID")
    flow_commands.add_parser("schema", help="the JSON Schema of flow files, for editors")

    digest = commands.add_parser("digest", help="the staff digest of the last 7 days")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    preview = digest_commands.add_parser("preview", help="print it")
    preview.add_argument(
        "--chart", type=Path, metavar="FILE.png", help="also write the bar chart staff get"
    )
    preview.add_argument(
        "--csv", type=Path, metavar="FILE.csv", help="also write the CSV of answers staff get"
    )
    digest_commands.add_parser("send", help="send it to every member of staff now")

    analyse = commands.add_parser(
        "analyse", help="add themes, sentiment and tone to a CSV of feedback you already have"
    )
    analyse.add_argument("file", type=Path, metavar="FILE.csv")
    analyse.add_argument("--text-column", required=True, metavar="C", help="the column of words")
    analyse.add_argument(
        "--question-column", metavar="Q", help="the column saying which question was answered"
    )
    analyse.add_argument(
        "--output", "-o", type=Path, help="where to write (default: FILE-analysed.csv)"
    )
    analyse.add_argument(
        "--themes",
        metavar="NAME|PATH",
        help="council, health or a catalogue file (default: WHATMATTERS_THEMES, else council)",
    )
    analyse.add_argument(
        "--as-written",
        action="store_true",
        help="keep the words exactly as written; by default phone numbers, emails, postcodes, "
        "street addresses and card numbers are replaced, as in everything staff see",
    )

    guard = commands.add_parser(
        "safeguarding", help="check the list of signs of risk, or try it on some words"
    )
    guard_commands = guard.add_subparsers(dest="guard_command", required=True, metavar="ACTION")
    check = guard_commands.add_parser(
        "check", help="check a list file for mistakes, and show the help residents are offered"
    )
    check.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: WHATMATTERS_SAFEGUARDING"
    )
    test = guard_commands.add_parser("test", help="which signs the list finds in these words")
    test.add_argument("texts", nargs="+", metavar="TEXT")

    backup = commands.add_parser("backup", help="a consistent copy of the database, while it runs")
    backup.add_argument("file", type=Path, metavar="FILE")
    restore = commands.add_parser("restore", help="put a backup back (not while the bot runs)")
    restore.add_argument("file", type=Path, metavar="FILE")

    cli_actions.add_parser(commands)
    cli_db.add_parser(commands)
    cli_web.add_parser(commands)
    export = commands.add_parser("export", help="every answer, one row each")
    export.add_argument(
        "--since",
        metavar="DATE",
        help="only answers from DATE on: YYYY-MM-DD, today, yesterday, or 7d (7 days ago)",
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", "-o", type=Path, help="write to FILE instead of the screen")
    export.add_argument(
        "--as-written",
        action="store_true",
        help="answers exactly as residents wrote them; by default phone numbers, emails, "
        "postcodes, street addresses and card numbers are replaced, as in everything staff see",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # Opt in to python-telegram-bot's timedelta periods (22.x warns about the int ones).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # The running bot reports what it does; the other commands speak only of problems.
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request with the URL, and the URL holds the bot's token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for warning in misspelt(os.environ, Path(".env")):
        print(f"whatmatters: warning: {warning}", file=sys.stderr)
    try:
        settings = Settings()
    except ValidationError as error:
        for line in explain(error):
            print(f"whatmatters: {line}", file=sys.stderr)
        return 2
    sends = args.command == "run" or (args.command == "digest" and args.digest_command == "send")
    if sends and settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    problem = _database_problem(args, settings.sqlite_file)
    if problem is not None:
        print(f"whatmatters: {problem}", file=sys.stderr)
        return 1
    handlers: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "run": _run,
        "try": _try,
        "flows": _flows,
        "export": _export,
        "digest": _digest,
        "analyse": _analyse,
        "safeguarding": _safeguarding,
        "backup": _backup,
        "restore": _restore,
        "actions": cli_actions.run,
        "db": cli_db.run,
        "web": cli_web.run,
    }
    try:
        status = handlers[args.command](args, settings)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
    except BrokenPipeError:
        # `whatmatters export | head -1`: the reader has had enough, which is not an error.
        # Python's advice: point stdout at devnull so the flush at exit does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


def _reads_only(args: argparse.Namespace) -> bool:
    """Whether the command only reads the database (and so must never create it)."""
    return args.command in ("export", "backup") or (
        args.command == "digest" and args.digest_command == "preview"
    )


def _uses_database(args: argparse.Namespace) -> bool:
    if args.command in ("analyse", "safeguarding"):
        return False
    if args.command == "try":
        return bool(args.keep)
    if args.command == "db" and args.db_command == "copy":
        return False  # it names its own databases
    return not (args.command == "flows" and args.flows_command in ("validate", "schema"))


def _database_problem(args: argparse.Namespace, database: Path | None) -> str | None:
    """What stops the command from opening the database, in one line (None: nothing).

    Checked before storage opens it, so that a wrong WHATMATTERS_DATABASE is a sentence rather
    than a traceback, and a command that only reads never leaves an empty database or folder.
    A PostgreSQL database (None here) answers for itself when storage connects.
    """
    if database is None or not _uses_database(args):
        return None
    where = f"the database {database} (WHATMATTERS_DATABASE)"
    if _reads_only(args):
        if not database.is_file():
            return (
                f"there is no database at {database} (WHATMATTERS_DATABASE); the bot makes it "
                "when it first runs. Check the path, or the folder you run this from"
            )
        try:
            with contextlib.closing(
                sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
            ) as db:
                db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.Error as error:
            return f"cannot read {where}: {error}"
        return None
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except (OSError, sqlite3.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return f"cannot open {where}: {reason}. Choose a file in a folder this user can write to"
    if not os.access(database, os.W_OK):
        return f"cannot write to {where}: it is read-only for this user"
    return None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import UnreadableBotApi, build_application, serve
    from bot.webhook import Webhook, WebhookServer
    from services import build_services

    changes = {
        name: value
        for name, value in (
            ("webhook_url", args.webhook_url),
            ("listen", args.listen),
            ("webhook_secret", args.secret_token),
            ("workers", args.workers),
        )
        if value is not None
    }
    if changes:
        try:
            settings = Settings.model_validate({**settings.model_dump(), **changes})
        except ValidationError as error:
            for line in explain(error):
                print(f"whatmatters: {line}", file=sys.stderr)
            return 2

    try:  # the admin-edited files, read now so that a mistake is one clear line
        settings.theme_catalogue()
        settings.safeguarding_list()
    except InsightsFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 2
    if settings.web_listen:
        try:
            cli_web.parse_listen(settings.web_listen)
        except ValueError as error:
            print(f"whatmatters: WHATMATTERS_WEB_LISTEN: {error}", file=sys.stderr)
            return 2
    if settings.workers > 1:
        return _several_workers(settings)
    lock = _running_lock(settings)
    if lock is None:
        print("whatmatters: the bot is already running on this database", file=sys.stderr)
        return 1

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with build_services(settings) as services:
            app = build_application(settings, services)
            hook = Webhook.from_settings(settings)
            # The dashboard too, in the same process, when WHATMATTERS_WEB_LISTEN says where.
            dashboard = cli_web.beside_the_bot(settings)
            pages = asyncio.create_task(dashboard.serve()) if dashboard else None
            try:
                await serve(app, stop, WebhookServer(app, services.storage, hook) if hook else None)
            finally:
                if dashboard is not None and pages is not None:
                    dashboard.should_exit = True
                    await pages

    from telegram.error import InvalidToken

    try:
        asyncio.run(run())
    except InvalidToken:
        print(
            "whatmatters: Telegram refused the bot's token; check WHATMATTERS_BOT_TOKEN against "
            "the one @BotFather gave you",
            file=sys.stderr,
        )
        return 2
    except UnreadableBotApi as error:
        print(
            f"whatmatters: the Bot API server at {settings.api_base_url} answered in a way the "
            f"bot cannot read ({error}); check WHATMATTERS_API_BASE_URL",
            file=sys.stderr,
        )
        return 2
    return 0


def _several_workers(settings: Settings) -> int:
    """`run --workers N`: N processes on this machine behind one webhook port."""
    if not settings.webhook_url:
        print(
            "whatmatters: several workers receive updates by webhook: give --webhook-url (and"
            " --listen), or run one worker with long polling",
            file=sys.stderr,
        )
        return 2
    if settings.sqlite_file is not None:
        print(
            "whatmatters: several workers share one PostgreSQL database; a SQLite file serves"
            " one process. Set WHATMATTERS_DATABASE=postgresql://USER@HOST/DB (`whatmatters db"
            " copy` moves an installation there), or run one worker",
            file=sys.stderr,
        )
        return 2
    from bot.supervisor import supervise

    given = {"WHATMATTERS_WEBHOOK_URL": settings.webhook_url, "WHATMATTERS_LISTEN": settings.listen}
    if settings.webhook_secret is not None:
        given["WHATMATTERS_WEBHOOK_SECRET"] = settings.webhook_secret.get_secret_value()
    return supervise(settings.workers, settings.listen, given)


def _running_lock(settings: Settings) -> TextIO | None:
    """Hold a lock beside the database while the bot runs (None: another bot holds it).

    PostgreSQL has no file beside it, and welcomes several workers: nothing to hold there."""
    if settings.sqlite_file is None:
        return Path(os.devnull).open("w")
    path = Path(f"{settings.sqlite_file}.running")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle  # kept open (and so locked) until the process ends


def _safeguarding(args: argparse.Namespace, settings: Settings) -> int:
    from insights import load_safeguarding

    try:
        if args.guard_command == "check" and args.file is not None:
            signs = load_safeguarding(args.file)
        else:
            signs = settings.safeguarding_list()
    except InsightsFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 1
    if args.guard_command == "test":
        for text in args.texts:
            found = signs.find(text)
            named = "; ".join(f'{s.label} ("{_matched(signs, s, text)}")' for s in found)
            print(f"{text!r}: {named or 'no sign'}")
        return 0
    for category in signs.categories:
        print(
            f"{category.name}: {category.label} — {len(category.phrases)} phrases, "
            f"{len(category.only_when_negated)} only when negated"
        )
    print(f"{len(signs.exceptions)} exceptions, {len(signs.helplines)} helplines\n")
    print("In office hours, a resident is sent:\n")
    print(signs.signposting(out_of_hours=False))
    closing, reopens = _after_the_week_closes(settings)
    print(f"\nOut of office hours (WHATMATTERS_OFFICE_HOURS is {settings.office_hours!r}; "
          f"here, after closing on {closing}):\n")  # fmt: skip
    print(signs.signposting(out_of_hours=True, reopens=reopens))
    return 0


def _after_the_week_closes(settings: Settings) -> tuple[str, str]:
    """The last staffed day of the week, and when the office opens after it closes then."""
    from services.safeguarding import reopening

    hours = settings.staffed_hours
    last = next((d for d in sorted(hours.weekdays) if (d + 1) % 7 not in hours.weekdays), 4)
    monday = date(2024, 1, 1)  # any Monday: only the weekday and the times matter
    closed = datetime.combine(monday + timedelta(days=last), hours.closes, settings.zone)
    _, reopens = reopening(hours, closed)
    return f"{closed:%A}", reopens


def _matched(signs: SafeguardingList, signal: Signal, text: str) -> str:
    """The words of `text` that carry this sign: the shortest run of them that still does.

    The list's own phrase can be a long pattern of choices ("he|she hit|beat|… me"); what an
    admin needs to see is which of their words it found.
    """
    words = text.split()
    for length in range(1, len(words) + 1):
        for start in range(len(words) - length + 1):
            piece = " ".join(words[start : start + length])
            if signal in signs.find(piece):
                return piece
    return text


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    async def copy() -> None:
        async with open_storage(settings.database) as storage:
            await storage.backup(args.file)

    try:
        asyncio.run(copy())
    except StorageError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 1
    print(f"{settings.database} copied to {args.file}")
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from storage import restore

    if settings.workers > 1:
        return _several_workers(settings)
    lock = _running_lock(settings)
    if lock is None:
        print(
            "whatmatters: the bot is running on this database; stop it first, then restore",
            file=sys.stderr,
        )
        return 1
    try:
        restore(args.file, settings.database)
    except ValueError as error:
        print(f"whatmatters: {error}; nothing was changed", file=sys.stderr)
        return 1
    finally:
        lock.close()
    print(f"{args.file} restored to {settings.database}")
    return 0


def _try(args: argparse.Namespace, settings: Settings) -> int:
    from bot.terminal import chat_in_terminal

    if args.keep:
        return asyncio.run(chat_in_terminal(settings, args.flow_id))
    with tempfile.TemporaryDirectory() as folder:
        throwaway = settings.model_copy(update={"database": str(Path(folder) / "try.db")})
        return asyncio.run(chat_in_terminal(throwaway, args.flow_id, throwaway=True))


def _flows(args: argparse.Namespace, settings: Settings) -> int:
    if args.flows_command == "validate":
        return _validate(args.files)
    if args.flows_command == "schema":
        print(json.dumps(Flow.model_json_schema(), indent=2))
        return 0
    return asyncio.run(_manage_flows(args, settings))


def _validate(files: Sequence[Path]) -> int:
    status = 0
    for path in files:
        try:
            flow, warnings = check_flow_file(path)
        except FlowFileError as error:
            print(error, file=sys.stderr)
            status = 1
        else:
            questions = sum(1 for step in flow.steps if step.is_question)
            print(f"{path}: ok — flow {flow.id!r}, {len(flow.steps)} steps, {questions} questions")
            for warning in warnings:  # worth knowing, but the flow works
                print(f"  warning: {warning.describe(str(path))}")
    return status


# Admin actions from the server's command line are audited under this actor (no Telegram id).
COMMAND_LINE = 0


async def _manage_flows(args: argparse.Namespace, settings: Settings) -> int:
    """flows list | export | import | publish | rollback, on the configured database."""
    from services import build_services

    async with build_services(settings) as services:
        storage, library = services.storage, services.library
        command = args.flows_command
        if command == "list":
            drafts = await storage.drafted_flows()
            for version in await storage.live_flows():
                flow = await library.get(version.flow_id, version.version)
                draft = "; a draft is waiting" if version.flow_id in drafts else ""
                print(
                    f"{version.flow_id}  version {version.version} (published "
                    f"{version.published_at.astimezone(settings.zone):%d %b %Y %H:%M}){draft}"
                    f" — {flow.title}"
                )
            return 0
        if command == "import":
            try:
                source = args.file.read_text(encoding="utf-8")
                flow, changes = await library.save_draft(source, str(args.file), COMMAND_LINE)
            except (FlowFileError, OSError, UnicodeDecodeError) as error:
                print(error, file=sys.stderr)
                return 1
            print(f"{args.file}: saved as the draft of {flow.id!r}; it would change:")
            for line in changes or ["nothing in the steps"]:
                print(f"  - {line}")
            print(f"Publish it with: whatmatters flows publish {flow.id}")
            return 0
        flow_id = args.flow_id
        live = await storage.live_flow(flow_id)
        if live is None:
            print(f"whatmatters: there is no flow called {flow_id!r}", file=sys.stderr)
            return 1
        if command == "export":
            source = await storage.draft(flow_id) if args.draft else live.source
            if args.version is not None:
                earlier = await storage.flow_version(flow_id, args.version)
                source = earlier.source if earlier else None
                if source is None:
                    print(
                        f"whatmatters: {flow_id!r} has no version {args.version}", file=sys.stderr
                    )
                    return 1
            if source is None:
                print(f"whatmatters: {flow_id!r} has no draft", file=sys.stderr)
                return 1
            if args.output:
                args.output.write_text(source, encoding="utf-8")
            else:
                sys.stdout.write(source)
            return 0
        if command == "publish":
            done = await library.publish(flow_id, COMMAND_LINE)
            if done is None:
                newest = await _newest_version(storage, flow_id, live.version)
                print(f"whatmatters: {flow_id!r} has no draft to publish", file=sys.stderr)
                if newest > live.version:
                    # Publishing takes a draft; a rolled-back version is not one.
                    print(
                        f"Version {live.version} is live because version {newest} was rolled "
                        f"back; publishing needs a draft. To make version {newest} live again:\n"
                        + _bring_back(flow_id, newest),
                        file=sys.stderr,
                    )
                return 1
            published, changes = done
            print(f"{flow_id}: version {published.version} is live.")
            for line in changes or ["no changes to the steps"]:
                print(f"  - {line}")
            print("Residents part-way through finish the version they started.")
            return 0
        rolled = await library.roll_back(flow_id, COMMAND_LINE)
        if rolled is None:
            print(f"whatmatters: {flow_id!r} has no version before {live.version}", file=sys.stderr)
            return 1
        restored, was = rolled
        print(f"{flow_id}: version {restored.version} is live again (was {was}).")
        print(f"Version {was} is kept. To make it live again later:\n" + _bring_back(flow_id, was))
        return 0


async def _newest_version(storage: Flows, flow_id: str, live: int) -> int:
    """The highest version of a flow ever published (above the live one after a rollback)."""
    newest = live
    while await storage.flow_version(flow_id, newest + 1) is not None:
        newest += 1
    return newest


def _bring_back(flow_id: str, version: int) -> str:
    """The commands that make an earlier version live again: as a draft, then published."""
    file = f"{flow_id}-v{version}.yaml"
    return (
        f"  whatmatters flows export {flow_id} --version {version} -o {file}\n"
        f"  whatmatters flows import {file}\n"
        f"  whatmatters flows publish {flow_id}"
    )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from insights.redact import redact
    from services import build_services
    from services.digest import answers_csv, chart_png, render_text

    async def run() -> None:
        async with build_services(settings) as services:
            storage, digests = services.storage, services.digests
            if args.digest_command == "preview":
                digest = await digests.build(storage.now())
                print(render_text(digest, settings.zone))
                if args.chart is not None:
                    chart = chart_png(digest, settings.zone)
                    if chart is None:
                        print(f"No themes this week, so no chart; {args.chart} not written.")
                    else:
                        args.chart.write_bytes(chart)
                        print(f"The chart staff get is in {args.chart}.")
                if args.csv is not None:
                    facts = await storage.answers_between(digest.start, digest.end)
                    args.csv.write_bytes(answers_csv(facts, settings.zone, redact))
                    print(f"The CSV staff get ({_count(len(facts), 'answer')}) is in {args.csv}.")
                return
            queued = await digests.queue_now_for_all_staff(storage.now())
            sent = await _deliver(settings, storage)
            print(f"{queued} messages queued for staff; {sent} sent now.")

    asyncio.run(run())
    return 0


async def _deliver(settings: Settings, storage: Storage) -> int:
    """Send what waits in the outbox with a bot of our own (the running bot may do it too)."""
    from telegram import Bot

    from bot.outbox import Outbox

    assert settings.bot_token is not None
    async with Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.api_base_url,
        base_file_url=settings.file_url,
    ) as bot:
        return await Outbox(storage, bot).deliver()


def _analyse(args: argparse.Namespace, settings: Settings) -> int:
    from insights import catalogue_for
    from insights.csvfile import CsvFileError, analyse_csv

    output = args.output or args.file.with_name(f"{args.file.stem}-analysed.csv")
    try:  # --themes overrides WHATMATTERS_THEMES; a broken catalogue is one line, not a traceback
        catalogue = catalogue_for(args.themes) if args.themes else settings.theme_catalogue()
    except InsightsFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 2
    try:
        count = analyse_csv(
            args.file, output, args.text_column, args.question_column, catalogue=catalogue
        )
    except CsvFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 1
    if not args.as_written:
        _redact_column(output, args.text_column)
    kept = "as written" if args.as_written else "with personal details replaced"
    print(f"{count} rows analysed ({catalogue.name or 'your'} themes); written to {output}, {kept}")
    return 0


def _redact_column(path: Path, column: str) -> None:
    """Replace phone numbers, emails, postcodes, addresses and card numbers in one column.

    Analysed as written (a redacted "[phone]" reads differently), then redacted as written out.
    """
    from insights import redact

    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    at = rows[0].index(column)
    for row in rows[1:]:
        if at < len(row):
            row[at] = redact(row[at])
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(rows)


def since_date(text: str, today: date) -> date | None:
    """`--since` as people write it: 2026-11-01, today, yesterday, 7d; None if not understood."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    days = re.fullmatch(r"(\d{1,5})\s*d(?:ays?)?", word)
    if days:
        return today - timedelta(days=int(days[1]))
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


def _export(args: argparse.Namespace, settings: Settings) -> int:
    since = None
    if args.since is not None:
        day = since_date(args.since, datetime.now(settings.zone).date())
        if day is None:
            print(
                f"whatmatters: --since {args.since!r} is not a date; write it as YYYY-MM-DD "
                "(e.g. 2026-11-01), or today, yesterday, or 7d for 7 days ago",
                file=sys.stderr,
            )
            return 2
        since = datetime.combine(day, time(), settings.zone)

    from services import build_services

    async def rows() -> list[ExportRow]:
        async with build_services(settings) as services:
            return await services.storage.export_rows(since)

    found = asyncio.run(rows())
    if not args.as_written:
        from insights import redact

        found = [replace(row, answer=redact(row.answer)) for row in found]
    if args.output:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write_export(found, out, args.format, settings)
    else:
        write_export(found, sys.stdout, args.format, settings)
    return 0


def write_export(rows: Sequence[ExportRow], out: TextIO, fmt: str, settings: Settings) -> None:
    """Write answers as CSV or JSON lines, with the columns the README lists."""
    records = [
        {
            "resident": row.resident,
            "flow": row.flow,
            "flow_version": row.flow_version,
            "step": row.step,
            "question": row.question,
            "answer": row.answer,
            "answered_at": row.answered_at.astimezone(settings.zone).isoformat(timespec="seconds"),
            "themes": ";".join(row.themes),
            "sentiment": None if row.sentiment is None else round(row.sentiment, 3),
        }
        for row in rows
    ]
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(records)  # csv writes None as an empty cell


if __name__ == "__main__":
    sys.exit(main())
