"""What the bot itself says to residents, in one place so it can be reworded and translated."""

from __future__ import annotations

from collections.abc import Sequence

from conversations.engine import Button, Message

HELP = (
    "I'm here to hear what matters to you, in your own words. "
    "Staff at the service read what people say, without names, and use it to make things better.\n"
    "\n"
    "/start — begin, or carry on where you left off\n"
    "/stop — no more messages from me (what you've said so far is kept)\n"
    "/language — read my questions in another language, where there is one\n"
    "/mydata — everything stored about you, as a file\n"
    "/forget — delete one of your answers\n"
    "/forgetme — delete everything stored about you\n"
    "/help — this message\n"
    "\n"
    "Just type your answers, or tap the buttons."
)

UNKNOWN_COMMAND = "Sorry, I don't know that command. Send /help to see what I can do."

STOPPED = (
    "All right, I won't send you any more messages. What you've told me so far is kept safely. "
    "If you'd like to carry on another time, just send /start."
)

STOPPED_HINT = (
    "You asked me to stop, so I've paused our conversation. Send /start if you'd like to carry on."
)


EDITED = (
    "I've kept what you first sent. If you'd like to add or change something, "
    "just send it as a new message."
)

GROUP_CHAT = (
    "Hello! I only talk one to one, so that what people tell me stays private. "
    "Please send me a direct message instead."
)

SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong on our side. What you've told me so far is safe. "
    "Please try again in a moment."
)

BUTTON_GONE = "That question has moved on."

SLOW_DOWN = (
    "You're sending a lot of messages very quickly. I've kept them all. "
    "Take your time: I'll answer again in a few seconds."
)

PICK_LANGUAGE = "Which language would you like?"
ONE_LANGUAGE = "This conversation is only in one language for now. Sorry about that."

# How each language calls itself, for the /language buttons.
LANGUAGE_NAMES = {
    "en": "English", "cy": "Cymraeg", "gd": "Gàidhlig", "ga": "Gaeilge", "pl": "Polski",
    "ro": "Română", "ur": "اردو", "pa": "ਪੰਜਾਬੀ", "bn": "বাংলা", "gu": "ગુજરાતી", "ar": "العربية",
    "so": "Soomaali", "es": "Español", "pt": "Português", "fr": "Français", "uk": "Українська",
    "tr": "Türkçe", "zh": "中文",
}  # fmt: skip


def language_name(code: str) -> str:
    """A language's own name for itself (its code if not known)."""
    return LANGUAGE_NAMES.get(code.split("-")[0].lower(), code)


# A language button's data: this, the flow's id, "|" and the language. No flow step id can start
# with "_", so it is never taken for an answer.
LANGUAGE_BUTTON = "_lang:"


def language_picker(flow_id: str, languages: Sequence[str]) -> Message:
    """Ask which of these languages the resident would like, with a button for each."""
    return Message(
        PICK_LANGUAGE,
        tuple(
            Button(language_name(code), f"{LANGUAGE_BUTTON}{flow_id}", code) for code in languages
        ),
    )


MY_DATA = (
    "Here is everything we keep about you. Staff see only your answers, under the pseudonym "
    "shown in the file, never your name. Send /forget to delete one of your answers, or "
    "/forgetme to have it all deleted."
)
FORGET_CONFIRM = Message(
    "Do you want us to delete everything we keep about you: your answers and our conversation? "
    "This cannot be undone.",
    (Button("Yes, delete it all", "_forget", "yes"), Button("No, keep it", "_forget", "no")),
)
FORGET_KEPT = "All right, nothing has been deleted."
FORGOTTEN = (
    "Done. Everything we kept about you has been deleted. "
    "If you ever want to talk again, send /start and we will begin afresh."
)

# Deleting one answer (/forget): the buttons' data is this, "|" and what was pressed.
FORGET_ONE_BUTTON = "_forget1"
FORGET_NOTHING = "There are no answers of yours stored, so there is nothing to delete."
FORGET_PICK = "Which answer would you like to delete? Here are your latest ones."
FORGOTTEN_ONE = (
    "Done. That answer has been deleted, and staff will not see it in anything from now on."
)
FORGET_ONE_GONE = "That answer has already been deleted."


def shortened(text: str, length: int = 40) -> str:
    """Text on one line, cut to `length` characters with an ellipsis if longer."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"


def forget_pick(answers: Sequence[tuple[int, str]]) -> Message:
    """Offer a resident's latest answers (id, words), one button each, to pick one to delete."""
    return Message(
        FORGET_PICK,
        tuple(Button(shortened(words), FORGET_ONE_BUTTON, f"pick:{id_}") for id_, words in answers),
    )


def forget_one_confirm(answer_id: int, question: str, words: str) -> Message:
    """Ask a resident to confirm deleting one answer, showing it."""
    return Message(
        f"Do you want us to delete this answer?\n\n{shortened(question, 200)}\n"
        f"“{shortened(words, 300)}”\n\nThis cannot be undone.",
        (
            Button("Yes, delete it", FORGET_ONE_BUTTON, f"yes:{answer_id}"),
            Button("No, keep it", FORGET_ONE_BUTTON, "no"),
        ),
    )
