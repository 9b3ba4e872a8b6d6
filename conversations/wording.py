"""Everything the engine itself says to residents, in one place so it can be translated later.

Residents may be old, stressed or not fluent: short sentences, no jargon, never a telling-off.
Templates use `str.format` fields; the words residents may type are compared after `fold()`.
"""

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
