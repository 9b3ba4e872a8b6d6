"""How well the text analysis reads real, human-labelled patient feedback.

    python bench/listening.py [--data PATH] [--themes health|council|FILE.yaml]

Reads the NHS Friends and Family Test comments described in shared/data/README.md (each labelled by
people with a theme and a criticality from -5 to +5) and prints, for the rows used for tuning
(Trust A and B), the held-out rows (Trust C) and all rows:

- Spearman correlation of `sentiment` with `criticality` (target >= 0.55);
- the share of very critical comments (criticality <= -2) whose tone reads negative (>= 75 %);
- the share of clearly positive comments (criticality >= 2) whose tone reads positive (>= 80 %);
- weighted theme purity (>= 0.70): each comment counts under its first (strongest) theme; each
  theme's purity is the share of its comments carrying the human label most common among them;
  the weighted purity is the sum over themes of those majority counts divided by all themed
  comments, so big themes count for more;
- coverage (>= 80 %): the share of non-trivial comments given at least one theme.

The data is real people's words: this script prints figures only, never a comment.
"""

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from insights import Analyser, Analysis, ThemeCatalogue, load_catalogue, shipped_catalogue  # noqa: E402
from insights.csvfile import guess_asks_for  # noqa: E402
from insights.sentiment import AsksFor  # noqa: E402

DEFAULT_DATA: Final = REPO.parent / "shared" / "data" / "nhs_fft_phase1.csv"

# What each organisation's question asked, read from the comments themselves: Trust A's Q1 and
# Trust C's Q2 collect suggestions (and "nothing"), Trust A's Q2 and Trust C's Q1 collect praise,
# and Trust B's single question gets both.
QUESTIONS: Final[dict[str, AsksFor]] = {
    "Trust A - Q1": "improvement",
    "Trust A - Q2": "praise",
    "Trust B - Q1": "open",
    "Trust C - Q1": "praise",
    "Trust C - Q2": "improvement",
}
TUNING: Final = ("Trust A", "Trust B")
HELD_OUT: Final = ("Trust C",)

TARGETS: Final = {
    "spearman": 0.55,
    "critical_negative": 0.75,
    "positive_positive": 0.80,
    "purity": 0.70,
    "coverage": 0.80,
}


@dataclass(frozen=True)
class Row:
    """One labelled comment and what the analysis made of it."""

    organisation: str
    label: str
    criticality: int
    asks_for: AsksFor
    analysis: Analysis


def read_rows(path: Path, analyser: Analyser) -> tuple[list[Row], int]:
    """Analyse every usable row; return them and how many were skipped for junk criticality."""
    rows: list[Row] = []
    skipped = 0
    with path.open(encoding="utf-8", newline="") as file:
        for record in csv.DictReader(file):
            try:
                criticality = int(record["criticality"])
            except ValueError:
                skipped += 1
                continue
            if not -5 <= criticality <= 5:
                skipped += 1
                continue
            question = record["question"]
            asks_for = QUESTIONS.get(question) or guess_asks_for(question)
            analysis = analyser.analyse(record["feedback"], asks_for=asks_for)
            rows.append(
                Row(record["organization"], record["label"], criticality, asks_for, analysis)
            )
    return rows, skipped


def ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (ties share the mean of their positions), from 0."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation, ties averaged; pure Python."""
    rx, ry = ranks(xs), ranks(ys)
    n = len(rx)
    if n < 2:
        return float("nan")
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else float("nan")


def figures(rows: Sequence[Row]) -> dict[str, float]:
    """The five target figures plus the counts behind them."""
    critical = [r for r in rows if r.criticality <= -2]
    positive = [r for r in rows if r.criticality >= 2]
    non_trivial = [r for r in rows if not r.analysis.trivial]
    themed = [r for r in non_trivial if r.analysis.themes]
    by_theme: dict[str, Counter[str]] = defaultdict(Counter)
    for r in themed:
        by_theme[r.analysis.themes[0]][r.label] += 1
    majority = sum(counter.most_common(1)[0][1] for counter in by_theme.values())
    return {
        "rows": len(rows),
        "spearman": spearman([r.analysis.sentiment for r in rows], [r.criticality for r in rows]),
        "critical_negative": _share(critical, lambda r: r.analysis.tone == "negative"),
        "critical_rows": len(critical),
        "positive_positive": _share(positive, lambda r: r.analysis.tone == "positive"),
        "positive_rows": len(positive),
        "purity": majority / len(themed) if themed else float("nan"),
        "coverage": len(themed) / len(non_trivial) if non_trivial else float("nan"),
        "non_trivial": len(non_trivial),
        "trivial": len(rows) - len(non_trivial),
    }


def _share(rows: Sequence[Row], test: "object") -> float:
    assert callable(test)
    return sum(1 for r in rows if test(r)) / len(rows) if rows else float("nan")


def theme_table(rows: Sequence[Row]) -> list[tuple[str, int, str, float]]:
    """Per theme (first theme only): comments, majority label, purity."""
    by_theme: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.analysis.themes and not r.analysis.trivial:
            by_theme[r.analysis.themes[0]][r.label] += 1
    table = []
    for theme, counter in by_theme.items():
        label, count = counter.most_common(1)[0]
        total = sum(counter.values())
        table.append((theme, total, label, count / total))
    return sorted(table, key=lambda row: -row[1])


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures and whether each target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled CSV file")
    parser.add_argument("--themes", default="health", help="health, council, or a catalogue file")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"No data file at {args.data}; pass --data PATH.", file=sys.stderr)
        return 2
    catalogue: ThemeCatalogue = (
        shipped_catalogue(args.themes)
        if args.themes in ("health", "council")
        else load_catalogue(Path(args.themes))
    )
    analyser = Analyser(catalogue)
    started = time.perf_counter()
    rows, skipped = read_rows(args.data, analyser)
    elapsed = time.perf_counter() - started
    print(
        f"{args.data.name}: {len(rows):,} comments analysed in {elapsed:.2f} s "
        f"({skipped} skipped: criticality not a number from -5 to 5); themes: {args.themes}"
    )
    print("Questions: " + "; ".join(f"{q} = {a}" for q, a in QUESTIONS.items()))
    splits = {
        "tuning (Trust A+B)": [r for r in rows if r.organisation in TUNING],
        "held out (Trust C)": [r for r in rows if r.organisation in HELD_OUT],
        "all": rows,
    }
    results = {name: figures(split) for name, split in splits.items()}
    names = list(results)
    print()
    print(f"{'':38}" + "".join(f"{name:>22}" for name in names) + "   target")
    lines = (
        ("spearman", "Spearman(sentiment, criticality)", "{:.3f}"),
        ("critical_negative", "criticality <= -2 read negative", "{:.1%}"),
        ("positive_positive", "criticality >= 2 read positive", "{:.1%}"),
        ("purity", "weighted theme purity (first theme)", "{:.3f}"),
        ("coverage", "non-trivial comments themed", "{:.1%}"),
    )
    met_all = True
    for key, title, fmt in lines:
        cells = [fmt.format(results[name][key]) for name in names]
        met = [results[name][key] >= TARGETS[key] for name in names]
        met_all &= all(met)
        marks = "".join(
            f"{cell + (' ok' if ok else ' MISS'):>22}" for cell, ok in zip(cells, met, strict=True)
        )
        target = fmt.format(TARGETS[key])
        print(f"{title:38}{marks}   >= {target}")
    counts = [f"{int(results[n]['rows']):,} ({int(results[n]['trivial']):,})" for n in names]
    print(f"{'comments (trivial)':38}" + "".join(f"{c:>22}" for c in counts))
    print()
    for name, split in splits.items():
        tones = Counter(r.analysis.tone for r in split)
        total = len(split) or 1
        shares = ", ".join(
            f"{tone} {tones[tone] / total:.0%}" for tone in ("negative", "neutral", "positive")
        )
        print(f"Tone shares, {name}: {shares}")
    print()
    print("Themes (all rows, first theme): comments, majority label, purity")
    for theme, total, label, purity in theme_table(rows):
        print(f"  {theme:34} {total:6,}  {label:26} {purity:.2f}")
    print()
    print("All targets met." if met_all else "Some targets are not met.")
    return 0 if met_all else 1


if __name__ == "__main__":
    sys.exit(main())
