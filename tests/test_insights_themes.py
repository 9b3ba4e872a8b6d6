"""Theme catalogues: loading admins' YAML, finding themes in answers, and spotting new topics."""

from collections import Counter
from pathlib import Path

import pytest

from insights import (
    Analyser,
    CatalogueError,
    Theme,
    ThemeCatalogue,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)
from insights.digest import emerging_phrases
from insights.text import clean, tokenize

SMALL = """\
name: Test estate
themes:
  - name: Waiting
    description: Waiting for things.
    keywords: [wait, queue]
    phrases: [on hold]
  - name: Bins
    keywords: [bin]
    synonyms: [wheelie, binmen]
"""


def themes_of(catalogue: ThemeCatalogue, text: str) -> tuple[str, ...]:
    return catalogue.find(tokenize(clean(text)))


@pytest.mark.parametrize("pack", ["council", "health"])
def test_shipped_catalogues_load(pack: str) -> None:
    """Both shipped packs load, have named, described themes, and each theme can be found."""
    catalogue = shipped_catalogue(pack)  # type: ignore[arg-type]
    assert len(catalogue.themes) >= 10
    for theme in catalogue.themes:
        assert theme.name
        assert theme.description
        probe = (theme.keywords + theme.phrases + theme.synonyms)[0]
        assert theme.name in themes_of(catalogue, probe), theme.name


def test_keywords_match_any_form_of_the_word() -> None:
    """A keyword 'wait' finds 'waiting', 'waited' and 'waits'."""
    catalogue = parse_catalogue(SMALL)
    for text in ("Waiting ages", "I waited", "the waits are long", "long queues"):
        assert themes_of(catalogue, text) == ("Waiting",), text


def test_phrases_and_synonyms_match() -> None:
    """Phrases match words in a row; synonyms match exactly as written."""
    catalogue = parse_catalogue(SMALL)
    assert themes_of(catalogue, "I was on hold for an hour") == ("Waiting",)
    assert themes_of(catalogue, "the binmen never came") == ("Bins",)
    assert themes_of(catalogue, "held on the line") == ()


def test_an_answer_can_have_several_themes_led_by_its_opening_topic() -> None:
    """Several themes are allowed; the first is the one the answer opens with."""
    catalogue = parse_catalogue(SMALL)
    assert themes_of(catalogue, "Bins left out, and a long wait on hold") == ("Bins", "Waiting")
    assert themes_of(catalogue, "A long wait to report the bin, binmen never came") == (
        "Waiting",
        "Bins",
    )


def test_a_theme_named_once_in_passing_is_not_added() -> None:
    """After the first theme, another needs two of its words or a phrase, not one in passing."""
    catalogue = parse_catalogue(SMALL)
    assert themes_of(catalogue, "Bins left out, I had a wait") == ("Bins",)


def test_council_pack_reads_typical_answers() -> None:
    """The council pack sorts everyday answers into the themes staff expect."""
    council = shipped_catalogue("council")
    assert themes_of(council, "Black mould in the bedroom again")[0] == "Damp and mould"
    assert themes_of(council, "Bins weren't collected for three weeks")[0] == "Bins and waste"
    assert themes_of(council, "The street lights on our road are out")[0] == "Streets and lighting"
    assert themes_of(council, "Still waiting for the boiler repair")[0] in (
        "Repairs",
        "Contact and waiting times",
    )
    assert (
        themes_of(council, "I feel so lonely since my husband died")[0]
        == "Loneliness and wellbeing"
    )


def test_a_phrase_leads_over_a_word_inside_it() -> None:
    """'Walk in centre' opens Access and waiting, not the walks of Activities and groups; the
    council's 'bin store' is a communal area before it is a bin."""
    health, council = shipped_catalogue("health"), shipped_catalogue("council")
    assert themes_of(health, "got seen quick at the walk in centre")[0] == "Access and waiting"
    assert themes_of(council, "rats in the bin store again")[0] == "Communal areas"


def test_council_pack_needs_words_about_damp_homes_not_cold_wet_or_black_alone() -> None:
    """'The food was cold', wet weather and a black bin are not damp; a cold flat and wet walls
    are."""
    council = shipped_catalogue("council")
    for text in ("The food was cold", "Wet weather and the bus never came", "Black bin missed"):
        assert "Damp and mould" not in themes_of(council, text), text
    for text in ("Cold flat, the windows don't close", "The walls are wet in every room"):
        assert themes_of(council, text)[0] == "Damp and mould", text


def test_health_pack_reads_typical_answers() -> None:
    """The health pack sorts everyday answers into the themes staff expect."""
    health = Analyser(shipped_catalogue("health"))
    assert health.analyse("The food was cold").themes[0] == "Food and drink"
    assert health.analyse("Nurses were so kind and caring").themes[0] == "Staff attitude"
    assert (
        health.analyse("Nobody explained what was happening").themes[0]
        == "Communication and information"
    )
    assert health.analyse("Discharge took all day").themes[0] == "Discharge and joined-up care"


def test_praise_naming_no_part_of_the_service_is_about_all_of_it() -> None:
    """Only praise, and no part of the service named: the catalogue's whole-service theme."""
    health = Analyser(shipped_catalogue("health"))
    assert health.analyse("Really helpful and easy to talk to.").themes == ("Care in general",)
    assert health.analyse("So pleased, very helpful.").themes == ("Care in general",)
    # A part named keeps its own theme; criticism, or no opinion at all, names no whole.
    assert health.analyse("Very helpful reception desk").themes[0] == "Staff attitude"
    assert health.analyse("Helpful but a bit disappointing.").themes == ()
    assert health.analyse("I came on a Tuesday.").themes == ()
    # A catalogue that marks no theme for the whole service gives praise alone no theme.
    assert Analyser(parse_catalogue(SMALL)).analyse("Very helpful.").themes == ()


def test_trivial_answers_get_no_theme() -> None:
    """'Nothing' and 'n/a' are counted but never themed."""
    analyser = Analyser(shipped_catalogue("council"))
    for text in ("Nothing", "n/a", "No, all good thanks"):
        assert analyser.analyse(text).themes == ()


def test_emerging_themes_are_frequent_phrases_no_theme_covers() -> None:
    """Phrases that keep coming up in unthemed answers are reported, most frequent first."""
    catalogue = parse_catalogue(SMALL)
    answers = [
        ("The dog fouling near the school is getting worse", ()),
        ("Dog fouling everywhere", ()),
        ("So much dog fouling by the school gates", ()),
        ("Electric scooters on the pavement", ()),
        ("Electric scooters again", ()),
        ("Nothing", ()),
        ("Long wait for the bin", ("Waiting", "Bins")),
        ("Long wait for the bin", ("Waiting", "Bins")),
        ("Long wait for the bin", ("Waiting", "Bins")),
    ]
    # As stored at ingest: each unthemed answer's key phrases, counted once per answer.
    analyser = Analyser(catalogue)
    unthemed: Counter[str] = Counter()
    for text, themes in answers:
        if not themes:
            unthemed.update(set(analyser.key_phrases(text)))
    unthemed["long wait"] += 5  # a phrase the catalogue covers is never "emerging"
    found = dict(emerging_phrases(unthemed, catalogue.covers, min_count=2))
    assert found["dog fouling"] == 3
    assert found["electric scooters"] == 2
    assert not any("wait" in phrase or "bin" in phrase for phrase in found)
    assert dict(emerging_phrases(unthemed, catalogue.covers, min_count=3)) == {"dog fouling": 3}


def test_a_catalogue_can_be_built_in_code() -> None:
    """A catalogue made from Theme objects works like one read from YAML."""
    catalogue = ThemeCatalogue([Theme("Noise", keywords=("noise", "loud"))], name="Tiny")
    assert themes_of(catalogue, "Loud music every night") == ("Noise",)
    assert catalogue.covers("noisy neighbours") is False
    assert catalogue.covers("loud parties") is True


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, "empty"),
        ("- just\n- a list\n", 1, "set of fields"),
        ("name: X\n", 1, "themes"),
        (
            "themes:\n  - name: A\n    keywords: [a]\n  - name: A\n    keywords: [b]\n",
            4,
            "already named on line 2",
        ),
        ("themes:\n  - name: A\n    keywrods: [a]\n", 3, 'did you mean "keywords"'),
        ("themes:\n  - name: A\n    keywords: wait\n", 3, "should be a list"),
        ("themes:\n  - name: A\n    keywords: [a, 3]\n", 3, "item 2"),
        ("themes:\n  - name: A\n    description: nothing to find\n", 2, "no keywords"),
        ("themes:\n  - keywords: [a]\n", 2, "needs a name"),
        ("themes:\n  - name: A\n    keywords: [a\n", 4, "not valid YAML"),
        ("themes:\n\t- name: A\n", 2, "tab"),
        ("themes:\n  - name: A\n    keywords: [a]\n    whole_service: yes please\n", 4, "true or"),
        (
            "themes:\n  - name: A\n    keywords: [a]\n    whole_service: true\n"
            "  - name: B\n    keywords: [b]\n    whole_service: true\n",
            7,
            "mark one theme only",
        ),
    ],
)
def test_catalogue_mistakes_are_explained_with_their_line(
    text: str, line: int | None, words: str
) -> None:
    """Each mistake in a catalogue file names its line and says what is wrong in plain words."""
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(text, "themes.yaml")
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith("themes.yaml")


def test_catalogue_files_that_cannot_be_read(tmp_path: Path) -> None:
    """A missing file or one that is not UTF-8 is refused with a plain reason."""
    with pytest.raises(CatalogueError, match="cannot read it"):
        load_catalogue(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("themes:\n  - name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(CatalogueError, match="not UTF-8") as caught:
        load_catalogue(bad)
    assert caught.value.line == 2


def test_catalogue_file_round_trip(tmp_path: Path) -> None:
    """A catalogue written to a file loads with the admin's themes in order."""
    path = tmp_path / "estate.yaml"
    path.write_text(SMALL, encoding="utf-8")
    catalogue = load_catalogue(path)
    assert catalogue.name == "Test estate"
    assert catalogue.names == ("Waiting", "Bins")
    assert catalogue.themes[1].synonyms == ("wheelie", "binmen")
