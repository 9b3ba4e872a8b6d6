"""`whatmatters analyse` sorts answers into the catalogue the deployment chose."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.test_cli import whatmatters

FEEDBACK = (
    "id,question,comment\n"
    "1,What was good?,The nurses were kind and the ward was spotless\n"
    "2,What could we do better?,The boiler repair took six weeks\n"
)
OWN_CATALOGUE = """\
name: Our own
themes:
  - name: Heating
    keywords: [boiler, radiator]
"""
BROKEN_CATALOGUE = """\
name: Broken
themes:
  - name: Heating
    keywords: [boiler, radiator]
    colour: red
"""


def analysed(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Run `analyse` on the feedback above and read back the rows it wrote."""
    source = tmp_path / "feedback.csv"
    source.write_text(FEEDBACK, encoding="utf-8")
    result = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--question-column", "question",
        *args, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with (tmp_path / "feedback-analysed.csv").open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_analyse_uses_the_themes_setting(tmp_path: Path) -> None:
    """With WHATMATTERS_THEMES=health, `analyse` sorts answers into the health themes."""
    rows = analysed(tmp_path, env={"WHATMATTERS_THEMES": "health"})
    assert rows[0]["themes"].split(";")[0] == "Staff attitude"
    assert "Repairs" not in rows[1]["themes"]


def test_analyse_uses_the_council_themes_by_default(tmp_path: Path) -> None:
    """Without the setting, `analyse` uses the council themes."""
    rows = analysed(tmp_path)
    assert "Repairs" in rows[1]["themes"]


def test_themes_option_overrides_the_setting(tmp_path: Path) -> None:
    """`--themes council` wins over WHATMATTERS_THEMES=health."""
    rows = analysed(tmp_path, "--themes", "council", env={"WHATMATTERS_THEMES": "health"})
    assert "Repairs" in rows[1]["themes"]


def test_themes_option_takes_an_admins_catalogue_file(tmp_path: Path) -> None:
    """`--themes FILE.yaml` sorts answers into an admin's own themes."""
    own = tmp_path / "ours.yaml"
    own.write_text(OWN_CATALOGUE, encoding="utf-8")
    rows = analysed(tmp_path, "--themes", str(own))
    assert [row["themes"] for row in rows] == ["", "Heating"]


def test_a_missing_catalogue_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """`--themes` naming a file that is not there says so in one line, with no traceback."""
    source = tmp_path / "feedback.csv"
    source.write_text(FEEDBACK, encoding="utf-8")
    missing = tmp_path / "nowhere.yaml"
    result = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--themes", str(missing), cwd=tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(missing) in lines[0]
    assert not (tmp_path / "feedback-analysed.csv").exists()


def test_a_broken_catalogue_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    """A catalogue with a mistake, by option or by setting, is named with its line, no traceback."""
    source = tmp_path / "feedback.csv"
    source.write_text(FEEDBACK, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_CATALOGUE, encoding="utf-8")
    by_option = whatmatters(
        "analyse", str(source), "--text-column", "comment", "--themes", str(broken), cwd=tmp_path
    )
    by_setting = whatmatters(
        "analyse", str(source), "--text-column", "comment", cwd=tmp_path,
        env={"WHATMATTERS_THEMES": str(broken)},
    )  # fmt: skip
    for result in (by_option, by_setting):
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"{broken}, line 5" in lines[0]
        assert "colour" in lines[0]
