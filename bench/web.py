"""How fast the dashboard's busiest pages render over a large database.

    python bench/web.py [--residents 10000] [--answers 100000] [--rounds 5]

Fills a throwaway SQLite database with `--answers` answers from `--residents` residents spread
over the last twelve weeks (themes and tones as the analysis stores them), serves the dashboard
with uvicorn on 127.0.0.1, signs in with a one-time link, and prints the time per request of the
overview, a theme page and a search (median and worst of `--rounds`, after one warm-up). The
target is 300 ms for the overview and a theme page.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import aiohttp
import uvicorn

REPO: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.settings import Settings  # noqa: E402
from services import build_services  # noqa: E402
from services.signin import SignIns  # noqa: E402
from storage.models import Analysed, NewAnswer, Turn  # noqa: E402
from web import create_app  # noqa: E402

ADMIN: Final = 1
TARGET_MS: Final = 300.0
THEMES: Final = ("Repairs", "Damp and mould", "Bins and waste", "Noise", "Rent and money")
TONES: Final = ("negative", "neutral", "positive")
WORDS: Final = ("boiler", "lift", "bins", "mould", "rent", "noise", "stairs", "heating")


async def fill(settings: Settings, residents: int, answers: int) -> None:
    """Store the answers, a day's worth per transaction, oldest first."""
    now = datetime.now(UTC)
    moment = [now - timedelta(days=84)]
    random.seed(12)
    async with build_services(settings, clock=lambda: moment[0]) as services:
        storage = services.storage
        ids = [(await storage.resident(10_000 + n, 10_000 + n)).id for n in range(residents)]
        per_day = answers // 84
        for day in range(84):
            turns = []
            for n in range(per_day):
                theme = random.choice(THEMES)
                text = f"The {random.choice(WORDS)} again, answer {day}-{n}, about {theme.lower()}"
                turns.append(
                    Turn(
                        random.choice(ids), None, "what-matters", 1, None, "done", "{}",
                        NewAnswer(
                            "matters", "What matters most to you?", text, kind="text",
                            analysed=Analysed((theme,), 0.0, random.choice(TONES), ("a",)),
                        ),
                    )
                )  # fmt: skip
            moment[0] = now - timedelta(days=84 - day)
            await storage.save_turns(turns)


async def measure(settings: Settings, rounds: int) -> dict[str, list[float]]:
    """Serve the dashboard and time each page `rounds` times after a warm-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings.model_copy(update={"web_url": url})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    pages = {
        "overview": "/",
        "theme (Repairs)": "/themes/Repairs",
        "search (boiler)": "/search?q=boiler",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    try:
        async with build_services(settings) as services:
            link = await SignIns(settings, services.storage).issue_link(ADMIN)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(link) as page:
                check = re.search(r'name="check" value="([^"]+)"', await page.text())
            assert check is not None
            async with http.post(link, data={"check": check[1]}) as signed_in:
                assert signed_in.status == 200
            for name, path in pages.items():
                for n in range(rounds + 1):
                    started = time.perf_counter()
                    async with http.get(url + path) as response:
                        await response.read()
                        assert response.status == 200, (path, response.status)
                    if n:  # the first is a warm-up
                        times[name].append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        await task
    return times


def main(argv: Sequence[str] | None = None) -> int:
    """Fill, serve, measure, print; exit 1 if the overview or a theme page misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, database=Path(folder) / "bench.db", admins=[ADMIN])
        started = time.perf_counter()
        asyncio.run(fill(settings, args.residents, args.answers))
        print(
            f"filled {args.answers:,} answers from {args.residents:,} residents over 12 weeks "
            f"in {time.perf_counter() - started:.1f} s"
        )
        times = asyncio.run(measure(settings, args.rounds))
    missed = False
    for name, taken in times.items():
        median, worst = statistics.median(taken), max(taken)
        print(f"{name:18} median {median:6.1f} ms   worst {worst:6.1f} ms")
        missed |= not name.startswith("search") and median > TARGET_MS
    print(f"target: overview and theme page ≤ {TARGET_MS:.0f} ms (median)")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
