"""Safeguarding contacts write back through the bot (`/respond`, the alert's button): the
resident reads it as a message from the service, and their words reach the contact under their
pseudonym until either side sends /done."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram
from tests.running_bot import said
from tests.test_bot_safeguarding import AT_RISK, LEAD, SAM, answer, reach_first_question, start_bot

__all__ = ["start_bot"]  # the fixture, used by name

ALI = 655
HELLO = "Hello, this is Lee from the housing team. Are you safe right now?"
SAFE = "Yes I am safe now, thank you for asking"


async def test_the_write_back_round_trip_with_its_role_checks(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """The lead taps "Write to this resident" under the alert and writes; the resident (no
    question waiting) answers; /done ends it; the audit log has who and when, not the words; the
    resident's /mydata has both messages; a resident cannot /respond."""
    bot = await start_bot()
    sam, lead, ali = tg.resident(SAM), tg.resident(LEAD), tg.resident(ALI)
    await reach_first_question(sam)
    await answer(sam, AT_RISK)
    alert = await said(lead)
    assert alert.labels == ["Write to this resident"]
    pseudonym = (await bot.storage.resident(SAM, SAM)).pseudonym

    # Someone who is not a contact gets the polite refusal, and nothing is sent.
    ali.send(f"/respond {pseudonym} hello")
    assert "only safeguarding contacts" in (await said(ali)).plain
    ali.press_data(alert.message_id, f"_sgw|{(await bot.storage.resident(SAM, SAM)).id}")
    assert "only safeguarding contacts" in (await said(ali)).plain

    lead.press("Write to this resident")
    assert f"Write your message to {pseudonym}" in (await said(lead)).plain
    lead.send(HELLO)
    assert f"Sent to {pseudonym}" in (await said(lead)).plain
    from_service = await said(sam, timeout=10)
    assert "A message from the service" in from_service.plain
    assert HELLO in from_service.plain

    # Sam is still at a question of the conversation: his words answer it, not the thread.
    sam.send("Somewhere safe to sit in the evenings")
    assert "happy" in (await said(sam)).plain.lower()
    sam.press("Skip")
    await said(sam)
    sam.press("No")
    await said(sam)
    # No question waiting now: his words go to the lead, under his pseudonym only.
    sam.send(SAFE)
    assert "Sent to the team" in (await said(sam)).plain
    to_lead = await said(lead, timeout=10)
    assert f"{pseudonym} wrote" in to_lead.plain
    assert SAFE in to_lead.plain
    assert str(SAM) not in to_lead.plain

    sam.send("/done")
    assert "conversation has ended" in (await said(sam)).plain
    assert f"{pseudonym} ended the conversation" in (await said(lead, timeout=10)).plain
    lead.send("Are you still there?")  # no thread now: an ordinary message, not carried
    await said(lead)
    await sam.no_reply(within=1.0)

    entries = [e for e in await bot.storage.audit_log() if e.action.startswith("safeguarding t")]
    assert [(e.action, e.detail.get("from")) for e in entries] == [
        ("safeguarding thread message", "the contact"),
        ("safeguarding thread message", "the resident"),
        ("safeguarding thread ended", None),
    ]
    assert all(HELLO not in str(e.detail) and SAFE not in str(e.detail) for e in entries)
    sam.send("/mydata")
    data = json.loads((await said(sam, timeout=10)).document or b"{}")
    assert [(m["from"], m["text"]) for m in data["messages_with_the_safeguarding_team"]] == [
        ("the service", HELLO),
        ("you", SAFE),
    ]


async def test_respond_by_pseudonym_and_forgetme_ends_the_thread(
    tg: FakeTelegram, start_bot: Any
) -> None:
    """An admin writes with /respond PSEUDONYM TEXT; after the resident's /forgetme the admin's
    next words reach nobody."""
    bot = await start_bot()
    sam, admin = tg.resident(SAM), tg.resident(ADMIN)
    await reach_first_question(sam)
    await answer(sam, AT_RISK)
    pseudonym = (await bot.storage.resident(SAM, SAM)).pseudonym
    admin.send(f"/respond {pseudonym.lower()} {HELLO}")
    assert f"Sent to {pseudonym}" in (await said(admin)).plain
    assert HELLO in (await said(sam, timeout=10)).plain
    sam.send("/forgetme")
    await said(sam)
    sam.press("Yes, delete it all")
    await said(sam)
    assert await bot.storage.thread_of_contact(ADMIN) is None
