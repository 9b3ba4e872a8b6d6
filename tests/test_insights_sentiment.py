"""Sentiment and tone of residents' answers, read in the context of the question asked."""

from pathlib import Path

import pytest

from insights import Analyser, analyse, shipped_catalogue
from insights.lexicon import load_lexicon
from insights.sentiment import AsksFor
from insights.text import clean, stem, tokenize
from insights.yamlfile import InsightsFileError


def test_nothing_to_an_improvement_question_reads_positive() -> None:
    """'Nothing' to an improvement question reads positive."""
    for answer in ("Nothing", "nothing, all great", "Nothing at all", "No, not really"):
        result = analyse(answer, asks_for="improvement")
        assert result.tone == "positive", answer
        assert result.trivial, answer
        assert result.themes == ()


def test_a_suggestion_to_an_improvement_question_reads_negative() -> None:
    """'More staff would help' names a problem, so it reads negative."""
    assert analyse("More staff would help", asks_for="improvement").tone == "negative"
    assert analyse("Better signs to the clinic", asks_for="improvement").tone == "negative"
    assert analyse("The parking", asks_for="improvement").tone == "negative"


def test_a_request_to_an_improvement_question_reads_negative_despite_its_kind_words() -> None:
    """'Listening to my concerns' or 'staff could explain more clearly' asks for a change."""
    for answer in (
        "Listening to my concerns and explaining things clearly",
        "Staff could explain things more clearly",
        "Being patient with people who are nervous",
    ):
        assert analyse(answer, asks_for="improvement").tone == "negative", answer
    # Denied or compared, the same words say nothing needs to change; and a word in -ing that
    # praises ("Comforting and kind", "Encouraging staff") is no request.
    for answer in (
        "I don't think you could do any better",
        "More than happy with everything",
        "Caring staff, nothing to change",
        "Amazing staff",
        "Comforting and kind",
        "Encouraging staff",
    ):
        assert analyse(answer, asks_for="improvement").tone == "positive", answer


@pytest.mark.parametrize("asks_for", ["improvement", "open"])
def test_nothing_could_be_better_in_any_wording_reads_positive(asks_for: AsksFor) -> None:
    """A comparative turned round by a modal and a denial says nothing needs to change."""
    for answer in (
        "Couldn't do better.",
        "There was nothing that could have been done better.",
        "I don't think there is anything the nurse could do better.",
        "Nothing more could have been done for me",
        "You could have done nothing better.",
        "I honestly do not think that it could be improved.",
    ):
        assert analyse(answer, asks_for=asks_for).tone == "positive", answer
    # Without the denial it is a wish for something better.
    assert analyse("Would be better if the clinic opened earlier", asks_for=asks_for).tone == (
        "negative"
    )


def test_not_being_able_to_reach_the_service_reads_negative() -> None:
    """No word of "couldn't get an appointment" is a complaint, but the whole is one."""
    for answer in (
        "couldnt get an appointment for 3 weeks",
        "Can't get through on the phone",
        "Unable to book online",
        "I was not able to contact anyone",
        "could not see a doctor",
    ):
        assert analyse(answer, asks_for="open").tone == "negative", answer
    # "Could not fault" and "couldn't get better care" stay praise.
    for answer in ("Could not fault the care", "Couldn't get better care anywhere"):
        assert analyse(answer, asks_for="open").tone == "positive", answer


def test_a_request_denied_stays_a_complaint() -> None:
    """ "Could not give me more time": the "not" does not turn a wish for more into praise."""
    for answer in (
        "The doctor could not give me more time",
        "Nurses didn't have more time for me",
    ):
        assert analyse(answer, asks_for="open").tone == "negative", answer


def test_nothing_more_they_could_have_done_reads_positive() -> None:
    assert analyse("Nothing more they could have done", asks_for="open").tone == "positive"


def test_praise_given_to_an_improvement_question_stays_positive() -> None:
    """Someone who answers 'what could be better?' with praise is still praising."""
    result = analyse("The staff were all really friendly and helpful", asks_for="improvement")
    assert result.tone == "positive"


def test_no_followed_by_a_complaint_is_not_nothing_to_change() -> None:
    """'No parking spaces' is a complaint, not 'no (nothing to change)'."""
    assert analyse("No parking spaces at all", asks_for="improvement").tone == "negative"
    assert analyse("Nothing to do all day", asks_for="improvement").tone == "negative"


def test_naming_something_to_a_praise_question_reads_positive() -> None:
    """To 'what was good?', 'The food' praises the food; 'Everything!' is warm praise."""
    assert analyse("The food", asks_for="praise").tone == "positive"
    assert analyse("Everything!", asks_for="praise").sentiment > 0.5


def test_negation_turns_praise_into_criticism() -> None:
    """'Not helpful' and 'not very friendly' read negative."""
    assert analyse("Not helpful").tone == "negative"
    assert analyse("The receptionist was not very friendly").tone == "negative"
    assert analyse("Staff were never kind to my mum").tone == "negative"


def test_negation_turns_criticism_into_praise() -> None:
    """'Never rude', 'not bad' and 'no complaints' read positive."""
    assert analyse("The nurses were never rude").tone == "positive"
    assert analyse("Not bad at all").tone == "positive"
    assert analyse("No complaints, thank you").tone == "positive"


def test_a_nothing_answer_does_not_negate_the_praise_after_it() -> None:
    """'Nothing they were all so helpful' praises; 'nothing' does not turn 'helpful' round."""
    assert analyse("Nothing they were all so helpful", asks_for="improvement").tone == "positive"


def test_criticism_outweighs_politeness() -> None:
    """Several problems outweigh a polite word: the comment reads negative, not mixed."""
    result = analyse(
        "Staff were polite but I waited 4 hours, nobody told me why and the toilets were filthy"
    )
    assert result.tone == "negative"
    assert not result.mixed


def test_clear_praise_and_clear_criticism() -> None:
    """Plain praise is positive, plain criticism negative, plain facts neutral."""
    assert analyse("Brilliant service, the team went above and beyond").tone == "positive"
    assert analyse("Rude receptionist and a filthy waiting room").tone == "negative"
    assert analyse("I had a blood test on Tuesday").tone == "neutral"


def test_intensifiers_strengthen_and_softeners_weaken() -> None:
    """'Extremely helpful' reads stronger than 'helpful', 'slightly rude' milder than 'rude'."""
    assert analyse("extremely helpful").sentiment > analyse("helpful").sentiment
    assert analyse("slightly rude").sentiment > analyse("rude").sentiment


def test_emojis_count_as_sentiment() -> None:
    """An emoji says as much as a word: 👍 and 😊 lean positive, 😡 and 👎 negative."""
    assert analyse("The bin men 👍😊").tone == "positive"
    assert analyse("The bin men 😡👎").tone == "negative"


def test_an_answer_in_capitals_reads_like_one_in_lower_case() -> None:
    """ALL-CAPS typing is normalised; it is not read as shouting."""
    assert clean("THE NURSES WERE GREAT") == "The nurses were great"
    lower = analyse("the nurses were great")
    upper = analyse("THE NURSES WERE GREAT")
    assert upper.sentiment == lower.sentiment
    assert upper.themes == lower.themes


def test_clean_tidies_whitespace_and_quotes() -> None:
    """Runs of spaces and line breaks become one space; curly quotes become straight."""
    assert clean("  Staff   were\n\n kind ’n’ helpful ") == "Staff were kind 'n' helpful"


def test_contractions_are_spelled_out() -> None:
    """'couldn't', 'couldnt' and 'could not' read the same; 'could of' is 'could have'."""
    words = [t.lower for t in tokenize(clean("couldnt of been better, wasn't it"))]
    assert words[:5] == ["could", "not", "have", "been", "better"]
    assert words[-3:] == ["was", "not", "it"]
    assert analyse("Couldn't be better").tone == analyse("could not be better").tone == "positive"


def test_the_stemmer_joins_forms_of_a_word() -> None:
    """'waiting', 'waited', 'waits' share a stem; 'care' and 'car' do not."""
    assert stem("waiting") == stem("waited") == stem("waits") == "wait"
    assert stem("repairs") == stem("repaired") == "repair"
    assert stem("cared") == "care"
    assert stem("cars") == "car"
    assert stem("parking") != stem("park")


@pytest.mark.parametrize("text", ["", "   ", "...", "n/a", "N/A", "-"])
def test_empty_answers_are_trivial_and_neutral(text: str) -> None:
    """Blank and 'n/a' answers are trivial, neutral and unthemed."""
    result = analyse(text)
    assert result.trivial
    assert result.tone == "neutral"
    assert result.themes == ()


def test_sentiment_stays_in_range_and_tone_matches() -> None:
    """Sentiment is within −1..1 and tone follows its sign."""
    analyser = Analyser(shipped_catalogue("health"))
    for text in (
        "Absolutely brilliant brilliant brilliant!!! Amazing amazing staff",
        "Awful awful awful, rude, dirty, late and useless!!!",
    ):
        result = analyser.analyse(text)
        assert -1.0 <= result.sentiment <= 1.0
        assert result.tone == ("positive" if result.sentiment > 0 else "negative")


def test_key_phrases_are_the_nouns_an_answer_is_about() -> None:
    """Key phrases name things ('long wait', 'cold food'), never bare praise or names."""
    result = analyse("The long wait and the cold food were awful. Zephyrine was lovely.")
    assert "long wait" in result.key_phrases
    assert "cold food" in result.key_phrases
    assert not any("zephyrine" in phrase for phrase in result.key_phrases)


def test_lexicon_mistakes_are_explained_with_their_line(tmp_path: Path) -> None:
    """A lexicon file with an unknown section or a score out of range names the line."""
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("words:\n  grand: 0.5\nwordz:\n  dreadful: -1\n", encoding="utf-8")
    with pytest.raises(InsightsFileError, match='"wordz" is not a lexicon field') as caught:
        load_lexicon(unknown)
    assert caught.value.line == 3
    out_of_range = tmp_path / "range.yaml"
    out_of_range.write_text("words:\n  grand: 0.5\n  dreadful: -3\n", encoding="utf-8")
    with pytest.raises(InsightsFileError, match=r"scores go from -1\.0 to 1\.0") as caught:
        load_lexicon(out_of_range)
    assert caught.value.line == 3


def test_a_custom_lexicon_changes_the_reading(tmp_path: Path) -> None:
    """Admins can add their own words: a local word for 'brilliant' then reads positive."""
    custom = tmp_path / "lexicon.yaml"
    custom.write_text("words:\n  mint: 0.9\n", encoding="utf-8")
    plain = Analyser(shipped_catalogue("council"))
    local = Analyser(shipped_catalogue("council"), lexicon=load_lexicon(custom))
    assert plain.analyse("The new bin service is mint").tone == "neutral"
    assert local.analyse("The new bin service is mint").tone == "positive"
