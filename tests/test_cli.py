"""The `whatmatters` command line, run as a newcomer would run it."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, parse_office_hours, parse_weekly_time
from conversations.loader import SHIPPED_FLOWS_DIR

REPO = Path(__file__).resolve().parent.parent


def whatmatters(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a clean environment (no WHATMATTERS_* settings, no .env)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    clean.update(env or {})
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def test_run_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    """`whatmatters run` with no token prints one clear line naming the setting and `try`."""
    result = whatmatters("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "WHATMATTERS_BOT_TOKEN" in lines[0]
    assert "whatmatters try" in lines[0]
    assert not (tmp_path / "whatmatters.db").exists()


def test_try_completes_the_shipped_flow_in_the_terminal(tmp_path: Path) -> None:
    """`whatmatters try` runs the shipped flow as a resident sees it, buttons by number."""
    typed = "\n".join(["1", "Feeling safe at night", "Better lighting", "4", "1", ""])
    result = whatmatters("try", cwd=tmp_path, stdin=typed)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Are you happy to carry on?" in out
    assert "[1] Yes   [2] No" in out
    assert "What matters to you about living here?" in out
    assert "[1]   [2]   [3]   [4]   [5]   [Skip]" in out  # Skip is typed, not a 6th number
    assert "Thank you. What you have told us really helps." in out
    assert "(4 answers, in a throwaway database now deleted" in out
    assert not (tmp_path / "whatmatters.db").exists()  # a throwaway database by default


def test_try_keeps_answers_only_when_asked(tmp_path: Path) -> None:
    """`whatmatters try --keep` stores into the configured database, and export shows it."""
    typed = "\n".join(["yes", "The library", "Open on Sundays", "skip", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    exported = whatmatters("export", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(
        "resident,flow,flow_version,step,question,answer,answered_at,themes,sentiment\n"
    )
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [row["answer"] for row in rows] == ["The library", "Open on Sundays", "no"]


def test_try_an_unknown_flow_says_so(tmp_path: Path) -> None:
    """`whatmatters try no-such-flow` explains there is no such flow."""
    result = whatmatters("try", "no-such-flow", cwd=tmp_path, stdin="")
    assert result.returncode == 1
    assert "no flow called 'no-such-flow'" in result.stdout


def test_validate_passes_the_shipped_flow_and_names_mistakes(tmp_path: Path) -> None:
    """`flows validate` says ok for a good file, and gives file, line and field for a bad one."""
    shipped = Path(str(SHIPPED_FLOWS_DIR / "what-matters.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: broken\ntitle: Broken\nsteps:\n  - id: q\n    kind: texte\n    text: Hi\n",
        encoding="utf-8",
    )
    good = whatmatters("flows", "validate", str(shipped), cwd=tmp_path)
    assert good.returncode == 0
    assert "ok" in good.stdout
    bad = whatmatters("flows", "validate", str(shipped), str(broken), cwd=tmp_path)
    assert bad.returncode == 1
    assert "broken.yaml, line 5" in bad.stderr
    assert "kind" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_bad_setting_is_named_in_plain_words(tmp_path: Path) -> None:
    """A mistyped time zone names the variable to fix, with no traceback."""
    result = whatmatters("run", cwd=tmp_path, env={"WHATMATTERS_TIMEZONE": "Europe/Londn"})
    assert result.returncode == 2
    assert "WHATMATTERS_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_read_comma_separated_ids_and_a_dotenv_file(tmp_path: Path) -> None:
    """Admins are read as `1, 2` from a .env file; the file URL is derived from the API base."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "WHATMATTERS_ADMINS=111, 222\nWHATMATTERS_API_BASE_URL=http://127.0.0.1:9/bot\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=env_file)
    assert settings.admins == [111, 222]
    assert settings.is_admin(222)
    assert settings.file_url == "http://127.0.0.1:9/file/bot"
    assert settings.retention_days == 730


def test_schedules_are_read_in_plain_forms() -> None:
    """`mon 09:00` and `mon-fri 09:00-17:00` read as a weekly time and office hours."""
    weekly = parse_weekly_time("Mon 09:30")
    assert (weekly.weekday, weekly.at.hour, weekly.at.minute) == (0, 9, 30)
    hours = parse_office_hours("mon-fri 09:00-17:00")
    assert hours.weekdays == frozenset(range(5))
    assert parse_office_hours("sat-mon 10:00-12:00").weekdays == frozenset({5, 6, 0})
    with pytest.raises(ValueError, match="day and time"):
        parse_weekly_time("someday")
    with pytest.raises(ValueError, match="closes before it opens"):
        parse_office_hours("mon-fri 17:00-09:00")


def test_analyse_adds_themes_sentiment_and_tone_to_a_csv(tmp_path: Path) -> None:
    """`whatmatters analyse` writes the file back with themes, sentiment and tone columns."""
    source = tmp_path / "feedback.csv"
    source.write_text(
        "id,question,comment\n"
        "1,What could we do better?,Nothing really\n"
        "2,What could we do better?,The boiler repair took six weeks and nobody called back\n"
        "3,What went well?,The bin crew are always friendly\n",
        encoding="utf-8",
    )
    result = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--question-column", "question",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 rows analysed" in result.stdout
    with (tmp_path / "feedback-analysed.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == [
        "id", "question", "comment", "themes", "sentiment", "tone", "theme_tones"
    ]  # fmt: skip
    assert [row["tone"] for row in rows] == ["positive", "negative", "positive"]
    assert "Repairs" in rows[1]["themes"]
    missing = whatmatters("analyse", str(source), "--text-column", "feedback", cwd=tmp_path)
    assert missing.returncode == 1
    assert '"comment"' in missing.stderr
    assert "Traceback" not in missing.stderr


def test_digest_preview_prints_the_week(tmp_path: Path) -> None:
    """`whatmatters digest preview` prints the digest of the last 7 days as plain text."""
    typed = "\n".join(["yes", "Damp and black mould in the bedroom", "Fix the damp", "3", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    preview = whatmatters("digest", "preview", cwd=tmp_path, env=env)
    assert preview.returncode == 0, preview.stderr
    assert "1 resident gave 4 answers" in preview.stdout
    assert "Damp and mould" in preview.stdout
    assert "Damp and black mould in the bedroom" in preview.stdout
    assert "<b>" not in preview.stdout


def test_an_admin_edits_imports_publishes_and_rolls_back_a_flow(tmp_path: Path) -> None:
    """export → edit → import (a draft) → publish (with what changed) → rollback, all audited."""
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "flows.db")}
    exported = whatmatters("flows", "export", "what-matters", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    edited = exported.stdout.replace(
        "Overall, how happy are you living here?", "How happy are you living here, all in all?"
    )
    assert edited != exported.stdout
    (tmp_path / "edited.yaml").write_text(edited, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(edited.replace("kind: scale", "kind: scael"), "utf-8")

    refused = whatmatters("flows", "import", "broken.yaml", cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert "broken.yaml, line" in refused.stderr
    imported = whatmatters("flows", "import", "edited.yaml", cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    listed = whatmatters("flows", "list", cwd=tmp_path, env=env).stdout
    assert "what-matters  version 1" in listed
    assert "a draft is waiting" in listed

    published = whatmatters("flows", "publish", "what-matters", cwd=tmp_path, env=env)
    assert published.returncode == 0, published.stderr
    assert "version 2 is live" in published.stdout
    assert 'reworded step "happy-here"' in published.stdout
    assert "a draft is waiting" not in whatmatters("flows", "list", cwd=tmp_path, env=env).stdout
    live = whatmatters("flows", "export", "what-matters", cwd=tmp_path, env=env).stdout
    assert "How happy are you living here, all in all?" in live

    rolled = whatmatters("flows", "rollback", "what-matters", cwd=tmp_path, env=env)
    assert rolled.returncode == 0, rolled.stderr
    assert "version 1 is live again (was 2)" in rolled.stdout
    again = whatmatters("flows", "rollback", "what-matters", cwd=tmp_path, env=env)
    assert again.returncode == 1
    assert "no version before 1" in again.stderr
    with sqlite3.connect(tmp_path / "flows.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["save draft", "publish", "rollback"]


def test_flows_schema_is_a_json_schema_for_editors(tmp_path: Path) -> None:
    """`flows schema` prints a JSON Schema that names the step kinds and required fields."""
    result = whatmatters("flows", "schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert set(schema["required"]) >= {"id", "title", "steps"}
    assert "consent" in json.dumps(schema)


def test_validate_warns_of_missing_translations_without_failing(tmp_path: Path) -> None:
    """A text not yet translated is a warning with its line; the flow still validates."""
    flow = tmp_path / "cy.yaml"
    flow.write_text(
        "id: cy-test\ntitle: {en: Test, cy: Prawf}\nlanguages: [en, cy]\nsteps:\n"
        "  - id: q\n    kind: text\n    text: What else?\n",
        encoding="utf-8",
    )
    result = whatmatters("flows", "validate", str(flow), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'line 7, step "q" → text: no "cy" translation' in result.stdout


def test_safeguarding_check_shows_the_list_and_the_help_and_names_mistakes(
    tmp_path: Path,
) -> None:
    """`safeguarding check` summarises the shipped list and both wordings; a bad file is named."""
    result = whatmatters("safeguarding", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "self-harm: Self-harm or suicide" in result.stdout
    assert "116 123" in result.stdout
    assert "Monday at 09:00" in result.stdout  # the out-of-hours wording, filled in
    broken = tmp_path / "signs.yaml"
    broken.write_text("categories:\n  - name: self-harm\n    labl: Self-harm\n", encoding="utf-8")
    result = whatmatters("safeguarding", "check", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "signs.yaml, line 3" in result.stderr
    # The bot will not start on it either, and says why in one line.
    env = {"WHATMATTERS_SAFEGUARDING": str(broken), "WHATMATTERS_BOT_TOKEN": "1:x"}
    result = whatmatters("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "signs.yaml, line 3" in result.stderr


def test_safeguarding_test_says_which_signs_words_carry(tmp_path: Path) -> None:
    """An admin can try phrases before relying on them."""
    result = whatmatters(
        "safeguarding", "test", "I don't want to die", "The cake was to die for", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert "Self-harm or suicide" in first
    assert second.endswith("no sign")


def test_try_shows_the_help_a_sign_of_risk_brings_and_alerts_nobody(tmp_path: Path) -> None:
    """The terminal shows what a resident would see; no alert is queued for anyone."""
    typed = "\n".join(["1", "Some days I just want to die", "/quit", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db"), "WHATMATTERS_ADMINS": "900"}
    result = whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env)
    assert result.returncode == 0, result.stderr
    assert "116 123" in result.stdout
    with sqlite3.connect(tmp_path / "kept.db") as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
        (detail,) = db.execute(
            "SELECT detail FROM audit_log WHERE action = 'safeguarding alert'"
        ).fetchone()
    assert json.loads(detail)["alerted"] == []


def test_an_empty_token_as_copied_from_the_example_is_a_missing_one(tmp_path: Path) -> None:
    """`cp .env.example .env` then `run` says what to set, as with no token at all."""
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text("utf-8"), "utf-8")
    result = whatmatters("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "set WHATMATTERS_BOT_TOKEN" in lines[0]
    assert "refused" not in lines[0]


def test_a_username_among_the_admins_is_explained_in_plain_words(tmp_path: Path) -> None:
    """`WHATMATTERS_ADMINS=@jo_smith` says ids are numbers and how to find one, not pydantic's
    words."""
    env = {"WHATMATTERS_ADMINS": "123, @jo_smith"}
    result = whatmatters("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("whatmatters: WHATMATTERS_ADMINS: @jo_smith is not a user id")
    assert "@userinfobot" in line
    assert "Input should" not in line
    assert "Value error" not in line
    days = whatmatters("run", cwd=tmp_path, env={"WHATMATTERS_RETENTION_DAYS": "two years"})
    assert days.stderr.strip() == (
        "whatmatters: WHATMATTERS_RETENTION_DAYS: is 'two years', but should be a whole number"
    )


def test_a_misspelt_setting_name_is_warned_of_with_the_closest_one(tmp_path: Path) -> None:
    """A name that is no setting, in the environment or in .env, is named with the right one."""
    (tmp_path / ".env").write_text("WHATMATTERS_TIMEZOME=Europe/Dublin\n", encoding="utf-8")
    env = {"WHATMATTERS_ADMIN": "123", "WHATMATTERS_COLOUR": "blue"}
    result = whatmatters("flows", "schema", cwd=tmp_path, env=env)
    assert result.returncode == 0
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 3, result.stderr
    assert any(
        "WHATMATTERS_ADMIN " in w and "did you mean WHATMATTERS_ADMINS?" in w for w in warnings
    )
    assert any(
        "WHATMATTERS_TIMEZOME (in .env)" in w and "did you mean WHATMATTERS_TIMEZONE?" in w
        for w in warnings
    )
    assert any("WHATMATTERS_COLOUR" in w and ".env.example" in w for w in warnings)


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    """`/proc/x.db` is a sentence in `run` and `export`, never a traceback."""
    env = {"WHATMATTERS_DATABASE": "/proc/x.db", "WHATMATTERS_BOT_TOKEN": "1:x"}
    for command in (["run"], ["export"], ["digest", "preview"]):
        result = whatmatters(*command, cwd=tmp_path, env=env)
        assert result.returncode == 1, command
        (line,) = result.stderr.strip().splitlines()
        assert "/proc/x.db" in line
        assert "WHATMATTERS_DATABASE" in line


def test_commands_that_only_read_never_create_a_database_or_a_folder(tmp_path: Path) -> None:
    """`digest preview`, `export` and `backup` on a path that does not exist say so in one
    line, and leave nothing behind."""
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "typo" / "whatmatters.db")}
    for command in (["digest", "preview"], ["export"], ["backup", "copy.db"]):
        result = whatmatters(*command, cwd=tmp_path, env=env)
        assert result.returncode == 1, command
        (line,) = result.stderr.strip().splitlines()
        assert "there is no database at" in line
    assert sorted(tmp_path.iterdir()) == []


def test_the_env_example_keeps_the_docker_database_on_the_volume() -> None:
    """With `docker run --env-file .env`, .env.example's settings leave the image's /data alone."""
    from dotenv import dotenv_values

    example = dotenv_values(REPO / ".env.example")
    assert not example.get("WHATMATTERS_DATABASE")
    assert "# WHATMATTERS_DATABASE=" in (REPO / ".env.example").read_text("utf-8")
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    assert "WHATMATTERS_DATABASE=/data/whatmatters.db" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    assert "chown 10001" in (REPO / "README.md").read_text("utf-8")


def test_the_readme_points_only_at_files_in_the_repository() -> None:
    """Every file the README names with its folder, and every .md file, is in the repository."""
    import re

    readme = (REPO / "README.md").read_text("utf-8")
    named = set(re.findall(r"[A-Za-z0-9_./-]+\.(?:md|yaml|py|csv)\b", readme))
    for name in named:
        if "/" in name or name.endswith(".md"):
            assert (REPO / name).exists(), name
    assert "design's" not in readme


def test_plain_whatmatters_prints_the_help(tmp_path: Path) -> None:
    """`whatmatters` alone lists the commands, as `--help` does."""
    result = whatmatters(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == whatmatters("--help", cwd=tmp_path).stdout
    assert "export" in result.stdout
    assert result.stderr == ""


def test_export_since_takes_days_in_plain_words(tmp_path: Path) -> None:
    """`--since` takes yesterday, today and 7d as well as a date; anything else names the format
    in one line."""
    typed = "\n".join(["yes", "The library", "Open on Sundays", "skip", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    for since in ("yesterday", "today", "7d", "2020-01-01"):
        result = whatmatters("export", "--since", since, cwd=tmp_path, env=env)
        assert result.returncode == 0, (since, result.stderr)
        assert "Open on Sundays" in result.stdout
    result = whatmatters("export", "--since", "last week", cwd=tmp_path, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "YYYY-MM-DD" in line


def closed_pipe(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run the command line with its output piped to a reader that has already gone (as
    `| head -1` is once it has its line); returns what it wrote to stderr."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHATMATTERS_")}
    clean.update(env or {}, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    return stderr.decode()


def test_output_cut_short_by_head_ends_quietly(tmp_path: Path) -> None:
    """`flows schema | head` and `export | head -1` end without a BrokenPipeError."""
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    typed = "\n".join(["yes", "The library", "Open on Sundays", "skip", "no", ""])
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    assert closed_pipe("flows", "schema", cwd=tmp_path) == ""
    assert closed_pipe("export", cwd=tmp_path, env=env) == ""


def test_digest_preview_writes_the_chart_and_the_csv_staff_get(tmp_path: Path) -> None:
    """`digest preview --chart F.png --csv F.csv` writes the attachments of the staff digest."""
    typed = "\n".join(["yes", "Damp and black mould in the bedroom", "Fix the damp", "3", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    assert whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env).returncode == 0
    preview = whatmatters(
        "digest", "preview", "--chart", "week.png", "--csv", "week.csv", cwd=tmp_path, env=env
    )
    assert preview.returncode == 0, preview.stderr
    assert "(1 answer)" in preview.stdout
    png = (tmp_path / "week.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Themes by tone, " in png  # the title, kept in the file too
    with (tmp_path / "week.csv").open(encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert "Damp and black mould in the bedroom" in [row["answer"] for row in rows]
    assert "tone" in rows[0]


def test_rollback_says_how_to_bring_the_newer_version_back(tmp_path: Path) -> None:
    """After `flows rollback`, `flows publish` says why there is nothing to publish, and the
    commands it names bring the rolled-back version back."""
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "flows.db")}
    exported = whatmatters("flows", "export", "what-matters", cwd=tmp_path, env=env).stdout
    edited = exported.replace("Overall, how happy", "All in all, how happy")
    (tmp_path / "edited.yaml").write_text(edited, encoding="utf-8")
    assert whatmatters("flows", "import", "edited.yaml", cwd=tmp_path, env=env).returncode == 0
    assert whatmatters("flows", "publish", "what-matters", cwd=tmp_path, env=env).returncode == 0
    rolled = whatmatters("flows", "rollback", "what-matters", cwd=tmp_path, env=env)
    assert "Version 2 is kept" in rolled.stdout
    assert "flows export what-matters --version 2" in rolled.stdout
    publish = whatmatters("flows", "publish", "what-matters", cwd=tmp_path, env=env)
    assert publish.returncode == 1
    assert "version 2 was rolled back" in publish.stderr
    steps = [line.split()[1:] for line in publish.stderr.splitlines() if "  whatmatters " in line]
    assert len(steps) == 3
    for step in steps:
        done = whatmatters(*step, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
    live = whatmatters("flows", "export", "what-matters", cwd=tmp_path, env=env).stdout
    assert "All in all, how happy" in live


def test_safeguarding_check_uses_the_office_hours_setting(tmp_path: Path) -> None:
    """With `tue-sat 10:00-16:00` the out-of-hours help says the office opens on Tuesday."""
    env = {"WHATMATTERS_OFFICE_HOURS": "tue-sat 10:00-16:00"}
    result = whatmatters("safeguarding", "check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Tuesday at 10:00" in result.stdout
    assert "Monday at 09:00" not in result.stdout


def test_safeguarding_test_names_the_words_that_matched(tmp_path: Path) -> None:
    """The words found are shown, not the list's pattern of choices."""
    result = whatmatters("safeguarding", "test", "Last night he hits me again", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('Abuse or violence ("he hits me")')
    assert "|" not in result.stdout


def test_analyse_replaces_personal_details_unless_asked(tmp_path: Path) -> None:
    """`analyse` writes comments redacted, as `export` does; `--as-written` keeps them whole."""
    source = tmp_path / "feedback.csv"
    source.write_text(
        "comment\nCall me on 07700 900123 or jo@example.org about the boiler\n", encoding="utf-8"
    )
    result = whatmatters("analyse", str(source), "--text-column", "comment", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "feedback-analysed.csv").read_text("utf-8")
    assert "07700 900123" not in written
    assert "jo@example.org" not in written
    assert "about the boiler" in written
    kept = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--as-written", cwd=tmp_path
    )
    assert kept.returncode == 0, kept.stderr
    assert "07700 900123" in (tmp_path / "feedback-analysed.csv").read_text("utf-8")


def test_a_description_too_long_for_telegram_is_one_line(tmp_path: Path) -> None:
    """The short description's limit (120 characters) is said in plain words."""
    env = {"WHATMATTERS_BOT_SHORT_DESCRIPTION": "x" * 130}
    result = whatmatters("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "whatmatters: WHATMATTERS_BOT_SHORT_DESCRIPTION: is 130 characters long; "
        "Telegram takes at most 120"
    )


def test_try_answers_residents_commands_as_telegram_does(tmp_path: Path) -> None:
    """/mydata, /language, /help and unknown commands at consent or a question are answered as
    in Telegram, never taken as an answer; the question comes again after each."""
    typed = "\n".join(
        [
            "/mydata",
            "/language",
            "/nonsense",
            "yes",
            "/help",
            "/mydata",
            "Quiet streets",
            "/quit",
            "",
        ]
    )
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    result = whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"pseudonym_staff_see"' in out  # the /mydata file, shown
    assert "only in one language" in out
    assert "Sorry, I don't know that command." in out
    assert "/forgetme — delete everything stored about you" in out  # /help
    after_help = out.split("/help — this message")[1]
    assert "What matters to you about living here?" in after_help
    assert "Sorry, I didn't catch that" not in out
    rows = list(csv.DictReader(io.StringIO(whatmatters("export", cwd=tmp_path, env=env).stdout)))
    assert [row["answer"] for row in rows] == ["Quiet streets"]


def test_try_forgetme_deletes_everything_once_confirmed(tmp_path: Path) -> None:
    """/forgetme asks first; "No, keep it" keeps all and asks the question again; "Yes" deletes."""
    typed = "\n".join(["yes", "Parks", "/forgetme", "2", "Bins", "/forgetme", "1", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    result = whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env)
    assert result.returncode == 0, result.stderr
    assert "All right, nothing has been deleted." in result.stdout
    assert "Everything we kept about you has been deleted." in result.stdout
    assert "(0 answers stored in" in result.stdout
    with sqlite3.connect(tmp_path / "kept.db") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone() == (0,)


def test_try_does_not_store_skip_at_a_required_question(tmp_path: Path) -> None:
    """ "skip" where there is no Skip button asks again; a scale's Skip is typed, not button 6."""
    typed = "\n".join(["yes", "skip", "Parks", "More benches", "6", "skip", "no", ""])
    env = {"WHATMATTERS_DATABASE": str(tmp_path / "kept.db")}
    result = whatmatters("try", "--keep", cwd=tmp_path, stdin=typed, env=env)
    assert result.returncode == 0, result.stderr
    assert "can't be skipped" in result.stdout
    assert "Please tap a number from 1 to 5" in result.stdout  # "6" is no button
    rows = list(csv.DictReader(io.StringIO(whatmatters("export", cwd=tmp_path, env=env).stdout)))
    assert [row["answer"] for row in rows] == ["Parks", "More benches", "no"]
    assert "(3 answers stored in" in result.stdout


def test_try_does_not_name_the_throwaway_database_it_deleted(tmp_path: Path) -> None:
    """Without --keep, the closing line says the answers went with the throwaway database."""
    result = whatmatters("try", cwd=tmp_path, stdin="1\nParks\n/quit\n")
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "(1 answer, in a throwaway database now deleted" in last
    assert ".db" not in last
