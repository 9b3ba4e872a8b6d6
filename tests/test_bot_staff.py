"""End to end: admins invite staff, staff join, and the digest reaches them once, whole."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
from pathlib import Path

import pytest

from bot.staff import NOT_ADMIN, NOT_STAFF
from insights import redact
from services.digest import Digests
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import BotProcess, RunningBot, said, settings_for

PRIYA = 801
TOM = 802

# Made-up residents' answers: (what matters, the biggest difference).
ANSWERS = [
    ("The boiler has been broken for three weeks and nobody has come to repair it",
     "Repairs done on time, and call me on 07700 900123 when you are coming"),
    ("Black mould in the bathroom again, the damp is making my son ill",
     "Someone to fix the damp properly"),
    ("Bins are left for days and the rubbish attracts rats",
     "Weekly bin collections"),
]  # fmt: skip


@pytest.fixture
async def bot(admin_bot: RunningBot) -> RunningBot:
    """The real bot, with one admin."""
    return admin_bot


async def complete_flow(resident: Resident, matters: str, difference: str) -> None:
    """A resident answers the whole shipped flow."""
    resident.send("/start")
    await said(resident)
    resident.press("Yes")
    await said(resident)
    resident.send(matters)
    await said(resident)
    resident.send(difference)
    await said(resident)
    resident.press("2")
    await said(resident)
    resident.press("Yes")
    await said(resident)


async def invite_and_join(tg: FakeTelegram, name: str, user_id: int) -> Resident:
    """The admin makes a code; the colleague joins with it."""
    admin = tg.resident(ADMIN, first_name="Ada")
    admin.send("/invite")
    invite = await said(admin)
    match = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", invite.text)
    assert match is not None, invite.text
    member = tg.resident(user_id, first_name=name)
    member.send(f"/join {match[0].lower()}")  # typed in lower case: still accepted
    assert f"Welcome, {name}" in (await said(member)).plain
    return member


async def test_invited_staff_get_a_digest_with_counts_themes_quotes_and_attachments(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """After residents answer, a member of staff asks for the digest and gets all of it."""
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    priya.send("/digest")
    digest = await said(priya)
    text = digest.plain
    assert "3 residents gave 12 answers" in text
    assert "Repairs" in text
    assert "Damp and mould" in text
    assert "Bins and waste" in text
    # Verbatim quotes, with the phone number redacted.
    assert "Black mould in the bathroom again, the damp is making my son ill" in text
    assert "07700 900123" not in text
    assert "Scores" in text
    assert "2.0 out of 5 (3 answers)" in text
    chart = await said(priya)
    assert chart.method == "sendPhoto"
    assert chart.document is not None
    assert chart.document.startswith(b"\x89PNG")
    sheet = await said(priya)
    assert sheet.method == "sendDocument"
    assert sheet.document is not None
    rows = list(csv.DictReader(io.StringIO(sheet.document.decode("utf-8-sig"))))
    assert len(rows) == 12
    assert all("07700" not in row["answer"] for row in rows)
    assert {row["resident"] for row in rows}.isdisjoint({"600", "601", "602", "Sam"})
    log = await bot.storage.audit_log()
    assert [entry.action for entry in log] == ["invite", "join"]


async def test_staff_commands_are_refused_to_residents_and_admin_ones_to_staff(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A resident cannot read the digest; staff cannot invite or list staff; nothing changes."""
    sam = tg.resident(501)
    for command in ("/digest", "/theme repairs", "/invite", "/staff"):
        sam.send(command)
        assert (await said(sam)).plain in (NOT_STAFF, NOT_ADMIN)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    for command in ("/invite", "/staff"):
        priya.send(command)
        assert (await said(priya)).plain == NOT_ADMIN
    assert [member.name for member in await bot.storage.staff_members()] == ["Priya"]
    assert [entry.action for entry in await bot.storage.audit_log()] == ["invite", "join"]


async def test_an_invite_code_works_once(tg: FakeTelegram, bot: RunningBot) -> None:
    """A second person using the same code is turned away."""
    admin = tg.resident(ADMIN)
    admin.send("/invite")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", (await said(admin)).text)
    assert code is not None
    first, second = tg.resident(PRIYA, first_name="Priya"), tg.resident(TOM, first_name="Tom")
    first.send(f"/join {code[0]}")
    assert "Welcome" in (await said(first)).plain
    second.send(f"/join {code[0]}")
    assert "doesn't work" in (await said(second)).plain
    assert [member.name for member in await bot.storage.staff_members()] == ["Priya"]


async def test_an_admin_lists_and_removes_staff(tg: FakeTelegram, bot: RunningBot) -> None:
    """/staff lists members with Remove buttons; pressing one removes them, and it is audited."""
    await invite_and_join(tg, "Priya", PRIYA)
    await invite_and_join(tg, "Tom", TOM)
    admin = tg.resident(ADMIN)
    admin.send("/staff")
    listing = await said(admin)
    assert "1. Priya" in listing.plain
    assert "2. Tom" in listing.plain
    admin.press("Remove Tom")
    assert "Tom was removed" in (await said(admin)).plain
    assert [member.name for member in await bot.storage.staff_members()] == ["Priya"]
    last = (await bot.storage.audit_log())[-1]
    assert (last.action, last.detail) == ("remove staff", {"staff": "Tom", "staff_id": 2})
    # A non-admin pressing the same kind of button changes nothing.
    priya = tg.resident(PRIYA)
    priya.press_data(listing.message_id, "staff:rm:1")
    await tg.wait_for_call("answerCallbackQuery", count=2)
    assert [member.name for member in await bot.storage.staff_members()] == ["Priya"]


async def test_theme_sends_more_quotes_on_one_theme(tg: FakeTelegram, bot: RunningBot) -> None:
    """/theme NAME sends the theme's quotes, redacted; an unknown name lists the themes."""
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    priya.send("/theme repairs")
    quotes = (await said(priya)).plain
    assert quotes.startswith("Repairs:")
    assert "The boiler has been broken for three weeks" in quotes
    assert "[phone]" in quotes
    priya.send("/theme parking")
    assert "Themes in the last four weeks" in (await said(priya)).plain


async def test_a_digest_interrupted_by_a_crash_is_finished_once(
    tg: FakeTelegram, database: Path
) -> None:
    """The bot process is killed part-way through a digest; restarted, it sends each part once."""
    settings = settings_for(tg, database, admins=[ADMIN])
    in_process = RunningBot(tg, settings)
    await in_process.start()
    staff = [await invite_and_join(tg, name, 810 + n) for n, name in enumerate("ABC")]
    await in_process.stop()

    # Last week's digest has not gone out (there were no staff then): the next start sends it.
    process = BotProcess(tg, settings)
    await process.start()
    # Everyone's text has arrived (the chats are taken in turn); each chat's next part waits
    # out its one-second spacing: kill the sender there.
    await tg.wait_for_message(staff[2].chat_id, count=2, timeout=20)
    await asyncio.sleep(0.3)
    await process.kill()
    assert len(tg.messages_to(staff[0].chat_id)) == 2  # A's welcome and text, no more yet
    await process.start()
    try:
        for member in staff:
            await tg.wait_for_message(member.chat_id, count=3, timeout=20)
        await asyncio.sleep(1.5)  # anything sent twice would have arrived by now
    finally:
        await process.stop()
    for member in staff:
        methods = [message.method for message in tg.messages_to(member.chat_id)]
        assert methods == ["sendMessage", "sendMessage", "sendDocument"]


async def test_429s_during_a_digest_are_waited_out(tg: FakeTelegram, bot: RunningBot) -> None:
    """Telegram's flood control during /digest delays the parts; each still arrives once."""
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    priya = await invite_and_join(tg, "Priya", PRIYA)
    tg.fail("sendPhoto", 429, retry_after=1)
    priya.send("/digest")
    parts = await priya.replies(3, timeout=15)
    assert [part.method for part in parts] == ["sendMessage", "sendPhoto", "sendDocument"]
    await priya.no_reply(within=1.0)


async def test_a_missed_weekly_digest_is_sent_at_start_up_once(
    tg: FakeTelegram, database: Path
) -> None:
    """A bot that was down at digest time sends that week's digest when it starts, and only once."""
    settings = settings_for(tg, database, admins=[ADMIN])
    running = RunningBot(tg, settings)
    await running.start()
    try:
        priya = await invite_and_join(tg, "Priya", PRIYA)
        # No staff at the first start: last week's digest waited. Now there is someone to read it.
        await running.restart()
        weekly = await said(priya)
        assert "What residents told us this week" in weekly.plain
        assert (await said(priya)).method == "sendDocument"  # no themes, so no chart
        await running.restart()
        await priya.no_reply(within=1.5)
    finally:
        await running.stop()


async def test_the_weekly_job_runs_at_the_configured_local_time(
    tg: FakeTelegram, database: Path
) -> None:
    """`wed 17:30` in Europe/London becomes a weekly JobQueue job on Wednesdays at 17:30 there."""
    from zoneinfo import ZoneInfo

    from bot.app import build_application, schedule_jobs
    from bot.outbox import Outbox
    from services import build_services

    settings = settings_for(tg, database, digest_schedule="wed 17:30", timezone="Europe/London")
    async with build_services(settings) as services:
        storage = services.storage
        app = build_application(settings, services)
        digests = Digests(storage, ZoneInfo("Europe/London"), redact)
        schedule_jobs(app, settings, digests, Outbox(storage, app.bot), services.conversations)
    assert app.job_queue is not None
    (weekly,) = app.job_queue.get_jobs_by_name("weekly digest")
    trigger = weekly.job.trigger
    fields = {field.name: str(field) for field in trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("wed", "17", "30")
    assert str(trigger.timezone) == "Europe/London"


async def test_digest_send_from_the_command_line_reaches_every_member_of_staff(
    tg: FakeTelegram, database: Path
) -> None:
    """`whatmatters digest send` queues the digest and sends it to each member of staff now."""
    settings = settings_for(tg, database, admins=[ADMIN])
    running = RunningBot(tg, settings)
    await running.start()
    await complete_flow(tg.resident(600), *ANSWERS[1])
    staff = [await invite_and_join(tg, name, 820 + n) for n, name in enumerate(("Priya", "Tom"))]
    await running.stop()
    command = BotProcess(tg, settings)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "digest",
        "send",
        env=command.env,
        cwd=database.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "6 messages queued for staff; 6 sent now." in out.decode()
    for member in staff:
        sent = tg.messages_to(member.chat_id)[1:]  # after the welcome
        assert [message.method for message in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
        assert "1 resident gave 4 answers" in sent[0].plain
