"""The `whatmatters` command line: run the bot, try a flow in the terminal, check flows, export."""

from __future__ import annotations

import argparse
import asyncio
import csv
import fcntl
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot import cli_actions, cli_db
from bot.settings import Settings
from conversations.loader import FlowFileError, check_flow_file
from conversations.model import Flow
from insights.yamlfile import InsightsFileError
from storage import ExportRow, Storage, StorageError, open_storage

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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="run the bot (long polling)")

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
    digest_commands.add_parser("preview", help="print it")
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
    export = commands.add_parser("export", help="every answer, one row each")
    export.add_argument("--since", type=date.fromisoformat, help="only answers from DATE on")
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
    args = _parser().parse_args(argv)
    # Opt in to python-telegram-bot's timedelta periods (22.x warns about the int ones).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # The running bot reports what it does; the other commands speak only of problems.
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request with the URL, and the URL holds the bot's token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "WHATMATTERS_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"whatmatters: {name}: {problem['msg']}", file=sys.stderr)
        return 2
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
    }
    return handlers[args.command](args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import UnreadableBotApi, build_application, serve
    from services import build_services

    try:  # the admin-edited files, read now so that a mistake is one clear line
        settings.theme_catalogue()
        settings.safeguarding_list()
    except InsightsFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 2
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
            await serve(build_application(settings, services), stop)

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
            named = "; ".join(f'{s.label} ("{s.phrase}")' for s in found) or "no sign"
            print(f"{text!r}: {named}")
        return 0
    for category in signs.categories:
        print(
            f"{category.name}: {category.label} — {len(category.phrases)} phrases, "
            f"{len(category.only_when_negated)} only when negated"
        )
    print(f"{len(signs.exceptions)} exceptions, {len(signs.helplines)} helplines\n")
    print("In office hours, a resident is sent:\n")
    print(signs.signposting(out_of_hours=False))
    print("\nOut of office hours:\n")
    print(signs.signposting(out_of_hours=True, reopens="Monday at 09:00"))
    return 0


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
        return asyncio.run(chat_in_terminal(throwaway, args.flow_id))


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
                print(f"whatmatters: {flow_id!r} has no draft to publish", file=sys.stderr)
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
        return 0


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from services import build_services
    from services.digest import render_text

    if args.digest_command == "send" and settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2

    async def run() -> None:
        async with build_services(settings) as services:
            storage, digests = services.storage, services.digests
            if args.digest_command == "preview":
                digest = await digests.build(storage.now())
                print(render_text(digest, settings.zone))
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
    from insights.csvfile import CsvFileError, analyse_csv

    output = args.output or args.file.with_name(f"{args.file.stem}-analysed.csv")
    try:
        count = analyse_csv(args.file, output, args.text_column, args.question_column)
    except CsvFileError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 1
    print(f"{count} rows analysed; written to {output}")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    since = datetime.combine(args.since, time(), settings.zone) if args.since else None

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
    """Write answers as CSV or JSON lines, with the columns DESIGN.md promises."""
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
