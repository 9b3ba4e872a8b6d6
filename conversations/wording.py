"""Everything the engine itself says to residents, in one place so it can be translated.

Residents may be old, stressed or not fluent: short sentences, no jargon, never a telling-off.
Templates use `str.format` fields; the words residents may type are compared after `fold()`.

The engine asks `for_language(code)` for an `EngineWording` and uses only that, so translating its
words means adding one `EngineWording` to `TRANSLATIONS`; until then every language gets English.
(A flow's own texts are translated in the flow itself; see `conversations.model.Localised`.)
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

YES_LABEL: Final = "Yes"
NO_LABEL: Final = "No"
SKIP_LABEL: Final = "Skip"

# Typed replies accepted for a yes/no question or the consent step.
YES_WORDS: Final = frozenset({"yes", "y", "yeah", "yep", "yes please", "ok", "okay"})
NO_WORDS: Final = frozenset({"no", "n", "nope", "no thanks", "no thank you"})
SKIP_WORDS: Final = frozenset({"skip"})

# Added under a scale question when the flow says what 1 and 5 mean.
SCALE_LEGEND: Final = "1 = {low}, 5 = {high}"

WELCOME_BACK: Final = "Welcome back. Let's carry on where we left off."

EMPTY_TEXT: Final = "I didn't get any words there. Please type your answer — a few words is fine."
SKIP_HINT: Final = "Or tap Skip if you'd rather not answer."
# "skip" typed at a question that has no Skip button.
NOT_SKIPPABLE: Final = (
    "This question can't be skipped, I'm afraid. Please type your answer — a few words is fine."
)
TYPE_INSTEAD: Final = "This question needs typed words, not a button. Please type your answer."
TOO_LONG: Final = (
    "Thank you — there's a lot here, and we want to hear it. It's too long for one answer, "
    "though. Could you make it a little shorter and send it again?"
)

UNREADABLE: Final = (
    "I can only read typed words here, so I can't use {things}. "
    "Please type your answer — a few words is fine."
)
UNREADABLE_UNKNOWN: Final = (
    "I can only read typed words here. Please type your answer — a few words is fine."
)
# Telegram's names for what a resident can send, as the residents would say them.
UNREADABLE_THINGS: Final = {
    "animation": "GIFs",
    "audio": "audio",
    "contact": "contacts",
    "dice": "dice",
    "document": "files",
    "game": "games",
    "location": "locations",
    "photo": "photos",
    "poll": "polls",
    "sticker": "stickers",
    "story": "stories",
    "venue": "places",
    "video": "videos",
    "video_note": "video messages",
    "voice": "voice messages",
}

MOVED_ON: Final = (
    "That button was for an earlier question, and we've moved on since. "
    "Here's the question we're on now:"
)
PICK_OPTION: Final = "Sorry, I didn't catch that. Please tap one of the buttons below."
PICK_NUMBER: Final = "Sorry, I didn't catch that. Please tap a number from 1 to 5 below."
PICK_YES_NO: Final = "Sorry, I didn't catch that. Please tap Yes or No below."

DECLINED: Final = (
    "That's fine — thank you for your time. We won't ask you anything else. "
    "If you change your mind, just send /start."
)
ALL_DONE: Final = "That's everything. Thank you for taking the time to tell us."
ALREADY_FINISHED: Final = (
    "You've finished this conversation — thank you. Send /start to begin again."
)
ALREADY_DECLINED: Final = (
    "You chose not to take part, and that's fine. If you change your mind, send /start."
)
# Said when a question has waited past its `expires`, unless the step has its own expired_text.
EXPIRED: Final = (
    "We haven't heard back for a while, so we've closed this conversation for now — that's "
    "completely fine. Thank you for your time. Send /start whenever you'd like to talk."
)
ALREADY_EXPIRED: Final = (
    "This conversation closed after a quiet spell. Send /start whenever you'd like to begin again."
)


@dataclass(frozen=True, eq=False)
class EngineWording:
    """Everything the engine says, and the replies it understands, in one language."""

    yes_label: str
    no_label: str
    skip_label: str
    yes_words: frozenset[str]
    no_words: frozenset[str]
    skip_words: frozenset[str]
    scale_legend: str
    welcome_back: str
    empty_text: str
    skip_hint: str
    not_skippable: str
    type_instead: str
    too_long: str
    unreadable: str
    unreadable_unknown: str
    unreadable_things: Mapping[str, str]
    moved_on: str
    pick_option: str
    pick_number: str
    pick_yes_no: str
    declined: str
    all_done: str
    already_finished: str
    already_declined: str
    expired: str
    already_expired: str


ENGLISH: Final = EngineWording(
    yes_label=YES_LABEL,
    no_label=NO_LABEL,
    skip_label=SKIP_LABEL,
    yes_words=YES_WORDS,
    no_words=NO_WORDS,
    skip_words=SKIP_WORDS,
    scale_legend=SCALE_LEGEND,
    welcome_back=WELCOME_BACK,
    empty_text=EMPTY_TEXT,
    skip_hint=SKIP_HINT,
    not_skippable=NOT_SKIPPABLE,
    type_instead=TYPE_INSTEAD,
    too_long=TOO_LONG,
    unreadable=UNREADABLE,
    unreadable_unknown=UNREADABLE_UNKNOWN,
    unreadable_things=MappingProxyType(UNREADABLE_THINGS),
    moved_on=MOVED_ON,
    pick_option=PICK_OPTION,
    pick_number=PICK_NUMBER,
    pick_yes_no=PICK_YES_NO,
    declined=DECLINED,
    all_done=ALL_DONE,
    already_finished=ALREADY_FINISHED,
    already_declined=ALREADY_DECLINED,
    expired=EXPIRED,
    already_expired=ALREADY_EXPIRED,
)
FALLBACK_LANGUAGE: Final = "en"

# The engine's words by language code. To translate them, add e.g. "cy": EngineWording(...) here;
# a language not listed gets English.
TRANSLATIONS: Final[Mapping[str, EngineWording]] = MappingProxyType({FALLBACK_LANGUAGE: ENGLISH})


def translated_into(language: str) -> str:
    """The language the engine's own words are shown in to a resident reading `language`."""
    if language in TRANSLATIONS:
        return language
    base = language.split("-")[0]
    return base if base in TRANSLATIONS else FALLBACK_LANGUAGE


def for_language(language: str | None) -> EngineWording:
    """The engine's words for a resident reading `language` (English when not translated)."""
    return TRANSLATIONS[translated_into(language or FALLBACK_LANGUAGE)]
