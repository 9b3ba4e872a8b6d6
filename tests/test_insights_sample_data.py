"""The made-up labelled sample in tests/data: tests and benchmarks run in a fresh clone."""

import csv
import subprocess
import sys
from pathlib import Path

from tests.data.make_nhs_fft_sample import COLUMNS, rows

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "data" / "nhs_fft_sample.csv"


def test_the_sample_is_what_its_script_writes() -> None:
    """The sample is made up by its script (none of it copied), with the full set's columns."""
    with SAMPLE.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        assert list(reader) == rows()


def test_the_listening_benchmark_runs_on_the_sample() -> None:
    """`bench/listening.py --data` the sample prints its figures and says they mean little."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "listening.py"), "--data", str(SAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "made-up sample" in result.stdout
    assert "tone macro-F1" in result.stdout
