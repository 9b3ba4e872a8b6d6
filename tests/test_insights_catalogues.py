"""The shipped catalogues: the NHS framework's major categories; tenant satisfaction measures."""

from insights import Analyser, shipped_catalogue

FRAMEWORK = {
    "General",
    "Staff",
    "Access to medical care & support",
    "Communication & involvement",
    "Mental Health specifics",
    "Patient journey & service coordination",
    "Medication & pain",
    "Activities",
    "Environment, equipment & catering",
    "Service location, travel & transport",
}
HEALTH = Analyser(shipped_catalogue("health"))
COUNCIL = Analyser(shipped_catalogue("council"))


def first_theme(analyser: Analyser, text: str) -> str:
    """The first theme the analysis gives an answer, or '' for none."""
    return (analyser.analyse(text).themes or ("",))[0]


def test_every_health_theme_sits_under_one_of_the_frameworks_major_categories() -> None:
    """Each health theme names a major category of the NHS framework, and all ten are used."""
    categories = {theme.category for theme in HEALTH.catalogue.themes}
    assert categories == FRAMEWORK


def test_the_care_catch_all_is_split() -> None:
    """Care as a whole, treatment, cleanliness and travel are themes of their own."""
    assert first_theme(HEALTH, "Excellent care, thank you") == "Care in general"
    assert first_theme(HEALTH, "The physio exercises helped my recovery") == "Treatment and therapy"
    assert first_theme(HEALTH, "The ward was spotless") == "Cleanliness"
    assert (
        first_theme(HEALTH, "The clinic is a long way to travel") == "Location, travel and parking"
    )
    assert first_theme(HEALTH, "Still in pain, no painkillers for hours") == "Medication and pain"


def test_the_council_catalogue_follows_tenant_satisfaction_measures() -> None:
    """Repairs, building safety, complaints, communal areas, ASB and being listened to."""
    assert first_theme(COUNCIL, "Boiler repair took six weeks") == "Repairs"
    assert first_theme(COUNCIL, "No smoke alarm in the flat") == "Building safety"
    assert first_theme(COUNCIL, "My complaint was never answered") == "Complaints handling"
    assert first_theme(COUNCIL, "The stairwell is filthy") == "Communal areas"
    assert first_theme(COUNCIL, "Nobody listens to tenants") == "Being listened to"
    assert first_theme(COUNCIL, "Drug dealing on the estate") == "Antisocial behaviour and safety"
    assert first_theme(COUNCIL, "The officer treated me with respect") == "Staff kindness"


def test_every_council_theme_has_a_category() -> None:
    """Each council theme names the wider heading it sits under."""
    assert all(theme.category for theme in COUNCIL.catalogue.themes)
