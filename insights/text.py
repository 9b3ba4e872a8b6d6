"""Clean-up, tokens and a small stemmer: the common ground of sentiment, themes and key phrases.

Everything here is plain Python and pre-compiled regular expressions, because each resident's
answer passes through it once at ingest and a CSV export may hold hundreds of thousands of them.
"""

import re
import unicodedata
from functools import lru_cache
from typing import Final

# Emojis residents use, said as an emoticon or word the sentiment lexicon knows. Anything not
# listed here is dropped by the tokenizer, so it neither helps nor harms.
EMOJI: Final[dict[str, str]] = {
    "😀": " :) ",
    "😃": " :) ",
    "😄": " :) ",
    "😁": " :) ",
    "😊": " :) ",
    "🙂": " :) ",
    "😉": " ;) ",
    "😆": " :D ",
    "😂": " :D ",
    "🤣": " :D ",
    "😍": " <3 ",
    "🥰": " <3 ",
    "😘": " <3 ",
    "❤": " <3 ",
    "♥": " <3 ",
    "💕": " <3 ",
    "💖": " <3 ",
    "💙": " <3 ",
    "💚": " <3 ",
    "💜": " <3 ",
    "🧡": " <3 ",
    "💛": " <3 ",
    "👍": " :thumbsup: ",
    "👏": " :clap: ",
    "🙌": " :clap: ",
    "🙏": " :thanks: ",
    "⭐": " :star: ",
    "🌟": " :star: ",
    "✨": " :star: ",
    "🎉": " :) ",
    "🥳": " :) ",
    "😐": " :| ",
    "😑": " :| ",
    "😕": " :/ ",
    "🙁": " :( ",
    "☹": " :( ",
    "😞": " :( ",
    "😟": " :( ",
    "😔": " :( ",
    "😢": " :'( ",
    "😭": " :'( ",
    "😥": " :'( ",
    "😩": " :( ",
    "😫": " :( ",
    "😤": " >:( ",
    "😠": " >:( ",
    "😡": " >:( ",
    "🤬": " >:( ",
    "👎": " :thumbsdown: ",
    "💔": " :brokenheart: ",
    "🤮": " :sick: ",
    "🤢": " :sick: ",
}

_EMOJI_RE: Final = re.compile("|".join(re.escape(e) for e in sorted(EMOJI, key=len, reverse=True)))
_VARIATION_RE: Final = re.compile("[\ufe0e\ufe0f\u200d]")
_QUOTES: Final = str.maketrans(
    {"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "–": "-", "—": "-"}
)


# Contractions are spelled out, word by word, so "couldn't be better" and "could not be better"
# are one phrase. Phones drop the apostrophe more often than not ("dont", "didnt", "wasnt"), so it
# is optional where that is unambiguous.
def _contractions() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {
        "can't": ("can", "not"),
        "cant": ("can", "not"),
        "cannot": ("can", "not"),
        "won't": ("will", "not"),
        "shan't": ("shall", "not"),
        "ain't": ("is", "not"),
        "aint": ("is", "not"),
        "i'm": ("i", "am"),
        "im": ("i", "am"),
    }
    for verb in [
        "do",
        "does",
        "did",
        "is",
        "was",
        "are",
        "were",
        "has",
        "have",
        "had",
        "could",
        "would",
        "should",
        "must",
        "need",
    ]:
        table[verb + "n't"] = table[verb + "nt"] = (verb, "not")
    for pronoun in ("you", "they"):
        table[pronoun + "'re"] = table[pronoun + "re"] = (pronoun, "are")
    for pronoun in ("we", "who", "what"):
        table[pronoun + "'re"] = (pronoun, "are")
    for word in ["i", "you", "we", "they", "who", "could", "would", "should", "might", "must"]:
        table[word + "'ve"] = table[word + "ve"] = (word, "have")
    for word in ["i", "you", "we", "they", "he", "she", "it", "that", "there"]:
        table[word + "'ll"] = (word, "will")
        table[word + "'d"] = (word, "would")
    for word in ["it", "that", "there", "what", "here", "everything", "everyone", "he", "she"]:
        table[word + "'s"] = (word, "is")
    return table


CONTRACTIONS: Final[dict[str, tuple[str, ...]]] = _contractions()

# How residents type in a chat, said in full. Only forms that mean one thing in a comment about a
# service: "u" is "you", but "r" could be a letter in a list, so it is left alone.
TEXT_SPEAK: Final[dict[str, tuple[str, ...]]] = {
    word: tuple(expansion.split())
    for word, expansion in {
        "u": "you",
        "ur": "your",
        "ya": "you",
        "ppl": "people",
        "peeps": "people",
        "nite": "night",
        "nites": "nights",
        "tonite": "tonight",
        "2nite": "tonight",
        "2day": "today",
        "2moro": "tomorrow",
        "tmrw": "tomorrow",
        "b4": "before",
        "no1": "no one",
        "noone": "no one",
        "some1": "someone",
        "any1": "anyone",
        "every1": "everyone",
        "wk": "week",
        "wks": "weeks",
        "mth": "month",
        "mths": "months",
        "yr": "year",
        "yrs": "years",
        "hr": "hour",
        "hrs": "hours",
        "min": "minute",
        "mins": "minutes",
        "thru": "through",
        "tho": "though",
        "cos": "because",
        "coz": "because",
        "cuz": "because",
        "bc": "because",
        "pls": "please",
        "plz": "please",
        "thx": "thanks",
        "ty": "thank you",
        "appt": "appointment",
        "appts": "appointments",
        "meds": "medication",
        "msg": "message",
        "msgs": "messages",
        "govt": "government",
        "wont": "will not",
        "shouldnt": "should not",
        "gonna": "going to",
        "wanna": "want to",
        "gotta": "got to",
        "dunno": "do not know",
        "idk": "i do not know",
        "ive": "i have",
        "thats": "that is",
        "theres": "there is",
        "whats": "what is",
        "lol": "",
        "omg": "",
        "smh": "",
        "tbh": "",
        "imo": "",
        "ffs": "",
        "asap": "as soon as possible",
        "bin-men": "bin men",
        "n/a": "n a",
        "soo": "so",
        "noo": "no",
        "yess": "yes",
        "pleease": "please",
        "pleasee": "please",
        "helpp": "help",
        "gr8": "great",
        "brill": "brilliant",
        "owt": "anything",
        "fab": "fabulous",
        "st": "street",
        "rd": "road",
        "xmas": "christmas",
        "wkend": "weekend",
        "wkends": "weekends",
        "til": "until",
        "till": "until",
    }.items()
}
_REPEATS_RE: Final = re.compile(r"([a-z])\1{2,}", re.IGNORECASE)
_MODALS: Final = frozenset({"could", "would", "should", "might", "must"})


# Words, numbers, emoticons and the punctuation that ends a clause.
_TOKEN_RE: Final = re.compile(
    r"""
    :thumbsup:|:thumbsdown:|:clap:|:thanks:|:star:|:brokenheart:|:sick:
    |(?i:\b(?:no1|2nite|2day|2moro|b4|gr8|some1|any1|every1)\b)
    |>:\(|:'\(|<3|[:;=]-?[)(DPp|]|:/(?!/)
    |[A-Za-z\u00c0-\u024f]+(?:['&.-][A-Za-z\u00c0-\u024f]+)*|'(?:ve|re|ll|d|s|m)\b
    |\d+(?:[.,:]\d+)*(?:st|nd|rd|th|am|pm|hrs?|mins?|s)?
    |[.!?;]+|,|\(|\)|-\s|\s-|:
    """,
    re.VERBOSE,
)
_STOPS: Final = frozenset({",", "(", ")", "-", ":"})


def clean(text: str) -> str:
    """Tidy an answer: one kind of quote, emojis as emoticons, calm capitals, single spaces."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_QUOTES)
        text = _VARIATION_RE.sub("", text)
        text = _EMOJI_RE.sub(lambda m: EMOJI[m.group(0)], text)
    text = " ".join(text.split())
    # A whole answer in capitals is how some people type, not shouting, so it reads as normal
    # text; a single shouted word in a calm sentence keeps its capitals (sentiment boosts it).
    if text.isupper() and len(text) >= 4:
        text = _sentence_case(text.lower())
    return text


def _sentence_case(text: str) -> str:
    text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return re.sub(r"\bi\b", "I", text)


class Token:
    """One word, number, emoticon or clause break, with its lowercase form and stem.

    Tokens are shared between answers (the same word is the same token), so never change one.
    """

    __slots__ = ("kind", "lower", "shouted", "stem", "tag", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        self.lower = text.lower()
        # Numbers match any number in a phrase: "waited 2 hours" finds "waited 5 hours".
        self.stem = stem(self.lower) if kind == "word" else "#" if kind == "number" else self.lower
        self.shouted = kind == "word" and len(text) > 2 and text.isupper()
        self.tag = ""  # part of speech, filled in by the phrase finder on first use

    def __repr__(self) -> str:
        return f"Token({self.text!r}, {self.kind!r})"


_TOKEN_CACHE: dict[str, tuple[Token, ...]] = {}
_TOKEN_CACHE_SIZE: Final = 200_000


def _new_tokens(raw: str) -> tuple[Token, ...]:
    first = raw[0]
    if first.isalpha() or (first.isdigit() and not raw.isdigit() and raw.lower() in TEXT_SPEAK):
        lower = raw.lower()
        if _REPEATS_RE.search(lower):  # "goood", "soooo": a letter held down, kept at most twice
            raw = lower = _REPEATS_RE.sub(r"\1\1", lower)
        said = TEXT_SPEAK.get(lower)
        if said is not None:
            return tuple(Token(w, "word") for w in said)
    if first.isalpha() or first == "'":
        spelled_out = CONTRACTIONS.get(raw.lower())
        if spelled_out is not None:
            shouted = raw.isupper() and len(raw) > 2
            return tuple(Token(w.upper() if shouted else w, "word") for w in spelled_out)
        return (Token(raw, "word"),)
    if first.isdigit():
        return (Token(raw, "number"),)
    text = raw.strip()
    if text in _STOPS or first in ".!?;":
        return (Token(text, "stop"),)
    return (Token(text, "emoticon"),)


def tokenize(text: str) -> list[Token]:
    """Split cleaned text into tokens; anything that is not a word, number or emoticon is dropped.

    Contractions come out spelled out ("don't" → "do", "not"), and "could of" as "could have".
    """
    cache = _TOKEN_CACHE
    tokens: list[Token] = []
    for raw in _TOKEN_RE.findall(text):
        found = cache.get(raw)
        if found is None:
            found = _new_tokens(raw)
            if len(cache) < _TOKEN_CACHE_SIZE:
                cache[raw] = found
        if len(found) == 1:
            token = found[0]
            if token.lower == "of" and tokens and _could_of(tokens):
                token = _HAVE
            elif token.lower == "one" and tokens and tokens[-1].lower == "no":
                tokens[-1] = _NOBODY  # "no one cleans the stairs" reads as "nobody cleans…"
                continue
            tokens.append(token)
        elif len(found) == 2 and found[0].lower == "no" and found[1].lower == "one":
            tokens.append(_NOBODY)  # "no1"
        else:
            tokens.extend(found)
    return tokens


def _could_of(tokens: list[Token]) -> bool:
    # "could of been better", "couldn't of done more": what people write for "could have".
    last = tokens[-1].lower
    return last in _MODALS or (last == "not" and len(tokens) > 1 and tokens[-2].lower in _MODALS)


# --- A light stemmer ------------------------------------------------------------------------------
# Enough to make "waiting", "waited" and "waits" one word, and no more: a heavier stemmer merges
# words a theme must keep apart ("care"/"car", "parking"/"park").

_IRREGULAR: Final[dict[str, str]] = {
    "felt": "feel",
    "made": "make",
    "told": "tell",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "saw": "see",
    "seen": "see",
    "went": "go",
    "gone": "go",
    "came": "come",
    "said": "say",
    "kept": "keep",
    "paid": "pay",
    "spoke": "speak",
    "spoken": "speak",
    "heard": "hear",
    "brought": "bring",
    "bought": "buy",
    "thought": "think",
    "children": "child",
    "women": "woman",
    "men": "man",
    "teeth": "tooth",
    "feet": "foot",
    "mice": "mouse",
    "lives": "life",
    "wives": "wife",
    "buses": "bus",
    "parking": "parking",
    # "caring" is about people, "care" about treatment: a theme must tell them apart.
    "caring": "caring",
    "parked": "parking",
    "nothing": "nothing",
    "something": "something",
    "anything": "anything",
    "everything": "everything",
    "morning": "morning",
    "evening": "evening",
    "during": "during",
    "news": "news",
    "always": "always",
    "ceiling": "ceiling",
    "lighting": "lighting",
    "housing": "housing",
    "building": "building",
    "feeling": "feeling",
    "feelings": "feeling",
    "meeting": "meeting",
    "meetings": "meeting",
    "clothing": "clothing",
    "bedding": "bedding",
    "ring": "ring",
    "thing": "thing",
    "things": "thing",
    "being": "being",
    "was": "was",
    "has": "has",
    "is": "is",
    "this": "this",
    "his": "his",
    "us": "us",
}
_VOWELS: Final = frozenset("aeiou")
_UNDOUBLE: Final = frozenset("bdgmnprt")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English endings from a lowercase word ("waited" → "wait", "caring" → "care")."""
    if word.endswith("'s"):
        word = word[:-2]
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ches", "shes", "xes", "zzes")):
        return word[:-2]
    if word.endswith("ing") and len(word) > 5 and _has_vowel(word[:-3]):
        return _restore(word[:-3])
    if word.endswith("eed"):
        return word
    if word.endswith("ed") and len(word) > 4 and _has_vowel(word[:-2]):
        return _restore(word[:-2])
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ous", "'s")) and len(word) > 3:
        return word[:-1]
    return word


def _has_vowel(part: str) -> bool:
    return any(c in _VOWELS for c in part)


def _restore(base: str) -> str:
    """Put back what "-ing"/"-ed" took: a doubled consonant goes, a silent e comes back."""
    if len(base) > 2 and base[-1] == base[-2] and base[-1] in _UNDOUBLE:
        return base[:-1]
    if _short_cvc(base):
        return base + "e"
    return base


def _short_cvc(base: str) -> bool:
    # Porter's test for a word of one syllable ending consonant-vowel-consonant: "car" → "care",
    # "hop" → "hope", but "visit" stays.
    if len(base) < 3:
        return False
    a, b, c = base[-3], base[-2], base[-1]
    if a in _VOWELS or b not in _VOWELS or c in _VOWELS or c in "wxy":
        return False
    return (
        sum(
            1
            for i, ch in enumerate(base)
            if ch in _VOWELS and (i == 0 or base[i - 1] not in _VOWELS)
        )
        == 1
    )


_HAVE: Final = Token("have", "word")
_NOBODY: Final = Token("nobody", "word")
