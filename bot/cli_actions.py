"""`whatmatters actions add | update | list`: "you said, we did" from the server's command line,
for admins and scripts."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable
from typing import Any

from bot.settings import Settings
from services import build_services
from services.actions import STATUSES, ActionError, Plan
from storage.models import ActionSummary

# Actions from the command line are written (and audited) under this author: no Telegram id.
COMMAND_LINE = 0
LIST_FIELDS = (
    "id",
    "theme",
    "status",
    "reason",
    "text",
    "told",
    "helps",
    "not_enough",
    "replies",
    "disputed",
    "created_at",
    "updated_at",
)


def add_parser(commands: Any) -> None:
    """Add `actions` and its sub-commands to the command line's parser."""
    actions = commands.add_parser(
        "actions", help='"you said, we did": what the service does about a theme'
    )
    sub = actions.add_subparsers(dest="actions_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="record an action on a theme and tell the residents")
    add.add_argument("--theme", required=True, help="the theme, as the digest names it")
    _common(add)
    update = sub.add_parser("update", help="change an action's status (and text)")
    update.add_argument("id", type=int, help="the action's number, as `actions list` shows")
    _common(update)
    listing = sub.add_parser("list", help="every action, with residents told and reactions")
    listing.add_argument("--format", choices=("csv", "jsonl"), default="csv")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", required=True, help=f"one of: {', '.join(STATUSES)}")
    parser.add_argument("--text", help="what the service is doing, in plain words")
    parser.add_argument("--reason", help="why it is not possible (with --status 'not possible')")
    parser.add_argument(
        "--yes", action="store_true", help="record it and queue the messages without asking"
    )


def run(
    args: argparse.Namespace,
    settings: Settings,
    confirm: Callable[[str], bool] | None = None,
) -> int:
    """Run an `actions` command; returns the exit status."""
    return asyncio.run(_run(args, settings, confirm or _ask))


def _ask(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _run(args: argparse.Namespace, settings: Settings, confirm: Callable[[str], bool]) -> int:
    async with build_services(settings) as services:
        desk = services.actions
        if args.actions_command == "list":
            _print_list(await desk.summaries(), args.format)
            return 0
        try:
            if args.actions_command == "add":
                plan = await desk.plan(
                    theme=args.theme, status=args.status, text=args.text, reason=args.reason
                )
            else:
                plan = await desk.plan(
                    action_id=args.id, status=args.status, text=args.text, reason=args.reason
                )
        except ActionError as error:
            print(f"whatmatters: {error}", file=sys.stderr)
            return 1
        reach = _reach(plan)
        if not args.yes:
            if not sys.stdin.isatty():
                print(
                    f"It would reach {reach}. Nothing was changed: add --yes to record it and "
                    "queue the messages.",
                    file=sys.stderr,
                )
                return 1
            if not confirm(f"Record it and tell {reach}?"):
                print("Nothing was changed.")
                return 1
        action = await desk.publish(plan, by=COMMAND_LINE)
        print(
            f"action {action.id}: {action.theme} — {action.status}. {reach.capitalize()} "
            "queued to be told; the running bot sends them at Telegram's pace."
        )
        return 0


def _reach(plan: Plan) -> str:
    return f"{plan.reach} resident" if plan.reach == 1 else f"{plan.reach} residents"


def _row(summary: ActionSummary) -> dict[str, Any]:
    action = summary.action
    return {
        "id": action.id,
        "theme": action.theme,
        "status": action.status,
        "reason": action.reason,
        "text": action.text,
        "told": summary.told,
        "helps": summary.helps,
        "not_enough": summary.not_enough,
        "replies": summary.replies,
        "disputed": summary.disputed,
        "created_at": action.created_at.isoformat(),
        "updated_at": action.updated_at.isoformat(),
    }


def _print_list(summaries: list[ActionSummary], format_: str) -> None:
    rows = [_row(summary) for summary in summaries]
    if format_ == "jsonl":
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=LIST_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
