"""How many answers the text analysis reads per second on one core, and how long a digest takes.

    python bench/analysis.py [--data PATH] [--answers N] [--digest-answers N] [--residents N]

Also reads the comments of the labelled feedback file (only its text, never printed): the full set
beside the repository when it is there, else the made-up sample in tests/data. Each answer is
analysed once, as at ingest; the first pass warms the caches a running bot would have warm too,
and is not timed. Target: 10,000 answers a second.

Then a database is filled with 100,000 analysed answers from 10,000 residents in one week (through
the storage interface, as the bot stores them) and the digest of that week is built from it, as
the weekly job does: read, aggregate, render. Target: 1 second.
"""

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

REPO: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from insights import Analyser, AsksFor, redact, shipped_catalogue  # noqa: E402
from services.digest import Digests, answers_csv, chart_png, render_sections  # noqa: E402
from storage import NewAnswer, Storage, Turn, open_storage  # noqa: E402
from storage.models import Analysed  # noqa: E402

# The full labelled set beside the repository when it is there (see tests/data/README.md for where
# it comes from), else the made-up sample shipped in tests/data.
FULL_DATA: Final = REPO.parent / "shared" / "data" / "nhs_fft_phase1.csv"
SAMPLE_DATA: Final = REPO / "tests" / "data" / "nhs_fft_sample.csv"
DEFAULT_DATA: Final = FULL_DATA if FULL_DATA.is_file() else SAMPLE_DATA
TARGET_PER_SECOND: Final = 10_000
TARGET_DIGEST_SECONDS: Final = 1.0

_OPENINGS: Final = (
    "The staff were",
    "The nurse was",
    "Reception was",
    "The bin men were",
    "The repairs team was",
    "My housing officer was",
    "The wait was",
    "The food was",
    "Everyone was",
    "The doctor was",
)
_JUDGEMENTS: Final = (
    "lovely",
    "very helpful",
    "rude and dismissive",
    "not helpful at all",
    "brilliant",
    "too slow",
    "friendly but rushed",
    "kind",
    "hopeless",
    "OK I suppose",
)
_EXTRAS: Final = (
    "",
    " but I waited 3 hours for an appointment.",
    " and the ward was spotless.",
    " The damp and mould in the bathroom is still not fixed after 6 months.",
    " More staff would help.",
    " Street lights on our road have been out for weeks!",
    " Nothing else to add, thank you 😊",
    " Could be better communication about bin collections.",
    " I felt listened to and treated with dignity.",
    " Parking is a nightmare and too expensive.",
)
_SHORT: Final = ("Nothing", "n/a", "No, all good", "Can't think of anything", "Everything!")


def made_up_answers(count: int, seed: int = 7) -> list[tuple[str, AsksFor]]:
    """Synthetic answers in the shape residents write them."""
    rng = random.Random(seed)
    kinds: tuple[AsksFor, ...] = ("open", "improvement", "praise")
    answers: list[tuple[str, AsksFor]] = []
    for _ in range(count):
        if rng.random() < 0.15:
            text = rng.choice(_SHORT)
        else:
            text = f"{rng.choice(_OPENINGS)} {rng.choice(_JUDGEMENTS)}.{rng.choice(_EXTRAS)}"
        answers.append((text, rng.choice(kinds)))
    return answers


def file_answers(path: Path) -> list[tuple[str, AsksFor]]:
    """The comments of the labelled file, with no labels."""
    with path.open(encoding="utf-8", newline="") as file:
        return [(row["feedback"], "open") for row in csv.DictReader(file)]


def measure(analyser: Analyser, answers: Sequence[tuple[str, AsksFor]], repeats: int = 3) -> float:
    """Answers per second, analysing each once per pass; the best of a few passes after a warm-up.

    The best pass is the one least disturbed by whatever else the machine was doing.
    """
    for text, asks_for in answers[:500]:
        analyser.analyse(text, asks_for=asks_for)
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        for text, asks_for in answers:
            analyser.analyse(text, asks_for=asks_for)
        best = max(best, len(answers) / (time.perf_counter() - started))
    return best


async def fill(storage: Storage, analyser: Analyser, answers: int, residents: int) -> None:
    """Store `answers` analysed answers from `residents` residents, as the bot stores them."""
    texts = made_up_answers(answers, seed=11)
    found: dict[tuple[str, AsksFor], Analysed] = {}
    per_resident = max(1, answers // residents)
    for r in range(residents):
        resident = await storage.resident(1_000_000 + r, 1_000_000 + r)
        turns = []
        for text, asks_for in texts[r * per_resident : (r + 1) * per_resident]:
            if (text, asks_for) not in found:
                a = analyser.analyse(text, asks_for=asks_for)
                found[text, asks_for] = Analysed(a.themes, a.sentiment, a.tone, a.key_phrases)
            answer = NewAnswer(
                "matters", "What matters to you?", text, kind="text", analysed=found[text, asks_for]
            )
            turns.append(
                Turn(resident.id, None, "what-matters", 1, "matters", "active", "{}", answer)
            )
        await storage.save_turns(turns)


async def digest_seconds(answers: int, residents: int) -> dict[str, float]:
    """Seconds to build and render a digest over a week of `answers` stored answers."""
    end = datetime.now(UTC)
    moment = end - timedelta(days=3)
    zone = ZoneInfo("Europe/London")
    with tempfile.TemporaryDirectory() as folder:
        async with open_storage(Path(folder) / "bench.db", clock=lambda: moment) as storage:
            started = time.perf_counter()
            await fill(storage, Analyser(shipped_catalogue("council")), answers, residents)
            filled = time.perf_counter() - started
            digests = Digests(storage, zone, redact)
            started = time.perf_counter()
            digest = await digests.build(end)
            built = time.perf_counter() - started
            started = time.perf_counter()
            render_sections(digest, zone)
            rendered = time.perf_counter() - started
            started = time.perf_counter()
            chart_png(digest, zone)
            charted = time.perf_counter() - started
            started = time.perf_counter()
            answers_csv(await storage.answers_between(digest.start, digest.end), zone, redact)
            tabled = time.perf_counter() - started
    assert digest.answers == answers, (digest.answers, answers)
    return {
        "fill": filled,
        "build": built,
        "render": rendered,
        "chart": charted,
        "csv": tabled,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print answers analysed per second for each source and catalogue."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="CSV with a feedback column"
    )
    parser.add_argument("--answers", type=int, default=20_000, help="made-up answers to analyse")
    parser.add_argument(
        "--digest-answers", type=int, default=100_000, help="answers in the digest's week"
    )
    parser.add_argument("--residents", type=int, default=10_000, help="residents who gave them")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    analysers = {pack: Analyser(shipped_catalogue(pack)) for pack in ("council", "health")}
    print(f"Start-up (lexicons and both catalogues): {time.perf_counter() - started:.2f} s")
    sources = {"made-up answers": made_up_answers(args.answers)}
    if args.data.is_file():
        sources["labelled file"] = file_answers(args.data)
    met = True
    for name, answers in sources.items():
        for pack, analyser in analysers.items():
            rate = measure(analyser, answers)
            met &= rate >= TARGET_PER_SECOND
            print(f"{name:16} {len(answers):7,} answers, {pack:7} themes: {rate:9,.0f} a second")
    texts = [text for text, _ in sources["made-up answers"]]
    started = time.perf_counter()
    for text in texts:
        redact(text)
    print(
        f"redaction       {len(texts):7,} answers:                 "
        f"{len(texts) / (time.perf_counter() - started):9,.0f} a second"
    )
    verdict = "met" if met else "NOT met"
    print(f"Target: {TARGET_PER_SECOND:,} answers a second on one core: {verdict}.")

    times = asyncio.run(digest_seconds(args.digest_answers, args.residents))
    print(
        f"\nDigest over {args.digest_answers:,} stored answers from {args.residents:,} residents"
        f" (storing them took {times['fill']:.1f} s):"
    )
    print(f"  read and aggregate  {times['build']:6.2f} s")
    print(f"  render the text     {times['render']:6.2f} s")
    digest_total = times["build"] + times["render"]
    print(f"  digest in all       {digest_total:6.2f} s")
    print(f"  attachments (drawn off the event loop): chart {times['chart']:.2f} s (the first use"
          f" imports matplotlib), CSV of the week's answers {times['csv']:.2f} s")  # fmt: skip
    digest_met = digest_total <= TARGET_DIGEST_SECONDS
    print(
        f"Target: a digest in {TARGET_DIGEST_SECONDS:.0f} s or less: "
        f"{'met' if digest_met else 'NOT met'}."
    )
    return 0 if met and digest_met else 1


if __name__ == "__main__":
    sys.exit(main())
