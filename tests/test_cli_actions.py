"""`whatmatters actions add | update | list`, run as an admin or a script would run them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from storage import SQLiteStorage
from tests.spoken import answered
from tests.test_cli import whatmatters

ACTION_TEXT = "Every flat on Mill Lane will be checked for damp in January"


async def _residents_who_spoke(database: Path) -> None:
    """Three residents answered about repairs (two said yes to hearing back), one about parks."""
    async with SQLiteStorage(database) as storage:
        for n, (words, theme, hear_back) in enumerate(
            [
                ("Repairs take forever, the leak is back", "Repairs", True),
                ("The repairs team never comes", "Repairs", True),
                ("Repairs are slow", "Repairs", False),
                ("The park is lovely", "Parks and green spaces", True),
            ]
        ):
            resident = await storage.resident(800 + n, 800 + n)
            await storage.save_turns(answered(resident.id, words, theme, hear_back=hear_back))


def test_actions_add_queues_one_message_per_resident_who_opted_in(tmp_path: Path) -> None:
    """Without --yes and no terminal nothing changes; with --yes the two opted-in residents who
    raised repairs are queued, once each, however often the same status is given."""
    database = tmp_path / "wm.db"
    asyncio.run(_residents_who_spoke(database))
    env = {"WHATMATTERS_DATABASE": str(database)}
    args = ["actions", "add", "--theme", "REPAIRS", "--status", "planned", "--text", ACTION_TEXT]

    unsure = whatmatters(*args, cwd=tmp_path, env=env)
    assert unsure.returncode == 1
    assert "It would reach 2 residents" in unsure.stderr
    assert "add --yes" in unsure.stderr

    done = whatmatters(*args, "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("action 1: Repairs — planned. 2 residents queued")
    again = whatmatters(
        "actions", "update", "1", "--status", "planned", "--yes", cwd=tmp_path, env=env
    )
    assert "0 residents queued" in again.stdout
    moved = whatmatters(
        "actions", "update", "1", "--status", "in progress", "--yes", cwd=tmp_path, env=env
    )
    assert "2 residents queued" in moved.stdout

    listed = whatmatters("actions", "list", "--format", "jsonl", cwd=tmp_path, env=env)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert {key: row[key] for key in ("id", "theme", "status", "text", "told")} == {
        "id": 1,
        "theme": "Repairs",
        "status": "in progress",
        "text": ACTION_TEXT,
        "told": 2,
    }
    assert (row["helps"], row["not_enough"], row["replies"]) == (0, 0, 0)


def test_actions_refuse_unknown_themes_statuses_and_bad_text_in_one_line(tmp_path: Path) -> None:
    """Each mistake is one line naming what is known; nothing is recorded."""
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "wm.db")}
    cases = [
        (["--theme", "lifts", "--status", "planned", "--text", "x"], "unknown theme 'lifts'"),
        (["--theme", "repairs", "--status", "finished", "--text", "x"], "heard, planned"),
        (["--theme", "repairs", "--status", "planned", "--text", " "], "empty"),
        (["--theme", "repairs", "--status", "planned", "--text", "x" * 1001], "1,001 characters"),
        (["--theme", "repairs", "--status", "not possible", "--text", "x"], "say why"),
    ]
    for extra, expected in cases:
        result = whatmatters("actions", "add", *extra, "--yes", cwd=tmp_path, env=env)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert expected in lines[0]
    listed = whatmatters("actions", "list", "--format", "jsonl", cwd=tmp_path, env=env)
    assert listed.stdout == ""
