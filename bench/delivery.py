"""How long a weekly digest takes to reach every member of staff, at Telegram's pace.

N members of staff (default 500) each get the digest as the bot queues it: the text, a chart
(PNG) and the week's answers (CSV), one person after another. The outbox sends them through the
local Bot API server (`tests.fake_telegram.FakeTelegram`, on 127.0.0.1) with its real pacing (25
messages a second overall, one a second per chat). Printed: messages sent, seconds, messages a
second. The run fails (exit status 1) unless every member of staff got each part exactly once,
in order. (Before the outbox took chats in turn, it sent them one person after another: each
later part waited out its chat's one-second spacing, 204.4 s for 100 staff.)

    .venv/bin/python bench/delivery.py [--staff N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST_STAFF = 90_000
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


async def _main(args: argparse.Namespace) -> int:
    os.environ.setdefault("PTB_TIMEDELTA", "1")
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
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
