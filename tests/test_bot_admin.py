"""End to end: an admin downloads, edits, uploads, publishes and rolls back a flow in Telegram."""

from __future__ import annotations

import asyncio

import pytest

from bot.staff import NOT_ADMIN
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said
from tests.sample_flows import YOUTH


@pytest.fixture
async def bot(admin_bot: RunningBot) -> RunningBot:
    """The real bot, with one admin."""
    return admin_bot


async def download(admin: Resident) -> str:
    """/flow what-matters: the live YAML, as the document the admin receives."""
    admin.send("/flow what-matters")
    sent = await said(admin)
    assert sent.method == "sendDocument"
    assert sent.filename == "what-matters.yaml"
    assert sent.document is not None
    return sent.document.decode("utf-8")


async def test_an_admin_edits_a_flow_in_telegram(tg: FakeTelegram, bot: RunningBot) -> None:
    """List, download, upload an edit as a draft, publish it, and roll it back; all audited."""
    admin = tg.resident(ADMIN, first_name="Ada")
    admin.send("/flows")
    assert "what-matters — What matters to you, version 1" in (await said(admin)).plain
    source = await download(admin)
    edited = source.replace("Overall, how happy are you", "All in all, how happy are you")
    admin.send_document(edited.encode("utf-8"), "what-matters.yaml", mime_type="text/yaml")
    saved = (await said(admin)).plain
    assert "Saved as the draft of what-matters" in saved
    assert 'reworded step "happy-here"' in saved
    admin.send("/flows")
    assert "a draft is waiting" in (await said(admin)).plain

    admin.send("/publish what-matters")
    published = (await said(admin)).plain
    assert "what-matters version 2 is live" in published
    assert "All in all, how happy are you" in await download(admin)

    admin.send("/rollback what-matters")
    assert "version 1 is live again (was 2)" in (await said(admin)).plain
    assert "Overall, how happy are you" in await download(admin)
    actions = [(entry.actor, entry.action) for entry in await bot.storage.audit_log()]
    assert actions == [(ADMIN, "save draft"), (ADMIN, "publish"), (ADMIN, "rollback")]


BROKEN = {
    "not YAML": b"id: x\n  steps: [oops\n",
    "the wrong shape": b"- id: x\n- kind: text\n",
    "a goto to a missing step": (
        b"id: x\ntitle: X\nsteps:\n  - id: a\n    kind: text\n    text: Hi?\n    next: nowhere\n"
    ),
    "duplicate step ids": (
        b"id: x\ntitle: X\nsteps:\n  - id: a\n    kind: text\n    text: Hi?\n"
        b"  - id: a\n    kind: text\n    text: Again?\n"
    ),
    "an empty flow": b"",
}


@pytest.mark.parametrize("mistake", list(BROKEN))
async def test_a_file_with_mistakes_changes_nothing_and_says_where(
    tg: FakeTelegram, bot: RunningBot, mistake: str
) -> None:
    """Each kind of broken file is refused in plain words, with a line where there is one."""
    admin = tg.resident(ADMIN)
    admin.send_document(BROKEN[mistake], "flow.yaml", mime_type="text/yaml")
    reply = (await said(admin)).plain
    assert reply.startswith("Nothing was changed")
    assert "flow.yaml" in reply
    if mistake != "an empty flow":
        assert "line" in reply
    assert await bot.storage.drafted_flows() == set()
    assert "Traceback" not in reply


async def test_a_file_over_1_mb_is_refused(tg: FakeTelegram, bot: RunningBot) -> None:
    """A file over 1 MB is refused before it is read."""
    admin = tg.resident(ADMIN)
    admin.send_document(b"# " + b"x" * 1_000_001, "huge.yaml", mime_type="text/yaml")
    assert "too big" in (await said(admin)).plain
    assert await bot.storage.drafted_flows() == set()


async def test_non_admins_are_refused_every_admin_action(tg: FakeTelegram, bot: RunningBot) -> None:
    """Every admin command is politely refused to a resident, and their file is no draft."""
    sam = tg.resident(501)
    for command in (
        "/flows", "/flow what-matters", "/publish what-matters", "/rollback what-matters",
        "/preview what-matters", "/broadcast what-matters",
        "/invite", "/staff",
    ):  # fmt: skip
        sam.send(command)
        assert (await said(sam)).plain == NOT_ADMIN
    live = await bot.storage.live_flow("what-matters")
    assert live is not None
    sam.send_document(live.source.encode("utf-8"), "what-matters.yaml", mime_type="text/yaml")
    # Answered as a resident's first message: the conversation begins.
    assert "Are you happy to carry on?" in (await said(sam)).plain
    assert await bot.storage.drafted_flows() == set()
    assert await bot.storage.audit_log() == []
    live_after = await bot.storage.live_flow("what-matters")
    assert live_after is not None
    assert live_after.version == 1


async def test_a_preview_runs_the_draft_and_keeps_its_answers_apart(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/preview shows the draft as residents will see it; its answers never reach the answers."""
    admin = tg.resident(ADMIN)
    source = await download(admin)
    draft = source.replace("What matters to you about living here?", "What do you love here?")
    admin.send_document(draft.encode("utf-8"), "what-matters.yaml", mime_type="text/yaml")
    assert "/preview what-matters" in (await said(admin)).plain
    admin.send("/preview what-matters")
    assert "Preview of what-matters" in (await said(admin)).plain
    assert (await said(admin)).labels == ["Yes", "No"]
    admin.press("Yes")
    assert "What do you love here?" in (await said(admin)).plain
    admin.send("The canal path")
    await said(admin)
    admin.send("More benches")
    await said(admin)
    admin.press("Skip")
    await said(admin)
    admin.press("No")
    assert "Thank you" in (await said(admin)).plain
    assert "Your 3 answers were kept apart" in (await said(admin)).plain
    assert await bot.storage.count_answers() == 0
    assert await bot.storage.export_rows() == []
    # Out of the preview, the admin is an ordinary resident on the live version.
    admin.send("/start")
    assert "Are you happy to carry on?" in (await said(admin)).plain


async def test_start_leaves_a_preview(tg: FakeTelegram, bot: RunningBot) -> None:
    """/start in the middle of a preview leaves it; nothing of it is kept."""
    admin = tg.resident(ADMIN)
    admin.send("/preview what-matters")
    await admin.replies(2)
    admin.send("/start")
    assert "Are you happy to carry on?" in (await said(admin)).plain
    assert await bot.storage.preview(ADMIN) is None


async def answer_everything(resident: Resident, hear_back: str) -> None:
    """Complete the shipped flow, saying `hear_back` (Yes/No) to hearing what changes."""
    resident.send("/start")
    await said(resident)
    resident.press("Yes")
    await said(resident)
    for words in ("Safe streets", "More buses"):
        resident.send(words)
        await said(resident)
    resident.press("Skip")
    await said(resident)
    resident.press(hear_back)
    await said(resident)


async def test_a_broadcast_invites_only_those_who_said_yes_and_never_after_stop(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Residents who said yes are invited once; a no, a /stop and a block are respected."""
    yes, no, stopped, blocked = (tg.resident(n) for n in (601, 602, 603, 604))
    await answer_everything(yes, "Yes")
    await answer_everything(no, "No")
    await answer_everything(stopped, "Yes")
    stopped.send("/stop")
    await said(stopped)
    await answer_everything(blocked, "Yes")
    tg.block(604)
    await bot.storage.publish_flow("youth-voice", YOUTH)

    admin = tg.resident(ADMIN)
    admin.send("/broadcast youth-voice")
    assert "Inviting 2 residents" in (await said(admin)).plain
    invite = await said(yes)
    assert "Youth voice" in invite.plain
    assert "/start youth-voice" in invite.plain
    await asyncio.sleep(0.3)
    # Nothing new to the others (the edits that took away spent buttons came before).
    assert all(m.edited for m in no.unread() + stopped.unread())
    assert (await bot.storage.resident(604, 604)).blocked
    yes.send("/start youth-voice")
    assert (await said(yes)).plain == "Can we ask you about the youth club?"

    admin.send("/broadcast youth-voice")
    assert "Inviting 0 residents" in (await said(admin)).plain  # nobody twice
    await asyncio.sleep(0.3)
    assert all(m.edited for m in yes.unread())
    assert (await bot.storage.audit_log())[-1].action == "broadcast"
