"""End to end: an answer with a sign of risk gets the resident help at once, alerts the
safeguarding contacts, is audited, and is counted in the digest but never quoted.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.settings import DAYS
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, Resident, SentMessage
from tests.running_bot import RunningBot, said, settings_for
from tests.test_bot_staff import invite_and_join

LEAD = 880  # the safeguarding lead, named in WHATMATTERS_SAFEGUARDING_CONTACTS
PRIYA = 801
SAM = 501
AT_RISK = "Honestly I don't want to be here any more. Some days I just want to die"
# Words that must never reach a resident after a sign of risk.
GIVEAWAYS = ("flag", "detect", "alert", "report", "risk", "safeguard")


def always_open() -> str:
    """Office hours that cover the whole of today (tests run in UTC)."""
    return "mon-sun 00:00-23:59"


def never_open_today() -> str:
    """Office hours on the day after tomorrow only: now is out of hours."""
    day = DAYS[(datetime.now(UTC) + timedelta(days=2)).weekday()]
    return f"{day} 09:00-17:00"


@pytest.fixture
async def start_bot(tg: FakeTelegram, database: Path) -> AsyncIterator[Any]:
    """Start the bot with safeguarding settings of the test's choosing."""
    started: list[RunningBot] = []

    async def start(**changes: Any) -> RunningBot:
        changes = {
            "admins": [ADMIN],
            "timezone": "UTC",
            "office_hours": always_open(),
            "safeguarding_contacts": [LEAD],
            **changes,
        }
        running = RunningBot(tg, settings_for(tg, database, **changes))
        await running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


async def reach_first_question(resident: Resident) -> None:
    """Start the shipped flow and agree to go on."""
    resident.send("/start")
    await said(resident)
    resident.press("Yes")
    assert "What matters to you" in (await said(resident)).text


async def answer(resident: Resident, words: str) -> list[SentMessage]:
    """Answer the open question; returns what came back up to the next question."""
    resident.send(words)
    replies = [await said(resident)]
    while "biggest difference" not in replies[-1].text:
        replies.append(await said(resident))
        assert len(replies) < 4, [r.plain[:80] for r in replies]
    return replies


async def test_a_sign_of_risk_gets_help_at_once_an_alert_to_the_lead_and_an_audit_entry(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """Signposting first, then the conversation goes on; the lead reads who, where and what."""
    bot = await start_bot()
    sam, lead = tg.resident(SAM), tg.resident(LEAD, first_name="Lee")
    await reach_first_question(sam)

    help_now, next_question = await answer(sam, AT_RISK)

    assert "116 123" in help_now.plain  # Samaritans
    assert "999" in help_now.plain
    assert "keep writing to us" in help_now.plain  # the office-hours wording
    assert not any(word in help_now.plain.lower() for word in GIVEAWAYS)
    assert "biggest difference" in next_question.text
    pseudonym = (await bot.storage.resident(SAM, SAM)).pseudonym
    alert = await said(lead)
    assert "Safeguarding" in alert.plain
    assert "Self-harm or suicide" in alert.plain
    assert pseudonym in alert.plain
    assert "what-matters" in alert.plain
    assert AT_RISK in alert.plain
    assert str(SAM) not in alert.plain  # never the Telegram id
    entries = [e for e in await bot.storage.audit_log() if e.action == "safeguarding alert"]
    assert len(entries) == 1
    detail = entries[0].detail
    assert detail["resident"] == pseudonym
    assert detail["signals"] == ["self-harm"]
    assert detail["alerted"] == [f"contact {LEAD}"]
    assert AT_RISK not in str(detail)  # the log says what happened, not the words
    await lead.no_reply(within=0.5)  # one alert, once
    assert await bot.storage.count_answers() == 1  # the answer is kept, like any other


async def test_the_answer_is_counted_in_the_digest_but_never_quoted(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """Neither the digest's text nor its spreadsheet carries the words; the count does."""
    await start_bot()
    sam, other = tg.resident(SAM), tg.resident(SAM + 1)
    await reach_first_question(sam)
    # Themed (housing) like the other answer, so it would be a quote candidate if allowed.
    risky = "My partner hits me and I am scared in my own flat since the repairs stopped"
    await answer(sam, risky)
    await reach_first_question(other)
    await answer(other, "The repairs to my flat take months and nobody calls back")
    priya = await invite_and_join(tg, "Priya", PRIYA)

    priya.send("/digest")
    text = (await said(priya)).plain
    assert "2 residents gave 2 answers" in text
    assert "1 answer showed a possible sign of risk" in text
    assert "partner hits me" not in text
    assert "nobody calls back" in text  # the other answer is quoted as usual
    await said(priya)  # the chart
    sheet = await said(priya)
    rows = list(csv.DictReader(io.StringIO((sheet.document or b"").decode("utf-8-sig"))))
    assert len(rows) == 2
    assert not any("partner hits me" in row["answer"] for row in rows)
    assert "(not quoted: passed to the safeguarding contacts)" in [r["answer"] for r in rows]

    priya.send("/theme repairs")
    more = (await said(priya)).plain
    assert "partner hits me" not in more
    assert "nobody calls back" in more


async def test_negated_phrases_count_both_ways_and_idioms_do_not(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """ "I don't feel safe at home" is a sign; "I feel safe at home" and "to die for" are not."""
    await start_bot()
    lead = tg.resident(LEAD)
    for n, (words, is_sign) in enumerate(
        [
            ("I don't want to die waiting for an ambulance, please fund more of them", True),
            ("I don't feel safe at home since my ex moved back in", True),
            ("I feel safe at home and my street is quiet", False),
            ("The cakes at the community cafe are to die for", False),
            ("I'm dying to see the new library open", False),
        ]
    ):
        resident = tg.resident(SAM + 10 + n)
        await reach_first_question(resident)
        replies = await answer(resident, words)
        assert (len(replies) == 2) is is_sign, words
        if is_sign:
            assert "116 123" in replies[0].plain
            await said(lead)
        else:
            await lead.no_reply(within=0.3)


async def test_out_of_office_hours_the_wording_says_when_the_office_opens(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """Outside WHATMATTERS_OFFICE_HOURS: closed now, opening then, and 999 and helplines."""
    await start_bot(office_hours=never_open_today())
    sam = tg.resident(SAM)
    await reach_first_question(sam)
    help_now, _ = await answer(sam, "My dad beats me when he drinks")
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%A")
    assert "closed" in help_now.plain
    assert f"{day} at 09:00" in help_now.plain
    assert "999" in help_now.plain
    assert "0808 2000 247" in help_now.plain  # the domestic abuse helpline
    assert "keep writing to us" not in help_now.plain


async def test_an_admin_makes_a_member_of_staff_a_safeguarding_contact(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """The /staff button marks Priya; alerts then reach her; staff cannot press it themselves."""
    bot = await start_bot(safeguarding_contacts=[])
    priya = await invite_and_join(tg, "Priya", PRIYA)
    priya.send("/staff")
    await said(priya)  # refused: staff are not admins
    admin = tg.resident(ADMIN)
    admin.send("/staff")
    listing = await said(admin)
    admin.press("Priya: safeguarding contact")
    assert "Priya is now a safeguarding contact" in (await said(admin)).plain
    assert [m.safeguarding for m in await bot.storage.staff_members()] == [True]
    assert "safeguarding contact" in [e.action for e in await bot.storage.audit_log()]
    assert listing.labels  # the buttons were there to press

    sam = tg.resident(SAM)
    await reach_first_question(sam)
    await answer(sam, "I took too many pills last night and feel awful")
    alert = await said(priya)
    assert "Medical emergency" in alert.plain or "Self-harm" in alert.plain
    await admin.no_reply(within=0.3)  # the admins are not bothered when a contact is set


async def test_with_no_contact_set_the_admins_get_the_alert(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """Someone must read it: with no safeguarding contact, the admins do."""
    bot = await start_bot(safeguarding_contacts=[])
    sam, admin = tg.resident(SAM), tg.resident(ADMIN)
    await reach_first_question(sam)
    await answer(sam, "My stepdad hits the kids when he is drunk")
    alert = await said(admin)
    assert "A child at risk" in alert.plain or "child" in alert.plain.lower()
    entries = [e for e in await bot.storage.audit_log() if e.action == "safeguarding alert"]
    assert entries[0].detail["alerted"] == [f"admin {ADMIN}"]


async def test_forgetme_after_a_sign_of_risk_leaves_nothing_of_theirs_in_any_table(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """The alert's copy in the outbox goes; the audit log keeps that an alert was raised."""
    bot = await start_bot()
    sam, lead = tg.resident(SAM), tg.resident(LEAD)
    await reach_first_question(sam)
    await answer(sam, AT_RISK)
    await said(lead)
    pseudonym = (await bot.storage.resident(SAM, SAM)).pseudonym
    sam.send("/forgetme")
    await said(sam)
    sam.press("Yes, delete it all")
    await said(sam)

    with sqlite3.connect(bot.settings.database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(value) for value in row)
                assert pseudonym not in text, table
                assert "want to die" not in text, table
                # As a number of its own: a timestamp's microseconds may hold the digits.
                assert not re.search(rf"(?<!\d){SAM}(?!\d)", text), table
    actions = [entry.action for entry in await bot.storage.audit_log()]
    assert "safeguarding alert" in actions


async def test_words_typed_outside_an_open_question_are_checked_too(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """Before any conversation, at a button question, after saying no, after /stop: the help
    comes first and the lead is alerted, but nothing becomes an answer."""
    bot = await start_bot()
    lead = tg.resident(LEAD)
    risky = "I want to end my life"

    first_contact = tg.resident(SAM + 20)
    first_contact.send(risky)  # no /start: their very first message
    help_now, welcome = await said(first_contact), await said(first_contact)
    assert "116 123" in help_now.plain
    assert welcome.labels == ["Yes", "No"]
    assert "none under way" in (await said(lead)).plain

    at_consent = tg.resident(SAM + 21)
    at_consent.send("/start")
    await said(at_consent)
    at_consent.send(risky)  # typed where Yes or No is asked
    help_now = await said(at_consent)
    assert "116 123" in help_now.plain
    assert "Yes or No" in (await said(at_consent)).plain  # then asked again, as usual
    await said(lead)

    declined = tg.resident(SAM + 22)
    declined.send("/start")
    await said(declined)
    declined.press("No")
    await said(declined)
    declined.send(risky)
    assert "116 123" in (await said(declined)).plain
    await said(declined)
    await said(lead)

    stopped = tg.resident(SAM + 23)
    stopped.send("/stop")
    await said(stopped)
    stopped.send(risky)
    assert "116 123" in (await said(stopped)).plain
    assert "/start" in (await said(stopped)).plain
    await said(lead)

    await lead.no_reply(within=0.3)
    assert await bot.storage.count_answers() == 0
    alerts = [e for e in await bot.storage.audit_log() if e.action == "safeguarding alert"]
    assert len(alerts) == 4


async def test_an_answer_edited_to_show_a_sign_of_risk_still_gets_help_and_an_alert(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """The first version stays the answer; the edit's words are looked at all the same."""
    bot = await start_bot()
    sam, lead = tg.resident(SAM), tg.resident(LEAD)
    await reach_first_question(sam)
    await answer(sam, "The bus service")
    sam.edit(sam.message_ids[-1], "The bus service. Honestly I want to kill myself most days")
    help_now = await said(sam)
    assert "116 123" in help_now.plain
    assert "new message" in (await said(sam)).plain  # the usual word about edits
    assert "kill myself" in (await said(lead)).plain
    assert [row.answer for row in await bot.storage.export_rows()] == ["The bus service"]


async def test_words_sent_with_a_photo_are_looked_at_too(tg: FakeTelegram, start_bot: Any) -> None:
    """A caption is not an answer, but a sign of risk in it gets help and an alert."""
    bot = await start_bot()
    sam, lead = tg.resident(SAM), tg.resident(LEAD)
    await reach_first_question(sam)
    sam.send_photo(caption="This is where he hit me last night")
    assert "0808 2000 247" in (await said(sam)).plain
    assert "type" in (await said(sam)).plain  # and then, as ever, asked for typed words
    assert "he hit me" in (await said(lead)).plain
    assert await bot.storage.count_answers() == 0
