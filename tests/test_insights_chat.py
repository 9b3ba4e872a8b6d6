"""Comments written the way residents type in a chat: normalised, then read like any other."""

import pytest

from insights import Analyser, Tone, shipped_catalogue
from insights.text import clean, tokenize
from tests.chat_examples import CHAT_COMMENTS

COUNCIL = Analyser(shipped_catalogue("council"))


def words(text: str) -> list[str]:
    """The words the analysis reads in a text."""
    return [token.lower for token in tokenize(clean(text)) if token.kind == "word"]


def test_text_speak_is_said_in_full() -> None:
    """'ppl', 'nite', 'wks', 'no1', 'u' and 'cant' are read as the words they stand for."""
    assert words("ppl dealing every nite") == ["people", "dealing", "every", "night"]
    assert words("lift broke 3 wks no1 came") == ["lift", "broke", "weeks", "nobody", "came"]
    # "No one", however typed, reads as "nobody": what it turns round follows it.
    assert words("no one cleans the stairs") == words("nobody cleans the stairs")
    assert words("cant u sort it") == ["can", "not", "you", "sort", "it"]
    assert words("wont b4 thx") == ["will", "not", "before", "thanks"]


def test_held_down_letters_and_repeated_punctuation_are_calmed() -> None:
    """'soooo goood!!!' reads as 'so good', with one clause break."""
    tokens = tokenize(clean("soooo goood!!!"))
    assert [t.lower for t in tokens] == ["so", "good", "!!!"]
    assert tokens[-1].kind == "stop"


@pytest.mark.parametrize(("comment", "theme", "tone"), CHAT_COMMENTS)
def test_chat_style_comments_get_their_theme_and_tone(comment: str, theme: str, tone: Tone) -> None:
    """A comment typed chat-style gets the theme and tone a person would give it."""
    result = COUNCIL.analyse(comment)
    assert result.themes[:1] == (theme,), result.themes
    assert result.tone == tone


def test_a_theme_needs_the_words_that_make_it() -> None:
    """A repair that took weeks is Repairs, not contact, just because someone waited."""
    assert COUNCIL.analyse("lift broke 3 wks no1 came").themes == ("Repairs",)
    assert COUNCIL.analyse("waited 6 weeks for the boiler repair").themes == ("Repairs",)
    # Neighbours are reported too: that is not a repair.
    assert COUNCIL.analyse(
        "noisy neighbours every wkend, reported it 4 times nothing done"
    ).themes == ("Antisocial behaviour and safety",)


def test_a_loose_word_does_not_make_a_theme() -> None:
    """'It's fine' is not about fines, and 'nobody cares' is not about health and social care."""
    assert COUNCIL.analyse("its fine").themes == ()
    assert "Health and GP access" not in COUNCIL.analyse("nobody cares about this estate").themes
    assert COUNCIL.analyse("i got fined for putting my bin out early").themes[:1] == (
        "Money and council tax",
    )
    # Lovely neighbours are not staff; a youth club is not anti-social behaviour.
    assert "Staff kindness" not in COUNCIL.analyse("lovely neighbours, quiet street").themes
    assert COUNCIL.analyse("the youth club is brill").themes == ("Community and facilities",)
    assert COUNCIL.analyse("absolute joke").tone == "negative"
    # A good job is not a repair job.
    assert COUNCIL.analyse("u do a good job", asks_for="improvement").themes == ()


def test_cant_think_of_owt_is_unsure_as_cant_think_of_anything_is() -> None:
    """'owt' is said in full ('anything'), so the answer is a non-answer the issue reads as
    unsure: neutral."""
    result = COUNCIL.analyse("cant think of owt", asks_for="improvement")
    assert (result.non_answer, result.tone) == ("unsure", "neutral")


def test_a_word_in_passing_does_not_add_a_theme() -> None:
    """'outside the shops' places a complaint about dealing; it is not about the shops."""
    assert COUNCIL.analyse("ppl dealing outside the shops every nite").themes == (
        "Antisocial behaviour and safety",
    )


def test_patients_chat_style_complaints_get_their_theme_and_tone() -> None:
    """Health service chat: "appt" and "meds" said in full, "a nightmare" and a line "always
    engaged" read as the complaints they are."""
    health = Analyser(shipped_catalogue("health"))
    for comment, theme in (
        ("cant get a gp appt for love nor money", "Access and waiting"),
        ("parking at the hospital is a nightmare", "Location, travel and parking"),
        ("ran out of my meds and nobody rang back", "Medication and pain"),
        ("no1 told me what was happening", "Communication and information"),
        ("discharge took all day", "Discharge and joined-up care"),
        ("parking costs a fortune", "Location, travel and parking"),
        ("no privacy on the ward", "Dignity, privacy and respect"),
        ("phone line always busy", "Access and waiting"),
        ("nurse made me feel like a nuisance", "Staff attitude"),
        ("pharmacy always out of stock of my meds", "Medication and pain"),
        ("discharged with no info on what to do next", "Discharge and joined-up care"),
        ("car park machines never work", "Location, travel and parking"),
        ("the staff r run off their feet", "Staff attitude"),
    ):
        read = health.analyse(comment, asks_for="open")
        assert (read.tone, read.themes[:1]) == ("negative", (theme,)), comment
    assert health.analyse("phone line always engaged", asks_for="open").tone == "negative"
    assert health.analyse("nobody checked on me all night", asks_for="open").tone == "negative"


def test_both_sides_at_once_and_people_named_by_their_job() -> None:
    """'Good and bad' is neither praise nor complaint; 'cleaner on ward 5 was a star' praises a
    cleaner, it does not ask for a cleaner ward."""
    health = Analyser(shipped_catalogue("health"))
    assert health.analyse("good and bad", asks_for="open").tone == "neutral"
    assert health.analyse("cleaner on ward 5 was a star", asks_for="open").tone == "positive"
    assert health.analyse("Cleaner toilets", asks_for="open").tone == "negative"


def test_patients_name_the_staff_they_praise() -> None:
    """A consultant or a surgeon is staff: praise of them is not praise of care in general."""
    health = Analyser(shipped_catalogue("health"))
    for comment in ("the consultant was brilliant", "my surgeon was so reassuring"):
        assert health.analyse(comment, asks_for="open").themes[:1] == ("Staff attitude",), comment
