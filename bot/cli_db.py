"""`whatmatters db migrate | copy FROM TO`: the database's schema, and moving a whole
installation between backends (a SQLite file into an empty PostgreSQL database, and back)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.settings import Settings
from storage import StorageError, open_storage, shown
from storage.transfer import copy_installation


def add_parser(commands: Any) -> None:
    """Add `db` and its sub-commands to the command line's parser."""
    db = commands.add_parser("db", help="the database's schema, and moving between backends")
    sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    sub.add_parser(
        "migrate", help="bring WHATMATTERS_DATABASE's schema up to date and print its version"
    )
    copy = sub.add_parser(
        "copy",
        help="copy a whole installation into an empty database (SQLite file or PostgreSQL URL)",
    )
    copy.add_argument("source", metavar="FROM", help="a SQLite file, or postgresql://…")
    copy.add_argument("target", metavar="TO", help="an empty database: a file, or postgresql://…")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a `db` sub-command; one clear line on stderr if the database says no."""
    try:
        if args.db_command == "migrate":
            asyncio.run(_migrate(settings.database))
        else:
            asyncio.run(_copy(args.source, args.target))
    except StorageError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 1
    return 0


async def _migrate(database: str) -> None:
    async with open_storage(database) as storage:  # opening applies what is missing
        version = await storage.schema_version()
    print(f"{shown(database)}: schema at migration {version}")


async def _copy(source: str, target: str) -> None:
    async with open_storage(source) as origin, open_storage(target) as destination:
        copied = await copy_installation(origin, destination)
    width = max(len(name) for name, _ in copied)
    for name, count in copied:
        print(f"{name:<{width}}  {count:>9}")
    total = sum(count for _, count in copied)
    print(
        f"copied {total} rows in {len(copied)} tables from {shown(source)} to {shown(target)};"
        " every table's count matches"
    )
