"""More made-up personal details and clean sentences, to measure redaction at scale.

Every number, name and address here is invented (Ofcom's drama numbers, example.com/.org).
"""

from __future__ import annotations

_PHONES = [
    "07700 900123", "07700900456", "07700-900-789", "+44 7700 900321", "+447700900654",
    "0044 7700 900987", "(07700) 900111", "020 7946 0123", "0207 946 0456", "0113 496 0789",
    "0161 496 0222", "0121 496 0333", "01632 960111", "01632 960 222", "+44 20 7946 0999",
    "+44 (0)113 496 0555", "0117 496 0666", "029 2018 0777", "0131 496 0888", "028 9018 0111",
    "+1 202 555 0147", "+33 1 70 36 34 12", "+49 30 901820", "+353 1 555 0123",
    "+61 2 9999 0000", "07700 900 444", "07 700 900 555", "0800 160 0777", "0300 123 0999",
    "0345 600 0123",
]  # fmt: skip
_PHONE_SENTENCES = [
    "Please ring me on {} about the repair",
    "my number is {} if anyone wants to talk",
]
_EMAILS = [
    "jo.bloggs@example.com", "sam_k@example.org", "a.n.other@example.co.uk", "ruth99@example.net",
    "mike+housing@example.com", "Priya.Shah@Example.com", "tenant.rep@example.org.uk",
    "x@example.io", "first-last@example.com", "old.man.river@example.co.uk",
    "dave@mail.example.com", "jan_2@example.org", "c.evans@example.gov.uk", "bee@example.uk",
    "kim.lee@example.ac.uk", "info@example-housing.org", "noreply@example.com",
    "zoe.b@example.com", "a1b2c3@example.net", "harry.potter@example.org",
]  # fmt: skip
_EMAIL_SENTENCES = ["email me at {} please", "You can reach me on {}."]
_ADDRESSES = [
    "12 Elm Road", "4 High Street", "221b Baker Street", "7 Mill Lane", "15 Church Close",
    "3 Station Avenue", "42 Park Drive", "9 Queens Crescent", "101 London Road",
    "18 Victoria Terrace", "Flat 3, 27 Oak Way", "6 Meadow View", "33 Kings Gardens",
    "2 Willow Court", "58 Manor Place", "11 Bridge Street", "5a Green Lane", "76 Hill Rise",
    "14-16 Market Square", "8 Orchard Grove",
]  # fmt: skip
_ADDRESS_SENTENCES = ["I live at {} and the damp is awful", "Come and see {}, the roof leaks"]
_POSTCODES = [
    "LS1 4AB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "SW1A 2AA",
    "NE1 7RU", "BS1 5TR", "CF10 1EP", "EH1 1YZ", "G2 1DU", "BT1 5GS", "L1 8JQ", "NG1 5FW",
    "S1 2HE", "LE1 6ZG", "OX1 2JD", "YO1 7HH",
]  # fmt: skip

PERSONAL_MORE: list[tuple[str, str, str]] = [
    *((s.format(p), "[phone]", p) for p in _PHONES for s in _PHONE_SENTENCES),
    *((s.format(e), "[email]", e) for e in _EMAILS for s in _EMAIL_SENTENCES),
    *((s.format(a), "[address]", a) for a in _ADDRESSES for s in _ADDRESS_SENTENCES),
    *((f"Our postcode is {p} and the bins are never emptied", "[postcode]", p) for p in _POSTCODES),
]

CLEAN_MORE: list[str] = [
    *(f"I waited {n} hours for someone to come" for n in (2, 3, 4, 6, 8, 12, 24, 48)),
    *(f"The bus at {t} never turns up" for t in ("7:15", "08:30", "9.45", "17:05", "6pm", "10am")),
    *(f"It has been like this since {y}" for y in (2019, 2020, 2021, 2022, 2023, 2024)),
    *(f"Ward {n} was clean and the staff were kind" for n in (3, 7, 12, 21, 32, 44)),
    *(f"Council tax went up by £{n} this year" for n in (5, 12, 48, 100, 150)),
    *(f"There are {n} of us in a two bedroom flat" for n in (4, 5, 6, 7)),
    *(f"We have asked {n} times about the mould" for n in (2, 3, 5, 10, 20)),
    *(f"I am {n} years old and live alone" for n in (67, 72, 81, 89, 93)),
    *(f"The appointment was on {d}" for d in ("3 March", "12/04", "1st of June", "Monday 5th")),
    *(f"I give it {n} out of 10" for n in (2, 5, 7, 9, 10)),
    "The lights on our road have been out for 3 weeks",
    "Number 14 bus is always late",
    "It took 45 minutes to get through on the phone",
    "Lift broken on floors 2 to 9",
    "Block C has had no hot water for 10 days",
    "There were 30 people waiting in A&E",
    "I phoned the 0800 number and nobody answered",
    "The phone line closes at 5",
    "Emailed them twice, no reply",
    "My address is on file already",
    "We need 2 more bins on the estate",
    "Waiting list is 18 months",
    "Rent is 20% of my income",
    "The 3 of us share one bathroom",
    "The park on the High Street needs benches",
    "Nurse Kelly on the day unit was brilliant",
    "Parking costs £4.50 an hour",
    "Open 9 to 5 Monday to Friday only",
    "Repairs said 28 days and it was 90",
    "I have lived here 35 years",
    "Two out of five stars",
    "100% happy with the care",
    "Queue of 40 minutes at the pharmacy",
    "Flat roof leaks every winter",
    "The lift on Church Road flats is broken",
    "24/7 support would help",
    "1 in 3 calls get dropped",
    "Saw the GP within 2 days, amazing",
    "Station Road needs a crossing",
    "The 111 service was helpful",
]
