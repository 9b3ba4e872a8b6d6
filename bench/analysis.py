"""How many answers the text analysis reads per second on one core.

    python bench/analysis.py [--data PATH] [--answers N]

Uses the labelled feedback file when it is there (only its text, never printed), otherwise
made-up answers generated here. Each answer is analysed once, as at ingest; the first pass warms
the caches a running bot would have warm too, and is not timed. Target: 10,000 answers a second.
"""

import argparse
import csv
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from insights import Analyser, AsksFor, redact, shipped_catalogue  # noqa: E402

DEFAULT_DATA: Final = REPO.parent / "shared" / "data" / "nhs_fft_phase1.csv"
TARGET_PER_SECOND: Final = 10_000

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


def main(argv: Sequence[str] | None = None) -> int:
    """Print answers analysed per second for each source and catalogue."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="CSV with a feedback column"
    )
    parser.add_argument("--answers", type=int, default=20_000, help="made-up answers to analyse")
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
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
