"""Safeguarding signals: risk found in residents' own words, idioms left alone, kind signposting.

Every example sentence here is made up. The real feedback in shared/data is read, never copied.
"""

import csv
import re
import time
from pathlib import Path

import pytest

from insights import (
    SafeguardingError,
    SafeguardingList,
    Signal,
    load_safeguarding,
    parse_safeguarding,
    shipped_safeguarding,
)
from insights.safeguarding import FILLER_WORDS, SHIPPED_SAFEGUARDING

REPO = Path(__file__).resolve().parent.parent
FULL_FEEDBACK = REPO.parent / "shared" / "data" / "nhs_fft_phase1.csv"
SAMPLE_FEEDBACK = REPO / "tests" / "data" / "nhs_fft_sample.csv"  # made up; see its README
CATEGORIES = ("self-harm", "abuse", "child-at-risk", "unsafe-at-home", "medical-emergency")


def categories(text: str, safeguarding: SafeguardingList | None = None) -> tuple[str, ...]:
    return tuple(s.category for s in (safeguarding or shipped_safeguarding()).find(text))


# --- The shipped list ---------------------------------------------------------------------------


def test_shipped_list_has_the_five_categories_with_labels_and_helplines() -> None:
    safeguarding = shipped_safeguarding()
    assert tuple(c.name for c in safeguarding.categories) == CATEGORIES
    for category in safeguarding.categories:
        assert category.label
        assert len(category.phrases) >= 10, category.name
    contacts = " ".join(h.contact for h in safeguarding.helplines)
    for number in ("999", "116 123", "111", "0808 2000 247", "0808 800 5000", "85258"):
        assert number in contacts
    assert shipped_safeguarding() is safeguarding


def test_shipped_file_explains_the_small_words_it_skips() -> None:
    """The admins' guide at the top of the YAML names exactly the filler words the code skips."""
    header = SHIPPED_SAFEGUARDING.read_text(encoding="utf-8").split("categories:")[0]
    listed = header.split("The small words are:")[1].split("A negation")[0]
    assert set(re.findall(r"[a-z]+", listed)) == FILLER_WORDS


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Sometimes I just want to die", "self-harm"),
        ("I've thought about killing myself", "self-harm"),
        ("I want to end it all", "self-harm"),
        ("Everyone would be better off without me", "self-harm"),
        ("I feel like there's no reason to live", "self-harm"),
        ("I have been self harming again", "self-harm"),
        ("I took an overdose last month", "self-harm"),
        ("I feel suicidal most days", "self-harm"),
        ("My husband hits me when he drinks", "abuse"),
        ("He punched me in the face", "abuse"),
        ("my partner threatened to kill me", "abuse"),
        ("He controls my money and my phone", "abuse"),
        ("I was sexually assaulted last year", "abuse"),
        ("she won't let me see my friends", "abuse"),
        ("I'm living with domestic violence", "abuse"),
        ("The child next door is being hurt, I can hear it", "child-at-risk"),
        ("Her boyfriend hits the kids", "child-at-risk"),
        ("They leave the children home alone all weekend", "child-at-risk"),
        ("those kids are neglected, no food in the house", "child-at-risk"),
        ("I'm scared of my partner", "unsafe-at-home"),
        ("I'm afraid to go home tonight", "unsafe-at-home"),
        ("I don't feel safe at home", "unsafe-at-home"),
        ("I'm walking on eggshells all the time", "unsafe-at-home"),
        ("I've got chest pain right now", "medical-emergency"),
        ("my dad can't breathe", "medical-emergency"),
        ("I think mum is having a stroke", "medical-emergency"),
        ("He collapsed in the kitchen", "medical-emergency"),
        ("she's unconscious", "medical-emergency"),
        ("I took too many pills", "medical-emergency"),
        ("She passed out in the kitchen and won't wake up", "medical-emergency"),
        ("My husband is going to kill me", "abuse"),
    ],
)
def test_each_category_is_found_in_typical_wording(text: str, category: str) -> None:
    assert categories(text) == (category,)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # other forms of the words
        ("He wanted to die", "self-harm"),
        ("he kept beating me", "abuse"),
        ("My stepdad is hitting me", "abuse"),
        ("my ex keeps threatening to kill me", "abuse"),
        ("she has collapsed", "medical-emergency"),
        ("I cut myself", "self-harm"),
        ("I've been cutting myself", "self-harm"),
        # contractions, with and without the apostrophe, and spelled out
        ("I cant go on", "self-harm"),
        ("I cannot go on", "self-harm"),
        ("I can’t go on like this", "self-harm"),
        ("dont want to live", "self-harm"),
        ("I dont want to live anymore", "self-harm"),
        ("i dont feel safe at home", "unsafe-at-home"),
        ("Im scared of my husband", "unsafe-at-home"),
        # capitals and punctuation
        ("I WANT TO DIE", "self-harm"),
        ("Kill. Myself.", ()),  # a full stop breaks a phrase
        ("want to die!!!", "self-harm"),
        ("'I want to die', that's how I feel", "self-harm"),
        ("he... hits me", ()),
        ("self-harm", "self-harm"),
        # a small word in between
        ("I want to just die", "self-harm"),
        ("I really, really want to die", "self-harm"),
        ("my husband really hits me", "abuse"),
        ("my partner has hit me", "abuse"),
        ("I want to not die", ()),
        ("I want to go and die", ()),  # "go" is not a small word: no guessing beyond the list
    ],
)
def test_variants_of_the_same_words_are_found(text: str, category: str | tuple[()]) -> None:
    assert categories(text) == ((category,) if isinstance(category, str) else ())


# --- Negation, both ways ------------------------------------------------------------------------


def test_an_ordinary_phrase_counts_even_when_negated() -> None:
    """Someone who writes "I don't want to die" is still thinking about it."""
    assert categories("I don't want to die") == ("self-harm",)
    assert categories("I'm not going to kill myself, don't worry") == ("self-harm",)
    assert categories("It's not that my husband hits me, he just shouts") == ("abuse",)


@pytest.mark.parametrize(
    "text",
    [
        "I don't feel safe at home",
        "I never feel safe at home",
        "I have never felt safe at home",
        "I do not really feel safe at home",
        "I'm not safe at home",
        "I no longer feel safe in my own home",
        "I can't feel safe at home any more",
        "Honestly I don't feel safe living with him",
    ],
)
def test_safe_at_home_counts_only_when_negated(text: str) -> None:
    assert categories(text) == ("unsafe-at-home",)


@pytest.mark.parametrize(
    "text",
    [
        "I feel safe at home",
        "I feel safe at home now the new locks are fitted",
        "Thanks to the carers I feel safe in my own home",
        "The repairs were not great, but I feel safe at home",
        "It's not perfect. I feel safe at home though",
        "I want to live somewhere with a garden",
        "I don't want to live here anymore, the damp is terrible",
        "I wouldn't want to live in that tower block",
    ],
)
def test_without_a_negation_these_are_not_signals(text: str) -> None:
    assert categories(text) == ()


# --- Idioms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The chocolate cake was to die for",
        "I'm dying to see the new library",
        "my back is killing me",
        "the traffic is a nightmare",
        "This queue is killing me",
        "I was killing myself laughing at the panto",
        "I'd kill for a parking space near the flats",
        "We were bored to death at the consultation",
        "He beat me to it and reported the pothole first",
        "You take your life in your hands crossing that road",
        "I nearly had a heart attack when I saw the council tax bill",
        "I fell and hurt myself on the broken paving slab",
        "I can't go on the bus with my wheelchair",
        "We can't go on holiday because of the cost of living",
        "I can't breathe for the mould in the bedroom",
        "The ceiling collapsed in the bathroom",
        "The garden wall is collapsing",
        "My mum had a stroke last year and needs a ramp",
        "A car nearly hit my son outside the school",
        "The stress of this is going to kill me",
        "I'm scared to go home in the dark because the street lights are out",
        "Staff need unconscious bias training",
        "Leaflets were passed out at the meeting",
        "I can't carry on paying this rent",
        "My son is struggling to breathe with the mould",
        "The cuts will hurt our children",
        "The rent takes all my money",
        "My mum was having a fit about the bins",
        "The nurse helped me when I was faint",
    ],
)
def test_everyday_idioms_and_literal_uses_are_not_signals(text: str) -> None:
    assert categories(text) == ()


def test_an_idiom_hides_only_the_words_it_overlaps() -> None:
    text = "The cake was to die for. Honestly though I want to die"
    assert categories(text) == ("self-harm",)


# --- Ordinary feedback --------------------------------------------------------------------------

ORDINARY = [
    "The bins haven't been collected for three weeks",
    "Still waiting for the boiler repair, it's been a month",
    "Black mould in the bedroom again, the damp is awful",
    "Parking on our street is impossible after 6pm",
    "It took two weeks to get a GP appointment",
    "The receptionist was rude and hung up on me",
    "Street lights on Elm Road have been out since October",
    "Potholes everywhere, my car tyre was damaged",
    "The nurses were lovely and explained everything",
    "Fly-tipping behind the shops is getting worse",
    "My neighbour's dog barks all night",
    "The lift in our block keeps breaking down",
    "I waited four hours in A&E with my son's broken arm",
    "Please fix the leaking roof before winter",
    "More benches in the park would help older people",
    "The library should open on Sundays",
    "Great service, the repair man was on time and tidy",
    "The council tax went up again and nothing improved",
    "Youths hanging around the car park at night make me nervous",
    "I'd like more bus routes to the hospital",
    "The heating doesn't work and my kids are cold",
    "Nobody answers the phone at the housing office",
    "The doctor listened and changed my medication",
    "There's dog mess all over the pavement",
    "Recycling was missed again this week",
    "The new play area is brilliant, the kids love it",
    "Cold flat, windows don't close properly",
    "I had to chase my referral three times",
    "Children's centre closing would hurt local families",
    "The noise from the pub next door is unbearable",
    "My mum died in the hospice and the staff were wonderful",
    "The waiting list for a council house is far too long",
    "I feel much safer since the CCTV went up",
    "The stairs are a death trap when it ices over",
    "Speeding cars outside the school are dangerous for the children",
    "My dad was left alone on the ward without a drink for hours",
    "The contractor left the job half finished",
    "I can't get through to the surgery at 8am",
    "It's killing the high street, all these empty shops",
    "Kids are left to play in the road because there's no park",
]


def test_ordinary_council_and_health_feedback_has_no_signals() -> None:
    flagged = {text: categories(text) for text in ORDINARY if categories(text)}
    assert flagged == {}


def test_real_feedback_is_rarely_flagged() -> None:
    """Over NHS feedback, only a small share of answers carries a signal.

    The real set (shared/data) when it is on the machine, else the made-up sample in tests/data.
    What is flagged in the real set is mostly mental-health feedback naming suicide or self-harm,
    which a safeguarding lead would want to read.
    """
    full = FULL_FEEDBACK.is_file()
    feedback = FULL_FEEDBACK if full else SAMPLE_FEEDBACK
    safeguarding = shipped_safeguarding()
    total = flagged = 0
    with feedback.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("feedback") or "").strip()
            if not text:
                continue
            total += 1
            flagged += bool(safeguarding.find(text))
            if total >= 20_000:
                break
    assert total > (5_000 if full else 250)
    assert flagged / total < 0.005, f"{flagged} of {total} answers flagged"


# --- find ---------------------------------------------------------------------------------------


def test_find_gives_one_signal_per_category_in_text_order() -> None:
    text = (
        "My husband hits me and he hits the kids. He beat me up again. "
        "I want to die. I really want to die, I can't go on."
    )
    signals = shipped_safeguarding().find(text)
    assert [s.category for s in signals] == ["abuse", "child-at-risk", "self-harm"]
    assert signals[0] == Signal(
        category="abuse",
        label="Abuse or violence",
        phrase=signals[0].phrase,
    )
    assert signals[2].phrase == "want to die"
    assert shipped_safeguarding().find("") == ()


def test_find_works_on_very_long_answers_and_is_fast() -> None:
    safeguarding = shipped_safeguarding()
    filler = "The repairs took ages and the bins were missed again. " * 200
    assert len(filler) > 10_000
    assert safeguarding.find(filler) == ()
    assert categories(filler + "I want to die", safeguarding) == ("self-harm",)
    answer = ORDINARY[0] + ". " + " ".join(ORDINARY)
    answer = answer[:1000]
    safeguarding.find(answer)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        safeguarding.find(answer)
    per_answer = (time.perf_counter() - start) / runs
    assert per_answer < 0.005, f"{per_answer * 1000:.2f} ms per 1,000-character answer"


# --- Signposting --------------------------------------------------------------------------------

NEVER_SAY = ("flag", "detect", "report", "alert", "monitor", "{", "}", "<", ">")


def test_signposting_in_hours_lists_helplines_kindly() -> None:
    message = shipped_safeguarding().signposting(out_of_hours=False)
    for helpline in shipped_safeguarding().helplines:
        assert helpline.contact in message
    assert "999" in message
    assert "today" in message
    for word in NEVER_SAY:
        assert word not in message.lower(), word


def test_signposting_out_of_hours_says_when_the_office_reopens() -> None:
    safeguarding = shipped_safeguarding()
    message = safeguarding.signposting(out_of_hours=True, reopens="Monday at 09:00")
    assert "closed" in message
    assert "Monday at 09:00" in message
    assert "999" in message
    for helpline in safeguarding.helplines:
        assert helpline.line() in message
    for word in NEVER_SAY:
        assert word not in message.lower(), word
    unknown = safeguarding.signposting(out_of_hours=True)
    assert "the next working day" in unknown
    assert "{" not in unknown


# --- Loading a list an admin wrote --------------------------------------------------------------

SMALL = """\
categories:
  - name: self-harm
    label: Self-harm
    phrases:
      - want to die
  - name: home
    label: Not safe at home
    only_when_negated:
      - safe at home
exceptions:
  - to die for
signposting:
  in_hours: "We are here. {helplines}"
  out_of_hours: "We open {reopens}. {helplines}"
helplines:
  - name: Samaritans
    contact: 116 123
    when: any time
  - name: Emergency
    contact: 999
"""


def test_an_admins_own_list_loads_and_finds(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SMALL, encoding="utf-8")
    safeguarding = load_safeguarding(path)
    assert categories("I want to die", safeguarding) == ("self-harm",)
    assert categories("I'm not safe at home", safeguarding) == ("home",)
    assert categories("I am safe at home", safeguarding) == ()
    assert safeguarding.helplines[1].contact == "999"
    message = safeguarding.signposting(out_of_hours=True, reopens="Tuesday at 08:30")
    assert message == (
        "We open Tuesday at 08:30. • Samaritans: 116 123 (any time)\n• Emergency: 999"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("    label: Self-harm\n", "    lable: Self-harm\n", 3, ['"lable"', '"label"']),
        ("      - want to die\n", '      - ""\n', 5, ["phrase"]),
        ("      - want to die\n", "      - just really so\n", 5, ["filler"]),
        ("      - want to die\n", "      - want to die|\n", 5, ["empty choice"]),
        ("      - want to die\n", "      - can't|won't go on\n", 5, ["single word"]),
        ("      - safe at home\n", "      - not safe at home\n", 9, ["negation"]),
        ("    phrases:\n      - want to die\n", "", 2, ["no phrases"]),
        ("  - name: home\n", "  - name: self-harm\n", 6, ["line 2"]),
        ("  - name: home\n", "  - name: Not Safe\n", 6, ["lowercase"]),
        ('"We are here. {helplines}"', '"We are here."', 13, ["{helplines}"]),
        ('"We open {reopens}. {helplines}"', '"We open. {helplines}"', 14, ["{reopens}"]),
        ('"We are here. {helplines}"', '"Open {reopens} {helplines}"', 13, ["{reopens}"]),
        ("    contact: 999\n", "", 19, ['"contact:"']),
        ("signposting:\n", "signpost:\n", 12, ['"signposting"']),
    ],
)
def test_mistakes_in_the_yaml_name_the_line_and_field(
    old: str, new: str, line: int, words: list[str]
) -> None:
    assert old in SMALL
    with pytest.raises(SafeguardingError) as raised:
        parse_safeguarding(SMALL.replace(old, new, 1), "mine.yaml")
    error = raised.value
    assert error.source == "mine.yaml"
    assert error.line == line, str(error)
    for word in words:
        assert word in error.message, str(error)
    assert str(error).startswith(f"mine.yaml, line {line}: ")


def test_a_file_that_is_not_a_safeguarding_list_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(SafeguardingError, match="empty"):
        parse_safeguarding("")
    with pytest.raises(SafeguardingError, match="tab"):
        parse_safeguarding("categories:\n\t- name: x\n")
    with pytest.raises(SafeguardingError, match="cannot read"):
        load_safeguarding(tmp_path / "missing.yaml")
