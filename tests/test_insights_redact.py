"""Redaction: personal details out, all else left exactly as written. Made-up examples only."""

import pytest

from insights import redact
from tests.pii_examples import CLEAN_MORE, PERSONAL_MORE

# Each: (answer, the placeholder that must replace the detail, the detail itself).
PERSONAL: list[tuple[str, str, str]] = [
    ("Call me on 07700 900123 please", "[phone]", "07700 900123"),
    ("my mobile is 07700900456", "[phone]", "07700900456"),
    ("ring 020 7946 0958 after 5", "[phone]", "020 7946 0958"),
    ("Number: 0113 496 0000", "[phone]", "0113 496 0000"),
    ("landline (0161) 496 0123", "[phone]", "(0161) 496 0123"),
    ("text +44 7700 900789", "[phone]", "+44 7700 900789"),
    ("call +447700900321 anytime", "[phone]", "+447700900321"),
    ("my son in Boston: +1 415 555 2671", "[phone]", "+1 415 555 2671"),
    ("reach me in Paris on +33 1 23 45 67 89", "[phone]", "+33 1 23 45 67 89"),
    ("from abroad dial 0044 20 7946 0000", "[phone]", "0044 20 7946 0000"),
    ("I rang 0800 123 4567 three times", "[phone]", "0800 123 4567"),
    ("ph 01632 960001", "[phone]", "01632 960001"),
    ("tel 0117-496-0123", "[phone]", "0117-496-0123"),
    ("call 07700-900-654 and ask for me", "[phone]", "07700-900-654"),
    ("my work number 0131 496 0999 ext 2", "[phone]", "0131 496 0999"),
    ("Please phone 07912 345678.", "[phone]", "07912 345678"),
    ("try 029 2018 0123 or my mobile", "[phone]", "029 2018 0123"),
    ("contact +353 1 234 5678 (Dublin)", "[phone]", "+353 1 234 5678"),
    ("mum's phone: 01632 960 555", "[phone]", "01632 960 555"),
    ("my number is 07700 900 111!", "[phone]", "07700 900 111"),
    ("email me at jo.bloggs@example.com", "[email]", "jo.bloggs@example.com"),
    ("J.Smith+housing@example.co.uk is mine", "[email]", "J.Smith+housing@example.co.uk"),
    ("send it to sam_o'neil@mail.example.org.", "[email]", "sam_o'neil@mail.example.org"),
    ("write to A.B@EXAMPLE.NET please", "[email]", "A.B@EXAMPLE.NET"),
    ("my email: tenant123@example.com", "[email]", "tenant123@example.com"),
    ("reply to pat-lee@council.example.gov.uk", "[email]", "pat-lee@council.example.gov.uk"),
    ("or x@y.io", "[email]", "x@y.io"),
    ("I'm at first.last@example.com, thanks", "[email]", "first.last@example.com"),
    ("mail: carer.support@example.org", "[email]", "carer.support@example.org"),
    ("my daughter is kim99@example.co.uk", "[email]", "kim99@example.co.uk"),
    ("I live at 12 Elm Road and the bins are never collected", "[address]", "12 Elm Road"),
    ("Flat 3, 4 High St, the damp is awful", "[address]", "Flat 3, 4 High St"),
    ("at 221b Baker Street", "[address]", "221b Baker Street"),
    ("outside 14-16 Mill Lane there is rubbish", "[address]", "14-16 Mill Lane"),
    ("the lamp outside 7 Acacia Avenue is out", "[address]", "7 Acacia Avenue"),
    ("number 45 Church Close has mould", "[address]", "45 Church Close"),
    ("I'm at 3 Orchard Way", "[address]", "3 Orchard Way"),
    ("come to 88 Victoria Gardens", "[address]", "88 Victoria Gardens"),
    ("Flat 12 9 Station Rd needs a repair", "[address]", "Flat 12 9 Station Rd"),
    ("my address is 101 Long Meadow Drive", "[address]", "101 Long Meadow Drive"),
    ("we are at 5 Kings Court", "[address]", "5 Kings Court"),
    ("lives at 19 st marys road", "[address]", "19 st marys road"),
    ("66 Park Terrace, ground floor", "[address]", "66 Park Terrace"),
    ("apartment 4, 2 Quay Street", "[address]", "apartment 4, 2 Quay Street"),
    ("she moved to 31 Hillside Crescent", "[address]", "31 Hillside Crescent"),
    ("postcode LS1 4AB", "[postcode]", "LS1 4AB"),
    ("in NG7 2UH there are potholes", "[postcode]", "NG7 2UH"),
    ("near SW1A 1AA", "[postcode]", "SW1A 1AA"),
    ("area M1 1AE is noisy", "[postcode]", "M1 1AE"),
    ("we're in b33 8th", "[postcode]", "b33 8th"),
    ("EC1A1BB is my code", "[postcode]", "EC1A1BB"),
    ("Leeds, LS6 2QT.", "[postcode]", "LS6 2QT"),
    ("CR2 6XH, Croydon", "[postcode]", "CR2 6XH"),
    ("card 4111 1111 1111 1111 was charged twice", "[card]", "4111 1111 1111 1111"),
    ("I paid with 5555-5555-5555-4444", "[card]", "5555-5555-5555-4444"),
    ("the number 4012888888881881 was declined", "[card]", "4012888888881881"),
    ("amex 378282246310005 please refund", "[card]", "378282246310005"),
    ("card: 6011 1111 1111 1117", "[card]", "6011 1111 1111 1117"),
    ("my NHS number is 943 476 5919", "[nhs number]", "943 476 5919"),
    ("NHS no: 401 023 2137", "[nhs number]", "401 023 2137"),
    ("tenancy ref 123456789012", "[number]", "123456789012"),
    ("account 99887766 is in arrears", "[number]", "99887766"),
]

CLEAN: list[str] = [
    "I waited 2 hours to be seen",
    "3 times a week the bins are missed",
    "in 2024 the repairs got worse",
    "Ward 12 was spotless",
    "Bed 4 was next to the window",
    "It took 45 minutes on the phone",
    "We waited 6 weeks for a call back",
    "The 10:30 appointment ran 20 minutes late",
    "I'm 84 and live alone",
    "My son is 7 years old",
    "It cost £250 to fix",
    "about 50% of the time nobody answers",
    "on the 3rd floor the lift is broken",
    "after 2 weeks the heating came back",
    "1 in 5 street lights are out",
    "Room 101 was cold",
    "The number 9 bus is always late",
    "we have 2 dogs and 3 cats",
    "I rated it 4 out of 5",
    "Seen within 15 minutes, brilliant",
    "A 5 minute walk to the park",
    "The car park was full at 9am",
    "There were only 3 car park spaces",
    "It took 2 hours on the road to get there",
    "They said 24 hours and it was 3 days",
    "I have been waiting since 12/03/2023",
    "The 2 nurses on shift were brilliant",
    "I saw Dr Patel on 5 occasions",
    "Flat roofs leak in the rain",
    "Street lights on the estate are out",
    "High Street shops are closing",
    "The A1 was closed so I was late",
    "COVID-19 made everything harder",
    "Take 2 tablets twice a day",
    "I was on a 12 hour shift",
    "Over 65s should get priority",
    "The 111 service was helpful",
    "999 took 40 minutes to arrive",
    "Around 30 people at the meeting",
    "Level 2 of the hospital has the cafe",
    "Scored 10/10 for kindness",
    "Bay 6 was noisy at night",
    "My 2 year old loved the play area",
    "We paid 1,200 pounds in council tax arrears",
    "About 100 yards from the school gate",
    "There are 4 flats in our block",
    "Saturday 9am to 5pm would be better",
    "Version 2 of the app is worse",
    "The 3 year waiting list is too long",
    "Mum is 92 and needs a ramp",
    "I've lived here 30 years",
    "2 or 3 visits a week would help",
    "Week 1 was fine, week 2 not",
    "Call centre hours should be longer",
    "They fixed it in 1 day",
    "Only 1 of the 4 lifts works",
    "It was 8 degrees in the bedroom",
    "The 7 day service is great",
    "St Mary's ward was lovely",
    "The clinic on Church Road was easy to find",
    "Please email us back, nobody replied",
    "I phoned 3 times and gave up",
    "My postcode area gets no gritting",
]


def test_there_are_enough_examples() -> None:
    """At least 60 made-up personal details and 60 clean sentences are checked."""
    assert len(PERSONAL) >= 60
    assert len(CLEAN) >= 60


@pytest.mark.parametrize(("text", "placeholder", "detail"), PERSONAL)
def test_personal_details_are_replaced(text: str, placeholder: str, detail: str) -> None:
    """Each phone number, email, address, postcode and card number becomes a placeholder."""
    redacted = redact(text)
    assert detail not in redacted
    assert placeholder in redacted


@pytest.mark.parametrize("text", CLEAN)
def test_clean_sentences_are_left_alone(text: str) -> None:
    """Times, counts, years, ward numbers and prices stay exactly as written."""
    assert redact(text) == text


def test_recall_and_clean_altered_rates() -> None:
    """Recall is at least 95 % and at most 2 % of clean sentences change (issue #5's bar)."""
    caught = sum(1 for text, _, detail in PERSONAL if detail not in redact(text))
    altered = sum(1 for text in CLEAN if redact(text) != text)
    assert caught / len(PERSONAL) >= 0.95
    assert altered / len(CLEAN) <= 0.02


def test_several_details_in_one_answer() -> None:
    """All details in one answer go, and the words around them stay."""
    text = "Call 07700 900123 or email jo@example.com, 12 Elm Road, LS1 4AB. I waited 2 hours."
    assert redact(text) == "Call [phone] or email [email], [address], [postcode]. I waited 2 hours."


def test_recall_and_precision_on_over_200_made_up_examples() -> None:
    """Over 200 made-up details: recall at least 95 %; at most 2 % of clean sentences change."""
    personal = [*PERSONAL, *PERSONAL_MORE]
    clean = [*CLEAN, *CLEAN_MORE]
    assert len(personal) >= 200
    caught = sum(1 for text, placeholder, detail in personal if detail not in redact(text))
    altered = sum(1 for text in clean if redact(text) != text)
    assert caught / len(personal) >= 0.95
    assert altered / len(clean) <= 0.02
