"""What people see of the bot before they press Start: its description ("What can this bot
do?") and its short description (its profile and the chat list), set at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Bot
from telegram.error import TelegramError

from bot.settings import Settings
from conversations.model import Flow

if TYPE_CHECKING:
    from services.library import FlowLibrary

log = logging.getLogger(__name__)

# The Bot API's limits, in characters.
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


@dataclass(frozen=True)
class Profile:
    """The descriptions in one language; `language` None is the default for every other."""

    language: str | None
    description: str
    short_description: str


def profiles(flow: Flow, settings: Settings) -> list[Profile]:
    """The descriptions in each of the default flow's languages, its main one as the default.

    The description is how the flow opens (its first step, without a closing question such as
    "Are you happy to carry on?"), the short description its title; the settings, if given,
    are used instead, in every language.
    """
    found = []
    for index, code in enumerate(flow.languages):
        language = None if index == 0 else code
        description = settings.bot_description or _opening(flow, code)
        short = settings.bot_short_description or flow.titles.get(code)
        found.append(
            Profile(
                language,
                _within(description, DESCRIPTION_LIMIT),
                _within(short, SHORT_DESCRIPTION_LIMIT),
            )
        )
    return found


async def set_profile(bot: Bot, library: FlowLibrary, settings: Settings) -> None:
    """Set the descriptions; a Bot API that refuses them must not stop residents being heard."""
    flow, _ = await library.live(await library.default_flow_id())
    for profile in profiles(flow, settings):
        try:
            await bot.set_my_description(profile.description, language_code=profile.language)
            await bot.set_my_short_description(
                profile.short_description, language_code=profile.language
            )
        except TelegramError as error:
            log.warning(
                "could not set the bot's description (%s): %s", profile.language or "default", error
            )


def _opening(flow: Flow, language: str) -> str:
    paragraphs = [p.strip() for p in flow.steps[0].text.get(language).split("\n\n") if p.strip()]
    if len(paragraphs) > 1 and paragraphs[-1].endswith("?"):
        paragraphs.pop()  # answered with buttons that are not there before Start
    return "\n\n".join(paragraphs)


def _within(text: str, limit: int) -> str:
    """The text, or as many of its paragraphs as fit (cut short with … if the first does not)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = ""
    for paragraph in text.split("\n\n"):
        joined = f"{kept}\n\n{paragraph}" if kept else paragraph
        if len(joined) > limit:
            break
        kept = joined
    return kept or text[: limit - 1].rstrip() + "…"
