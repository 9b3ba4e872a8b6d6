"""Mixed comments: praise of one thing and criticism of another, and each theme's own tone."""

import csv
from pathlib import Path

from insights import Analyser, shipped_catalogue
from insights.csvfile import analyse_csv

HEALTH = Analyser(shipped_catalogue("health"))
COUNCIL = Analyser(shipped_catalogue("council"))


def test_praise_and_criticism_in_balance_read_mixed_and_neutral() -> None:
    """'The nurses were lovely but I waited four hours' is mixed: neutral in the three-way tone."""
    result = HEALTH.analyse("The nurses were lovely but I waited four hours")
    assert result.mixed
    assert result.tone == "neutral"


def test_each_theme_gets_the_tone_of_the_words_about_it() -> None:
    """'the staff were kind, the food was cold': Staff positive, Food negative."""
    result = HEALTH.analyse("The staff were kind, the food was cold")
    assert result.theme_tones["Staff attitude"] == "positive"
    assert result.theme_tones["Food and drink"] == "negative"
    assert list(result.theme_tones) == list(result.themes)


def test_to_what_was_good_a_fault_found_still_gives_its_theme_a_negative_tone() -> None:
    """Asked what was good, 'The staff were kind but the food was cold' is praise as a whole
    (people rate such answers so), yet Food's tone is negative: the question does not soften
    the words about it."""
    for text, fault in (
        ("The staff were kind but the food was cold", "Food and drink"),
        ("The nurses were lovely but I waited four hours", "Access and waiting"),
        ("Helpful staff but the parking was a nightmare", "Location, travel and parking"),
    ):
        result = HEALTH.analyse(text, asks_for="praise")
        assert result.tone == "positive", text
        assert result.theme_tones["Staff attitude"] == "positive", text
        assert result.theme_tones[fault] == "negative", text


def test_a_clause_without_a_theme_goes_on_about_the_one_before() -> None:
    """'The bins are never collected. Disgusting.' keeps the bins negative."""
    result = COUNCIL.analyse("The repairs team were brilliant. The bins are never emptied, awful")
    assert result.theme_tones["Repairs"] == "positive"
    assert result.theme_tones["Bins and waste"] == "negative"


def test_one_sided_comments_are_not_mixed() -> None:
    """Only praise, or only criticism, is not mixed, and every theme shares the answer's tone."""
    praise = HEALTH.analyse("Lovely nurses and lovely food")
    assert not praise.mixed
    assert set(praise.theme_tones.values()) == {"positive"}
    complaint = HEALTH.analyse("The food was awful and the ward was dirty")
    assert not complaint.mixed
    assert complaint.tone == "negative"


def test_a_small_gripe_in_warm_praise_is_not_mixed() -> None:
    """Much praise and one mild gripe leans to its side rather than reading as mixed."""
    result = HEALTH.analyse(
        "Excellent care, wonderful nurses, brilliant doctors, great physio. Parking a bit dear"
    )
    assert not result.mixed
    assert result.theme_tones[result.themes[0]] == "positive"


def test_analyse_writes_each_themes_tone(tmp_path: Path) -> None:
    """The analysed CSV has a `theme_tones` column: 'Theme: tone' for each theme, `;`-separated."""
    source = tmp_path / "in.csv"
    source.write_text('comment\n"The staff were kind, the food was cold"\n', encoding="utf-8")
    analyse_csv(source, tmp_path / "out.csv", "comment", catalogue=shipped_catalogue("health"))
    with (tmp_path / "out.csv").open(encoding="utf-8") as file:
        row = next(csv.DictReader(file))
    assert row["theme_tones"] == "Staff attitude: positive;Food and drink: negative"
