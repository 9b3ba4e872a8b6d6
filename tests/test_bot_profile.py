"""The bot's profile: what people see before pressing Start, set from the default flow."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storage import SQLiteStorage
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, said, settings_for
from tests.sample_flows import BILINGUAL

SAM = 501


async def test_the_description_comes_from_the_default_flow(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """The shipped flow's opening is the description, its title the short one, both in limits."""
    description = tg.bot_settings["description"]
    assert description.startswith("Hello, and thank you for stopping by.")
    assert "They will not see your name." in description
    assert "Are you happy to carry on?" not in description  # no buttons before Start
    assert len(description) <= 512
    assert tg.bot_settings["short_description"] == "What matters to you"


async def test_each_language_of_the_default_flow_gets_its_own(
    tg: FakeTelegram, database: Path
) -> None:
    """A default flow in English and Welsh sets the default in English and Welsh for cy."""
    welsh = BILINGUAL.replace("id: bilingual", "id: what-matters").replace(
        "entry: null", "entry: start"
    )
    async with SQLiteStorage(database) as storage:
        await storage.publish_flow("what-matters", welsh)
    running = RunningBot(tg, settings_for(tg, database))
    await running.start()
    await running.stop()
    assert tg.bot_settings["description"] == "What matters to you?"
    assert tg.bot_settings["description:cy"] == "Beth sy'n bwysig i chi?"
    assert tg.bot_settings["short_description"] == "Your home"
    assert tg.bot_settings["short_description:cy"] == "Eich cartref"


async def test_the_settings_can_say_it_instead(tg: FakeTelegram, database: Path) -> None:
    """WHATMATTERS_BOT_DESCRIPTION and _SHORT_DESCRIPTION win over the flow."""
    settings = settings_for(
        tg,
        database,
        bot_description="Tell Anytown Council what matters to you.",
        bot_short_description="Anytown Council listens",
    )
    running = RunningBot(tg, settings)
    await running.start()
    await running.stop()
    assert tg.bot_settings["description"] == "Tell Anytown Council what matters to you."
    assert tg.bot_settings["short_description"] == "Anytown Council listens"


async def test_a_refused_description_never_stops_the_bot(
    tg: FakeTelegram, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """If the Bot API refuses the description, a warning is logged and residents are heard."""
    tg.refuse("setMyDescription")
    running = RunningBot(tg, settings_for(tg, database))
    with caplog.at_level(logging.WARNING, logger="bot.profile"):
        await running.start()
    try:
        sam = tg.resident(SAM)
        sam.send("/start")
        assert "Are you happy to carry on?" in (await said(sam)).text
    finally:
        await running.stop()
    assert "could not set the bot's description" in caplog.text
    assert "description" not in tg.bot_settings
