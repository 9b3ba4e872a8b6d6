"""End to end: a resident sees everything stored about them, and can have it all deleted."""

from __future__ import annotations

import json
import sqlite3

from bot import wording
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said

ZARA = 7301234567
WORDS = "The lift in Beacon House has been broken since the spring"


async def answer_some(resident: Resident, words: str = WORDS) -> None:
    """Agree, and answer the first question."""
    resident.send("/start")
    await said(resident)
    resident.press("Yes")
    await said(resident)
    resident.send(words)
    await said(resident)


async def test_mydata_sends_everything_stored_about_the_resident(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/mydata sends a JSON file with their answers, pseudonym and messages as stored."""
    zara = tg.resident(ZARA, first_name="Zara")
    await answer_some(zara)
    zara.send("/mydata")
    sent = await said(zara)
    assert sent.method == "sendDocument"
    assert sent.filename == "my-data.json"
    assert sent.document is not None
    data = json.loads(sent.document)
    resident = await bot.storage.resident(ZARA, ZARA)
    assert data["you"]["pseudonym_staff_see"] == resident.pseudonym
    assert [answer["answer"] for answer in data["answers"]] == [WORDS]
    assert data["conversations"][0]["flow_id"] == "what-matters"
    assert any(
        update.get("message", {}).get("text") == WORDS
        for update in data["messages_as_telegram_sent_them"]
    )


async def test_mydata_goes_through_the_outbox_and_survives_a_refusal_and_a_restart(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A failed send of the file is tried again, after a restart too; it arrives once, and the
    copy waiting in the outbox is not kept once it has gone.
    """
    zara = tg.resident(ZARA, first_name="Zara")
    await answer_some(zara)
    tg.fail("sendDocument", 500)
    zara.send("/mydata")
    await tg.wait_for_call("sendDocument")
    await zara.no_reply(within=2.1)  # the outbox waits 2 s before trying again
    await bot.restart()
    sent = await said(zara)
    assert sent.filename == "my-data.json"
    assert json.loads(sent.document or b"")["answers"][0]["answer"] == WORDS
    await zara.no_reply(within=1.5)
    with sqlite3.connect(bot.settings.database) as db:
        kept = db.execute("SELECT attachment, sent_at FROM outbox WHERE key LIKE 'mydata:%'")
        assert [(attachment, sent_at is not None) for attachment, sent_at in kept] == [(None, True)]


async def test_forgetme_deletes_everything_of_theirs_from_every_table(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """After /forgetme and a yes, nothing of theirs is in any table; /start begins afresh."""
    zara, other = tg.resident(ZARA, first_name="Zara"), tg.resident(502)
    await answer_some(zara)
    await answer_some(other, "More trees on the estate")
    pseudonym = (await bot.storage.resident(ZARA, ZARA)).pseudonym
    zara.send("/forgetme")
    assert (await said(zara)).labels == ["Yes, delete it all", "No, keep it"]
    zara.press("No, keep it")
    assert (await said(zara)).text == wording.FORGET_KEPT
    assert await bot.storage.count_answers() == 2
    zara.send("/forgetme")
    await said(zara)
    zara.press("Yes, delete it all")
    assert (await said(zara)).text == wording.FORGOTTEN

    with sqlite3.connect(bot.settings.database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(value) for value in row)
                assert str(ZARA) not in text, table
                assert pseudonym not in text, table
                assert "Beacon House" not in text, table
    assert await bot.storage.count_answers() == 1  # the other resident's is untouched

    zara.send("/start")
    assert "Are you happy to carry on?" in (await said(zara)).text
    assert (await bot.storage.resident(ZARA, ZARA)).pseudonym != pseudonym
