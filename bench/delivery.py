"""How long a weekly digest takes to reach every member of staff, at Telegram's pace.

N members of staff (default 500) each get the digest as the bot queues it: the text, a chart
(PNG) and the week's answers (CSV), one person after another. The outbox sends them through the
local Bot API server (`tests.fake_telegram.FakeTelegram`, on 127.0.0.1) with its real pacing (25
messages a second overall, one a second per chat). Printed: messages sent, seconds, messages a
second. The run fails (exit status 1) unless every member of staff got each part exactly once,
in order. (Before the outbox took chats in turn, it sent them one person after another: each
later part waited out its chat's one-second spacing, 204.4 s for 100 staff.)

    .venv/bin/python bench/delivery.py [--staff N]

With `--action N` it measures "you said, we did" instead: N residents (default 10,000) who raised
a theme and said yes to hearing back; a member of staff records an action on it. Printed: the time
to find them and queue one message each (target 2 s), the peak memory that took, and the rate the
outbox then sends at (for `--send-seconds`, default 60), beside the outbox's own pace (target 95 %
of it); and whether anyone got a message twice.

    .venv/bin/python bench/delivery.py --action 10000 [--send-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST_STAFF = 90_000
FIRST_RESIDENT = 1_000_000
PARTS = ("sendMessage", "sendPhoto", "sendDocument")


def digest_for(chat_id: int) -> list[object]:
    """One person's digest as the bot queues it: a text, a chart, a CSV of the week."""
    from storage.models import OutgoingMessage

    text = "<b>What residents told us this week</b>\n" + "A line of the digest.\n" * 80
    chart = b"\x89PNG\r\n\x1a\n" + bytes(30_000)
    table = ("resident,flow,step,question,answer\n" + "Calm Heron 482,w,m,q,a\n" * 400).encode()
    return [
        OutgoingMessage(f"bench:{chat_id}:text", chat_id, "sendMessage", text),
        OutgoingMessage(f"bench:{chat_id}:chart", chat_id, "sendPhoto", "", "chart.png", chart),
        OutgoingMessage(f"bench:{chat_id}:csv", chat_id, "sendDocument", "", "week.csv", table),
    ]


async def deliver(staff: int) -> tuple[int, float, bool]:
    """Queue and send the digest to `staff` people; (messages sent, seconds, all once in order)."""
    from telegram import Bot

    from bot.outbox import Outbox
    from storage import open_storage
    from tests.fake_telegram import FakeTelegram

    with tempfile.TemporaryDirectory(prefix="whatmatters-delivery-") as folder:
        async with (
            FakeTelegram() as tg,
            open_storage(Path(folder) / "bench.db") as storage,
            Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client,
        ):
            chats = [FIRST_STAFF + n for n in range(staff)]
            for chat_id in chats:
                tg.resident(chat_id)
                await storage.enqueue(digest_for(chat_id))  # type: ignore[arg-type]
            began = time.monotonic()
            sent = await Outbox(storage, client).deliver(max_rounds=10_000)
            seconds = time.monotonic() - began
            whole = all(
                [m.method for m in tg.messages_to(chat_id)] == list(PARTS) for chat_id in chats
            )
    return sent, seconds, whole


async def _seed(storage: Any, residents: int) -> list[int]:
    """`residents` people who answered about repairs and said yes to hearing back."""
    from tests.spoken import answered

    chats = [FIRST_RESIDENT + n for n in range(residents)]
    turns = []
    for chat_id in chats:
        resident = await storage.resident(chat_id, chat_id)
        words = f"The repairs take forever, still waiting ({chat_id})"
        turns += answered(resident.id, words, "Repairs", hear_back=True)
    await storage.save_turns(turns)
    return chats


async def tell(residents: int, send_seconds: float) -> dict[str, float]:
    """Record an action reaching `residents` people; time the queueing, then send for a while."""
    from telegram import Bot

    from bot.outbox import MESSAGES_PER_SECOND, Outbox
    from insights import Analyser, shipped_catalogue
    from services.actions import ActionDesk
    from storage import open_storage
    from tests.fake_telegram import FakeTelegram

    with tempfile.TemporaryDirectory(prefix="whatmatters-delivery-") as folder:
        async with (
            FakeTelegram() as tg,
            open_storage(Path(folder) / "bench.db") as storage,
            Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client,
        ):
            chats = await _seed(storage, residents)
            for chat_id in chats:
                tg.resident(chat_id)
            catalogue = shipped_catalogue("council")
            desk = ActionDesk(storage, [t.name for t in catalogue.themes], Analyser(catalogue))
            tracemalloc.start()
            began = time.monotonic()
            plan = await desk.plan(
                theme="repairs",
                status="planned",
                text="Every flat on Mill Lane will be checked for damp in January",
            )
            await desk.publish(plan, by=0)
            queued = time.monotonic() - began
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            stop_at = time.monotonic() + send_seconds
            outbox = Outbox(storage, client, keep_going=lambda: time.monotonic() < stop_at)
            began = time.monotonic()
            sent = await outbox.deliver(max_rounds=100_000)
            sending = time.monotonic() - began
            twice = sum(
                1
                for chat_id in chats
                if sum("You said, we did" in m.plain for m in tg.messages_to(chat_id)) > 1
            )
    return {
        "reach": plan.reach,
        "queue_s": queued,
        "peak_mib": peak / 2**20,
        "sent": sent,
        "rate": sent / sending,
        "pace": MESSAGES_PER_SECOND,
        "twice": twice,
    }


async def _main(args: argparse.Namespace) -> int:
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if args.action:
        print(f"an action on a theme raised by {args.action:,} opted-in residents")
        found = await tell(args.action, args.send_seconds)
        share = found["rate"] / found["pace"]
        print(
            f"  queued {found['reach']:,.0f} messages in {found['queue_s']:.2f} s (target 2 s);"
            f" peak memory while queueing {found['peak_mib']:.1f} MiB (Python allocations)"
        )
        print(
            f"  then sent {found['sent']:,.0f} in {args.send_seconds:.0f} s: "
            f"{found['rate']:.1f} a second against the outbox's pace of {found['pace']:.0f} "
            f"({share:.0%}; target 95 %); residents who got it twice: {found['twice']:.0f}"
        )
        return 0 if found["twice"] == 0 and found["reach"] == args.action else 1
    print(f"digest to {args.staff} members of staff, 3 parts each, at Telegram's pace")
    sent, seconds, whole = await deliver(args.staff)
    print(
        f"  {sent} messages in {seconds:.1f} s ({sent / seconds:.1f} a second); "
        f"each person got each part once, in order: {'yes' if whole else 'NO'}"
    )
    return 0 if whole and sent == 3 * args.staff else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=500)
    parser.add_argument("--action", type=int, default=0, help="residents told of an action")
    parser.add_argument("--send-seconds", type=float, default=60.0)
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
