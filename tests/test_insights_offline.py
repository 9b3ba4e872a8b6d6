"""The analysis runs with no NLTK data and no network: only TextBlob's packaged files are used."""

import json
import os
import subprocess
import sys
from pathlib import Path

from insights import Analyser, redact, shipped_catalogue

REPO = Path(__file__).resolve().parent.parent
ANSWERS = [
    ("Nothing", "improvement"),
    ("More staff would help", "improvement"),
    ("The nurses were not rude, they were lovely 😊", "open"),
    ("Waited 3 hours for a cold dinner!", "open"),
    ("DAMP AND MOULD IN THE BATHROOM, STILL NOT FIXED", "open"),
    ("Everything!", "praise"),
]
SCRIPT = """
import json, sys
from insights import Analyser, redact, shipped_catalogue
answers = json.loads(sys.argv[1])
results = []
for pack in ("council", "health"):
    analyser = Analyser(shipped_catalogue(pack))
    for text, asks_for in answers:
        a = analyser.analyse(text, asks_for=asks_for)
        results.append([a.sentiment, a.tone, list(a.themes), list(a.key_phrases), a.trivial])
results.append(redact("Call 07700 900123 at 12 Elm Road"))
print(json.dumps(results))
"""


def here() -> list[object]:
    results: list[object] = []
    for pack in ("council", "health"):
        analyser = Analyser(shipped_catalogue(pack))
        for text, asks_for in ANSWERS:
            a = analyser.analyse(text, asks_for=asks_for)  # type: ignore[arg-type]
            results.append([a.sentiment, a.tone, list(a.themes), list(a.key_phrases), a.trivial])
    results.append(redact("Call 07700 900123 at 12 Elm Road"))
    return results


def test_analysis_works_without_any_nltk_data(tmp_path: Path) -> None:
    """In a fresh process with an empty NLTK_DATA and HOME, results are the same as here."""
    empty_data, empty_home = tmp_path / "nltk_data", tmp_path / "home"
    empty_data.mkdir()
    empty_home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NLTK_DATA": str(empty_data),
        "HOME": str(empty_home),
        "PYTHONPATH": str(REPO),
        # Any attempt to reach the network would fail fast rather than hang.
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT, json.dumps(ANSWERS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == here()
    assert list(empty_data.iterdir()) == []
    assert list(empty_home.iterdir()) == []
