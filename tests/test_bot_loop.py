"""You said, we did, end to end through the local Bot API server: staff record an action on a
theme; exactly the residents who raised it and opted in hear of it, once; their reactions and
replies are kept as answers of the loop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot import cli
from services.actions import FLOW_ID
from storage import Storage
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said
from tests.spoken import answered
from tests.test_bot_staff import invite_and_join

SAM, ALI, KIM, JO = 701, 702, 703, 704
REPAIRS = "Repairs take forever. I reported a leak in March and nobody came"
ACTION_TEXT = "Every flat on Mill Lane will be checked for damp in January"


async def complete_flow(resident: Resident, matters: str, *, hear_back: bool) -> None:
    """A resident answers the whole shipped flow, saying yes or no to hearing back."""
    resident.send("/start")
    await said(resident)
    resident.press("Yes")
    await said(resident)
    resident.send(matters)
    await said(resident)
    resident.send("Someone to answer the phone")
    await said(resident)
    resident.press("2")
    await said(resident)
    resident.press("Yes" if hear_back else "No")
    await said(resident)


async def record_action(admin: Resident, theme: str, text: str, status: str) -> str:
    """An admin walks through /yousaid THEME and confirms; returns the preview they saw."""
    admin.send(f"/yousaid {theme}")
    assert "What is the service doing about" in (await said(admin)).text
    admin.send(text)
    statuses = ["heard", "planned", "in progress", "done", "not possible"]
    assert (await said(admin)).labels[:5] == statuses
    admin.press(status)
    preview = await said(admin)
    assert preview.labels[-1] == "Cancel"
    admin.press(preview.labels[0])
    assert "Recorded as action #" in (await said(admin)).text
    return preview.plain


async def loop_answers(database: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The loop's rows of `whatmatters export --format jsonl --as-written`."""
    monkeypatch.setenv("WHATMATTERS_DATABASE", str(database))
    import io

    with io.StringIO() as out:
        monkeypatch.setattr("sys.stdout", out)
        code = await asyncio.to_thread(cli.main, ["export", "--format", "jsonl", "--as-written"])
        printed = out.getvalue()
    assert code == 0
    rows = [json.loads(line) for line in printed.splitlines() if line.strip()]
    return [row for row in rows if row["flow"] == FLOW_ID]


async def test_an_action_reaches_exactly_the_residents_who_raised_it_and_opted_in(
    tg: FakeTelegram, admin_bot: RunningBot, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sam (repairs, yes) hears once with his own words quoted; Ali (repairs, no), Kim (another
    theme) and Jo (repairs, then /stop) hear nothing; reactions replace each other; a reply with
    no question waiting is kept as an answer of the loop."""
    sam, ali, kim, jo = (tg.resident(n) for n in (SAM, ALI, KIM, JO))
    await complete_flow(sam, REPAIRS, hear_back=True)
    await complete_flow(ali, "The repairs team never turns up when they say", hear_back=False)
    await complete_flow(kim, "The park is lovely and the children play there", hear_back=True)
    await complete_flow(jo, "Repairs are slow, the boiler broke twice", hear_back=True)
    jo.send("/stop")
    await said(jo)

    admin = tg.resident(ADMIN)
    admin.send("/yousaid")
    listing = (await said(admin)).plain
    assert "Repairs" in listing
    assert "no action yet" in listing
    preview = await record_action(admin, "repairs", ACTION_TEXT, "planned")
    assert "It will go to 1 resident who raised Repairs" in preview
    assert ACTION_TEXT in preview

    told = await said(sam, timeout=10)
    assert "You said, we did: Repairs" in told.plain
    assert "I reported a leak in March" in told.plain
    assert ACTION_TEXT in told.plain
    assert "Where it stands: planned" in told.plain
    assert told.labels == ["This helps", "Not enough"]
    await asyncio.sleep(0.5)
    for person in (ali, kim, jo):
        assert not [m for m in person.messages if "You said, we did" in m.plain]

    sam.press("Not enough")
    assert "not enough" in (await said(sam)).text
    sam.press("This helps")
    assert "helps" in (await said(sam)).text
    sam.send("Thank you, but the damp in the bedroom is back already")
    assert "The team will read" in (await said(sam)).text

    rows = await loop_answers(database, monkeypatch)
    assert [(row["step"], row["answer"]) for row in rows] == [
        ("action-1", "helps"),
        ("action-1", "Thank you, but the damp in the bedroom is back already"),
    ]
    admin.send("/actions")
    listed = (await said(admin)).plain
    assert "told 1 · helps 1 · not enough 0 · replies 1" in listed

    admin.send("/digest")
    digest = (await said(admin, timeout=10)).plain
    assert "You said, we did\n• Repairs — planned (new) · 1 told · 1 helps · 0 not enough" in digest
    assert "“Thank you, but the damp in the bedroom is back already” — " in digest
    assert "Response rate: 1 of " in digest
    for _ in range(2):  # the chart and the CSV
        await said(admin, timeout=10)

    # The same status again tells nobody twice; a new status tells Sam once more.
    admin.press("Update #1 Repairs")
    await said(admin)
    admin.press("done")
    confirm = await said(admin)
    assert "It will go to 1 resident" in confirm.plain
    admin.press(confirm.labels[0])
    await said(admin)
    assert "Where it stands: done" in (await said(sam, timeout=10)).plain
    await asyncio.sleep(1.0)
    assert len([m for m in sam.messages if "You said, we did" in m.plain]) == 2


async def test_yousaid_and_actions_refuse_anyone_who_is_not_staff(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """A resident sending /yousaid, /actions or pressing a forged walk-through button gets the
    polite refusal, and nothing is recorded."""
    sam = tg.resident(SAM)
    for command in ("/yousaid", "/yousaid repairs", "/actions"):
        sam.send(command)
        assert "for staff of the service" in (await said(sam)).text
    sam.press_data(1, "_yw|send")
    assert "for staff of the service" in (await said(sam)).text
    assert await admin_bot.storage.action_summaries() == []


async def test_changes_shows_anyone_what_the_service_is_doing(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """/changes lists the latest actions with theme, status and text; before any, says so."""
    sam = tg.resident(SAM)
    sam.send("/changes")
    assert "has not posted any changes yet" in (await said(sam)).text
    await record_action(tg.resident(ADMIN), "Repairs", ACTION_TEXT, "in progress")
    sam.send("/changes")
    shown = (await said(sam)).plain
    assert "Repairs — in progress" in shown
    assert ACTION_TEXT in shown


async def test_bad_action_text_and_unknown_themes_get_clear_answers(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """An unknown theme names the known ones; a 1,001-character text is refused and asked for
    again; nothing is recorded until a good text and a status are given."""
    admin = tg.resident(ADMIN)
    admin.send("/yousaid lifts and escalators")
    refused = (await said(admin)).plain
    assert "unknown theme" in refused
    assert "Repairs" in refused
    admin.send("/yousaid repairs")
    await said(admin)
    admin.send("x" * 1001)
    assert "1,001 characters" in (await said(admin)).text
    admin.send("   ")
    assert "empty" in (await said(admin)).text
    assert await admin_bot.storage.action_summaries() == []
    admin.send("/cancel")
    assert "Cancelled" in (await said(admin)).text


async def _spoke_about_repairs(storage: Storage, user_ids: range) -> None:
    """Residents who answered about repairs and said yes to hearing back, stored as the bot
    stores them (their chats exist on the local server once `tg.resident` is called)."""
    for user_id in user_ids:
        resident = await storage.resident(user_id, user_id)
        words = f"Repairs take forever ({user_id})"
        await storage.save_turns(answered(resident.id, words, "Repairs", hear_back=True))


def _told(person: Resident) -> list[str]:
    return [m.plain for m in person.messages if not m.edited and "You said, we did" in m.plain]


async def test_each_resident_hears_once_through_429s_and_a_restart_and_not_after_stop(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """30 opted-in residents: with 429s on a fifth of sends and the bot restarted mid-way, each
    gets exactly one message; one who sends /stop after it was queued gets none."""
    people = [tg.resident(n) for n in range(7_000, 7_030)]
    await _spoke_about_repairs(admin_bot.storage, range(7_000, 7_030))
    quitter = people[-1]
    tg.fail("sendMessage", 429, retry_after=2)  # the first send waits: /stop overtakes it
    await record_action(tg.resident(ADMIN), "Repairs", ACTION_TEXT, "planned")
    quitter.send("/stop")
    await said(quitter, timeout=10)
    tg.fail_randomly(["sendMessage"], rate=0.2, seed=5, kinds=(429,), retry_after=1)
    await tg.wait_for_call("sendMessage", count=12, timeout=20)
    await admin_bot.restart()
    for _ in range(300):  # at most 30 s
        if all(len(_told(person)) == 1 for person in people[:-1]):
            break
        await asyncio.sleep(0.1)
    tg.clear_faults()
    await asyncio.sleep(1.5)
    assert [len(_told(person)) for person in people[:-1]] == [1] * 29
    assert _told(quitter) == []


async def test_a_member_of_staff_removed_mid_way_sends_nothing(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """Removed after the preview, their Send is refused and no action is recorded."""
    await _spoke_about_repairs(admin_bot.storage, range(7_100, 7_101))
    priya = await invite_and_join(tg, "Priya", 7_200)
    priya.send("/yousaid repairs")
    await said(priya)
    priya.send(ACTION_TEXT)
    await said(priya)
    priya.press("planned")
    preview = await said(priya)
    admin = tg.resident(ADMIN)
    admin.send("/staff")
    await said(admin)
    admin.press("Remove Priya")
    await said(admin)
    priya.press(preview.labels[0])
    assert "for staff of the service" in (await said(priya)).plain
    assert await admin_bot.storage.action_summaries() == []
    await asyncio.sleep(0.5)
    assert _told(tg.resident(7_100)) == []


async def test_a_theme_nobody_opted_in_about_is_recorded_and_tells_nobody(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """The preview says 0 will be told; the action is still recorded and listed."""
    admin = tg.resident(ADMIN)
    preview = await record_action(admin, "Bins and waste", "Bins emptied twice a week", "done")
    assert "so 0 will be told" in preview
    [summary] = await admin_bot.storage.action_summaries()
    assert (summary.action.theme, summary.told) == ("Bins and waste", 0)


async def test_not_enough_on_a_done_action_marks_it_disputed_and_long_replies_are_kept(
    tg: FakeTelegram, admin_bot: RunningBot
) -> None:
    """ "Not enough" under an action marked done flags it in /actions; a 4,097-character reply is
    kept whole; /mydata holds the reaction and the reply."""
    sam = tg.resident(SAM)
    await complete_flow(sam, REPAIRS, hear_back=True)
    admin = tg.resident(ADMIN)
    await record_action(admin, "repairs", ACTION_TEXT, "done")
    await said(sam, timeout=10)
    sam.press("Not enough")
    await said(sam)
    long_reply = ("The damp is still there. " * 200)[:4097]
    sam.send(long_reply)
    assert "The team will read" in (await said(sam)).plain
    admin.send("/actions")
    assert "disputed" in (await said(admin)).plain
    sam.send("/mydata")
    export = await said(sam, timeout=10)
    assert export.document is not None
    answers = json.loads(export.document)["answers"]
    mine = [(a["flow_id"], a["answer"]) for a in answers if a["flow_id"] == FLOW_ID]
    assert mine == [(FLOW_ID, "not enough"), (FLOW_ID, long_reply)]
