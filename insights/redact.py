"""Take personal details out of an answer before staff read it: phones, emails, addresses, cards.

Each detail becomes a placeholder ("[phone]", "[email]", "[address]", "[postcode]", "[card]",
"[nhs number]", "[number]") so the sentence still reads. Ordinary numbers stay: "I waited
2 hours", "3 times a week", "in 2024", "Ward 12".
"""

import re
from typing import Final

import phonenumbers

_EMAIL: Final = re.compile(
    r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
# Card numbers: 13 to 19 digits, alone or in groups, starting as card schemes do (2 to 6); phone
# numbers start with 0 or +, so the two never meet.
_CARD: Final = re.compile(r"(?<![\d+])[2-6]\d{3}(?:[ -]?\d){9,15}(?!\d)")
# NHS numbers: ten digits, usually written 3-3-4.
_NHS_NUMBER: Final = re.compile(r"(?<![\d+])\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
_COUNTRY_CODE: Final = re.compile(r"(?:\+|\b00)\d{1,3}[\s-]*$")
_NHS_CONTEXT: Final = re.compile(r"\bnhs\s*(?:no\.?|number|num)\s*:?\s*$", re.IGNORECASE)
# Any other long number (account, reference, tenancy numbers).
_LONG_NUMBER: Final = re.compile(r"(?<![\d\[])\d(?:[ -]?\d){7,}(?!\d)")
_POSTCODE: Final = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)

# House number and street: "12 Elm Road", "12a Elm Rd", "Flat 3, 4 High St", "14-16 Mill Lane".
_STREET_TYPES: Final = (
    r"road|rd|street|st|avenue|ave|lane|ln|drive|dr|close|crescent|cres|terrace|gardens|gdns|grove|"
    r"mews|way|court|ct|place|pl|hill|row|walk|square|sq|parade|rise|view|green|park|boulevard|"
    r"crossing|wharf|yard|quay|gate|croft|fold|vale|meadow|meadows|approach|circus|embankment"
)
# Street types that are also everyday words ("a 5 minute walk", "the car park") need capitals.
_EVERYDAY_TYPES: Final = frozenset(
    [
        "way",
        "court",
        "place",
        "hill",
        "row",
        "walk",
        "square",
        "view",
        "green",
        "park",
        "gate",
        "yard",
        "rise",
        "approach",
        "st",
        "dr",
        "ct",
        "pl",
        "sq",
        "cl",
    ]
)
_NOT_NAMES: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "on",
        "in",
        "at",
        "to",
        "for",
        "by",
        "from",
        "with",
        "my",
        "our",
        "your",
        "their",
        "his",
        "her",
        "its",
        "this",
        "that",
        "these",
        "those",
        "some",
        "any",
        "no",
        "not",
        "every",
        "each",
        "per",
        "about",
        "around",
        "over",
        "under",
        "after",
        "before",
        "into",
        "onto",
        "hours",
        "hour",
        "hrs",
        "hr",
        "minutes",
        "minute",
        "mins",
        "min",
        "seconds",
        "days",
        "day",
        "weeks",
        "week",
        "months",
        "month",
        "years",
        "year",
        "times",
        "time",
        "miles",
        "mile",
        "metres",
        "meters",
        "km",
        "yards",
        "feet",
        "steps",
        "floors",
        "floor",
        "people",
        "nurses",
        "doctors",
        "staff",
        "patients",
        "beds",
        "visits",
        "calls",
        "phone",
        "calls",
        "weeks'",
        "other",
        "more",
        "less",
        "very",
        "just",
        "only",
        "car",
        "cars",
        "bus",
        "buses",
    ]
)
_NAME_WORD: Final = r"[A-Za-z][A-Za-z'’.-]*"
_ADDRESS: Final = re.compile(
    rf"""
    (?P<flat>\b(?:flat|apartment|apt|unit|maisonette)\s*\d+[a-z]?\s*,?\s*)?
    (?<![\w£$.,:/-])(?P<number>\d{{1,4}}[a-z]?(?:\s*[-–]\s*\d{{1,4}}[a-z]?)?)\s*,?\s+
    (?P<names>(?:{_NAME_WORD}\s+){{1,3}}?)
    (?P<type>(?:{_STREET_TYPES}))\b\.?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MIN_PHONE_DIGITS: Final = 9
_DIGIT: Final = re.compile(r"\d")


def redact(text: str) -> str:
    """Replace personal details in `text` with placeholders; leave everything else as it was."""
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    # Counted in C: most answers hold no digits at all, and need nothing more.
    digits = len(_DIGIT.findall(text))
    if digits >= 7:
        text = _CARD.sub(_card, text)
        text = _NHS_NUMBER.sub(lambda m: _nhs_number(m, text), text)
        text = _phones(text)
        text = _LONG_NUMBER.sub("[number]", text)
    if digits:
        text = _ADDRESS.sub(_address, text)
        text = _POSTCODE.sub(_postcode, text)
    return text


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    grouped = bool(re.fullmatch(r"\d{4}([ -]\d{4}){2,3}(?:[ -]\d{1,3})?", match.group(0)))
    return "[card]" if grouped or _luhn(digits) else match.group(0)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _nhs_number(match: re.Match[str], text: str) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if digits.startswith("0") or _COUNTRY_CODE.search(text[: match.start()]):
        return match.group(0)  # a phone number; left for the phone step
    # The NHS number's own check digit (modulus 11), or "NHS number" written just before it.
    weighted = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - weighted % 11
    check = 0 if check == 11 else check
    if check == int(digits[9]) or _NHS_CONTEXT.search(text[: match.start()]):
        return "[nhs number]"
    return match.group(0)


def _phones(text: str) -> str:
    pieces: list[str] = []
    end = 0
    for match in phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        digits = sum(c.isdigit() for c in match.raw_string)
        # Possible but not allocated numbers (like the ranges Ofcom keeps for drama) are still
        # someone's number as far as a reader is concerned; short ones are years and counts.
        if digits < _MIN_PHONE_DIGITS and not phonenumbers.is_valid_number(match.number):
            continue
        pieces.append(text[end : match.start])
        pieces.append("[phone]")
        end = match.end
    pieces.append(text[end:])
    return "".join(pieces)


def _address(match: re.Match[str]) -> str:
    names = match.group("names").split()
    street_type = match.group("type")
    if any(word.lower().strip(".,") in _NOT_NAMES for word in names):
        return match.group(0)
    # Everyday street words need the look of a name: "4 Mill Walk", not "a 5 minute walk".
    if street_type.lower() in _EVERYDAY_TYPES and not (
        street_type[0].isupper() and all(word[0].isupper() for word in names)
    ):
        return match.group(0)
    trailing = (
        ""
        if match.group(0).rstrip() == match.group(0)
        else match.group(0)[len(match.group(0).rstrip()) :]
    )
    return "[address]" + trailing


def _postcode(match: re.Match[str]) -> str:
    code = match.group(0)
    # Lowercase codes are accepted only when they look deliberate ("ls1 4ab" has a space), so
    # that words and numbers that happen to fit the pattern stay.
    if code.islower() and " " not in code:
        return code
    return "[postcode]"
