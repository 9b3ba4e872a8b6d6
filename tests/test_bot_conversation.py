"""End to end through the local Bot API server: residents hold a whole conversation with the bot."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from bot import cli, wording
from conversations import wording as engine_wording
from storage import SQLiteStorage
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said, settings_for
from tests.sample_flows import BILINGUAL, YOUTH

SAM = 501


async def answer_up_to_first_question(resident: Resident) -> None:
    """Start, agree, and read the first open question."""
    resident.send("/start")
    assert (await said(resident)).labels == ["Yes", "No"]
    resident.press("Yes")
    assert "What matters to you" in (await said(resident)).text


async def export(database: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """Run `whatmatters export` on the test database and return what it printed."""
    monkeypatch.setenv("WHATMATTERS_DATABASE", str(database))
    with io.StringIO() as out:
        monkeypatch.setattr("sys.stdout", out)
        # The command line runs its own event loop, as it does from a shell.
        assert await asyncio.to_thread(cli.main, ["export", *args]) == 0
        return out.getvalue()


async def test_a_resident_completes_the_flow_and_their_answers_are_exported(
    tg: FakeTelegram,
    bot: RunningBot,
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every answer of a completed conversation is in `whatmatters export`, under a pseudonym."""
    sam = tg.resident(SAM, first_name="Samira")
    await answer_up_to_first_question(sam)

    sam.send("Feeling safe walking home, and a bus that comes on time.")
    assert "biggest difference" in (await said(sam)).text
    # The reply came only after the answer was committed.
    assert await bot.storage.count_answers() == 1

    sam.send("More street lights on the path by the park.")
    scale = await said(sam)
    assert scale.labels == ["1", "2", "3", "4", "5", "Skip"]
    sam.press("4")
    assert (await said(sam)).labels == ["Yes", "No"]
    sam.press("Yes")
    assert "Thank you" in (await said(sam)).text

    rows = list(csv.DictReader(io.StringIO(await export(database, monkeypatch))))
    assert [(row["step"], row["answer"]) for row in rows] == [
        ("matters", "Feeling safe walking home, and a bus that comes on time."),
        ("biggest-difference", "More street lights on the path by the park."),
        ("happy-here", "4"),
        ("hear-back", "yes"),
    ]
    assert list(rows[0]) == list(cli.EXPORT_COLUMNS)
    pseudonym = rows[0]["resident"]
    assert {row["resident"] for row in rows} == {pseudonym}
    assert "Samira" not in pseudonym
    assert str(SAM) not in pseudonym
    assert {(row["flow"], row["flow_version"]) for row in rows} == {("what-matters", "1")}
    assert rows[0]["question"].startswith("What matters to you about living here?")
    assert rows[0]["answered_at"][-6:] in ("+00:00", "+01:00")  # Europe/London, with offset
    # Open answers were analysed when they arrived; pressed buttons are not text to analyse.
    assert "Transport" in rows[0]["themes"].split(";")
    assert -1.0 <= float(rows[0]["sentiment"]) <= 1.0
    assert (rows[2]["themes"], rows[2]["sentiment"]) == ("", "")
    resident = await bot.storage.resident(SAM, SAM)
    assert resident.follow_up_consent is True

    lines = (await export(database, monkeypatch, "--format", "jsonl")).splitlines()
    assert [json.loads(line)["answer"] for line in lines][2:] == ["4", "yes"]


async def test_the_export_replaces_personal_details_unless_asked_for_answers_as_written(
    tg: FakeTelegram,
    bot: RunningBot,
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Privacy by default: `export` redacts as staff quotes are; `--as-written` does not."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    words = "Call me on 07700 900123 or write to sam@example.org about the lift at 12 Mill Lane"
    sam.send(words)
    await said(sam)

    redacted = next(csv.DictReader(io.StringIO(await export(database, monkeypatch))))["answer"]
    assert "07700 900123" not in redacted
    assert "sam@example.org" not in redacted
    assert "12 Mill Lane" not in redacted
    assert redacted.startswith("Call me on ")
    as_written = await export(database, monkeypatch, "--as-written", "--format", "jsonl")
    assert json.loads(as_written.splitlines()[0])["answer"] == words


async def test_a_resident_who_declines_consent_has_no_answers_stored(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Saying no to consent is met kindly, and nothing the resident says afterwards is stored."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    sam.press("No")
    assert "Thank you for your time" in (await said(sam)).text
    sam.send("Actually the bins are never collected")
    assert "send /start" in (await said(sam)).text
    assert await bot.storage.count_answers() == 0


@pytest.mark.parametrize(
    ("send", "words"),
    [
        ("send_sticker", "stickers"),
        ("send_photo", "photos"),
        ("send_voice", "voice messages"),
        ("send_video", "videos"),
        ("send_location", "locations"),
        ("send_contact", "contacts"),
        ("send_document", "files"),
    ],
)
async def test_media_instead_of_words_is_asked_for_again_and_nothing_is_lost(
    tg: FakeTelegram, bot: RunningBot, send: str, words: str
) -> None:
    """A sticker, photo, voice note and the like get a kind request for typed words."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    if send == "send_document":
        sam.send_document(b"%PDF-1.4", "letter.pdf", mime_type="application/pdf")
    else:
        getattr(sam, send)()
    refusal = await said(sam)
    assert words in refusal.text
    assert "type your answer" in refusal.text
    assert "What matters to you" in (await said(sam)).text  # the same question, asked again
    sam.send("Quiet neighbours")
    assert "biggest difference" in (await said(sam)).text
    assert await bot.storage.count_answers() == 1


async def test_typed_words_matching_a_button_count_as_pressing_it(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Where a button is expected, its label typed in any case is accepted; other words re-ask."""
    sam = tg.resident(SAM)
    sam.send("/start")
    await said(sam)
    sam.send("  YES ")
    assert "What matters to you" in (await said(sam)).text
    sam.send("Parks")
    await said(sam)
    sam.send("Cleaner streets")
    await said(sam)  # the 1–5 question
    sam.send("pretty good really")
    assert (await said(sam)).text == engine_wording.PICK_NUMBER
    again = await said(sam)
    assert again.labels == ["1", "2", "3", "4", "5", "Skip"]
    sam.send("skip")
    assert (await said(sam)).labels == ["Yes", "No"]
    sam.send("no")
    await said(sam)
    rows = await bot.storage.export_rows()
    assert [(row.step, row.answer) for row in rows] == [
        ("matters", "Parks"),
        ("biggest-difference", "Cleaner streets"),
        ("hear-back", "no"),
    ]
    assert (await bot.storage.resident(SAM, SAM)).follow_up_consent is False


async def test_empty_words_are_asked_for_again(tg: FakeTelegram, bot: RunningBot) -> None:
    """A text of only spaces is not an answer: the resident is asked again, kindly."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("   \n  ")
    assert (await said(sam)).text == engine_wording.EMPTY_TEXT
    assert await bot.storage.count_answers() == 0


async def test_a_long_answer_is_stored_whole_and_a_huge_one_refused(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """4,500 characters are kept exactly as sent; over 10,000 are kindly refused, nothing lost."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    huge = "The lift is broken again. " * 400
    sam.send(huge)
    assert (await said(sam)).text == engine_wording.TOO_LONG
    assert await bot.storage.count_answers() == 0
    long = ("Our estate needs a proper community space for young people. " * 80)[:4500]
    sam.send(long)
    assert "biggest difference" in (await said(sam)).text
    rows = await bot.storage.export_rows()
    assert [row.answer for row in rows] == [long.strip()]


async def test_an_edited_answer_keeps_the_first_version(tg: FakeTelegram, bot: RunningBot) -> None:
    """Editing a sent answer changes nothing stored; the resident hears how to add to it."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("The play park")
    await said(sam)
    assert sam.last_message_id is not None
    sam.edit(sam.last_message_id, "The play park and the library")
    assert (await said(sam)).text == wording.EDITED
    rows = await bot.storage.export_rows()
    assert [row.answer for row in rows] == ["The play park"]
    sam.send("Longer opening hours")
    await said(sam)
    assert await bot.storage.count_answers() == 2


async def test_an_unknown_command_points_to_help_and_the_flow_stays(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """An unknown command gets a pointer to /help, and is not taken as an answer."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("/frobnicate")
    assert (await said(sam)).text == wording.UNKNOWN_COMMAND
    sam.send("/help")
    assert "/stop" in (await said(sam)).text
    sam.send("Good schools")
    assert "biggest difference" in (await said(sam)).text
    assert [row.answer for row in await bot.storage.export_rows()] == ["Good schools"]


async def test_a_group_chat_is_pointed_to_a_private_chat(tg: FakeTelegram, bot: RunningBot) -> None:
    """In a group the bot says it talks one to one, and stores nothing about anyone."""
    sam = tg.resident(SAM)
    sam.send_in_group("/start", group_id=-100777)
    message = await tg.wait_for_message(-100777)
    assert message.text == wording.GROUP_CHAT
    sam.send_in_group("The bins are a disgrace", group_id=-100777)
    await tg.wait_for_message(-100777, count=2)
    assert await bot.storage.count_answers() == 0
    assert await bot.storage.active_session(1) is None
    await sam.no_reply(within=0.2)


async def test_a_second_start_mid_flow_resumes(tg: FakeTelegram, bot: RunningBot) -> None:
    """/start in the middle of a flow carries on at the same question, keeping the answers."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("A doctor's appointment within a week")
    await said(sam)
    sam.send("/start")
    assert "Welcome back" in (await said(sam)).text
    assert "biggest difference" in (await said(sam)).text
    sam.send("Evening appointments")
    assert (await said(sam)).labels[:5] == ["1", "2", "3", "4", "5"]
    assert await bot.storage.count_answers() == 2


async def test_a_bot_restarted_mid_flow_resumes_at_the_same_step(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """After a restart the resident's next message answers the question they were on."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("Somewhere safe for the kids to play")
    await said(sam)
    await bot.restart()
    sam.send("Fix the broken swings")
    assert (await said(sam)).labels[:5] == ["1", "2", "3", "4", "5"]
    rows = await bot.storage.export_rows()
    assert [row.step for row in rows] == ["matters", "biggest-difference"]


async def test_the_same_update_delivered_twice_stores_one_answer(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A repeated update (same update_id) is neither stored nor answered twice."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    update_id = sam.send("Buses on Sundays")
    await said(sam)
    tg.redeliver(update_id)
    await tg.wait_until_confirmed(update_id, timeout=5)
    await sam.no_reply(within=0.3)
    assert await bot.storage.count_answers() == 1


async def test_stop_mid_flow_is_honoured_until_start(tg: FakeTelegram, bot: RunningBot) -> None:
    """/stop pauses the flow: nothing is taken as an answer until /start resumes it."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.send("/stop")
    assert (await said(sam)).text == wording.STOPPED
    assert (await bot.storage.resident(SAM, SAM)).stopped
    sam.send("Potholes")
    assert (await said(sam)).text == wording.STOPPED_HINT
    assert await bot.storage.count_answers() == 0
    sam.send("/start")
    await said(sam)  # welcome back
    assert "What matters to you" in (await said(sam)).text
    assert not (await bot.storage.resident(SAM, SAM)).stopped


async def test_a_stale_button_shows_the_current_question(tg: FakeTelegram, bot: RunningBot) -> None:
    """Pressing a button of an earlier question stores nothing and shows the current one."""
    sam = tg.resident(SAM)
    sam.send("/start")
    consent = await said(sam)
    sam.press("Yes")
    await said(sam)
    sam.press_data(consent.message_id, "consent|no")
    assert (await said(sam)).text == engine_wording.MOVED_ON
    assert "What matters to you" in (await said(sam)).text
    assert (await bot.storage.active_session(1)) is not None
    sam.press_data(consent.message_id, "not|even|button|data")
    assert (await said(sam)).text == engine_wording.MOVED_ON
    assert "What matters to you" in (await said(sam)).text


async def test_a_resident_who_blocked_the_bot_is_marked_and_nothing_breaks(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A blocked bot stores the answer, marks the resident, and goes on serving others."""
    sam, ada = tg.resident(SAM), tg.resident(502)
    await answer_up_to_first_question(sam)
    tg.block(SAM)
    sam.send("Less litter")
    await tg.wait_for_call("sendMessage", count=3)
    ada.send("/start")
    assert (await said(ada)).labels == ["Yes", "No"]
    assert (await bot.storage.resident(SAM, SAM)).blocked
    assert await bot.storage.count_answers() == 1
    tg.unblock(SAM)
    sam.send("/start")
    await said(sam)
    assert not (await bot.storage.resident(SAM, SAM)).blocked


async def test_blocking_the_bot_is_noted_from_telegrams_notice(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Telegram's my_chat_member notice of a block marks the resident as blocked."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    sam.block_bot()
    for _ in range(100):  # at most 2 s
        if (await bot.storage.resident(SAM, SAM)).blocked:
            break
        await asyncio.sleep(0.02)
    assert (await bot.storage.resident(SAM, SAM)).blocked


async def test_a_telegram_error_while_replying_loses_nothing(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """If Telegram fails a reply, the answer is kept and the next question still comes, once
    Telegram takes it, with no apology and without the resident writing again."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    tg.fail("sendMessage", 500, times=1)
    sam.send("Somewhere to sit in the high street")
    assert "biggest difference" in (await said(sam, timeout=10)).text
    assert await bot.storage.count_answers() == 1
    await sam.no_reply(within=1.0)
    for message in tg.messages_to(SAM):
        assert "Traceback" not in message.text
        assert "Error" not in message.text


async def test_a_server_that_refuses_the_command_menu_does_not_stop_the_bot(
    tg: FakeTelegram, database: Path
) -> None:
    """setMyCommands refused by the Bot API server: the bot still starts and serves residents."""
    tg.refuse("setMyCommands")
    running = RunningBot(tg, settings_for(tg, database))
    await running.start()
    try:
        sam = tg.resident(SAM)
        sam.send("/start")
        assert (await said(sam)).labels == ["Yes", "No"]
    finally:
        await running.stop()


async def test_the_command_menu_lists_residents_commands(tg: FakeTelegram, bot: RunningBot) -> None:
    """The bot sets its command menu for residents on start-up."""
    names = [command["command"] for command in tg.commands()]
    assert names == ["start", "help", "stop", "language", "mydata", "forget", "forgetme", "changes"]


async def test_a_resident_mid_flow_finishes_the_version_they_started(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """Publishing a new version mid-way: Sam finishes version 1; Ada, starting after, gets 2."""
    sam = tg.resident(SAM)
    await answer_up_to_first_question(sam)
    live = await bot.storage.live_flow("what-matters")
    assert live is not None
    # Version 2 rewords the second question and drops the 1–5 question.
    scale = live.source.index("  - id: happy-here")
    new = live.source[:scale] + live.source[live.source.index("  - id: hear-back") :]
    new = new.replace("If one thing could change", "If you could change one thing")
    await bot.storage.save_draft("what-matters", new, saved_by=None)
    assert (await bot.storage.publish_draft("what-matters")) is not None

    sam.send("Safer crossings")
    assert "If one thing could change" in (await said(sam)).text  # still version 1
    sam.send("A zebra crossing by the school")
    assert (await said(sam)).labels[:5] == ["1", "2", "3", "4", "5"]

    ada = tg.resident(502)
    await answer_up_to_first_question(ada)
    ada.send("Quiet")
    assert "If you could change one thing" in (await said(ada)).text
    ada.send("Nothing")
    assert (await said(ada)).labels == ["Yes", "No"]  # no 1–5 question in version 2

    versions = {(row.step, row.flow_version) for row in await bot.storage.export_rows()}
    assert versions == {
        ("matters", 1),
        ("biggest-difference", 1),
        ("matters", 2),
        ("biggest-difference", 2),
    }


async def test_a_deep_link_enters_its_flow(tg: FakeTelegram, bot: RunningBot) -> None:
    """t.me/<bot>?start=youth-voice enters that flow; an unknown one enters the default."""
    await bot.storage.publish_flow("youth-voice", YOUTH)
    sam, ada = tg.resident(SAM), tg.resident(502)
    sam.send("/start youth-voice")
    assert (await said(sam)).text == "Can we ask you about the youth club?"
    sam.press("Yes")
    assert (await said(sam)).text == "What would make the youth club better?"
    ada.send("/start no-such-flow")
    assert "Are you happy to carry on?" in (await said(ada)).text


async def test_a_resident_reads_the_flow_in_their_telegram_language(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A Welsh-speaking resident gets the Welsh text; others the main language; answers file
    under the main-language question."""
    await bot.storage.publish_flow("bilingual", BILINGUAL)
    welsh, english = tg.resident(SAM, language_code="cy"), tg.resident(502, language_code="en-GB")
    welsh.send("/start bilingual")
    assert (await said(welsh)).text == "Beth sy'n bwysig i chi?"
    english.send("/start bilingual")
    assert (await said(english)).text == "What matters to you?"
    welsh.send("Y parc")
    await said(welsh)
    (row,) = await bot.storage.export_rows()
    assert (row.question, row.answer) == ("What matters to you?", "Y parc")


async def test_language_switches_mid_flow_and_for_later_flows(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/language offers the flow's other languages; the choice applies at once and later."""
    await bot.storage.publish_flow("bilingual", BILINGUAL)
    sam = tg.resident(SAM, language_code="en")
    sam.send("/start bilingual")
    assert (await said(sam)).text == "What matters to you?"
    sam.send("/language")
    offer = await said(sam)
    assert offer.labels == ["Cymraeg"]
    sam.press("Cymraeg")
    assert (await said(sam)).text == "Beth sy'n bwysig i chi?"
    assert (await bot.storage.resident(SAM, SAM)).language == "cy"
    ada = tg.resident(502)
    ada.send("/language")  # the shipped flow has one language
    assert (await said(ada)).text == wording.ONE_LANGUAGE


async def test_a_flow_with_a_command_of_its_own_is_entered_by_it(
    tg: FakeTelegram, database: Path
) -> None:
    """A flow whose entry is `/youth` starts on /youth, and the command is in the menu."""
    settings = settings_for(tg, database)
    async with SQLiteStorage(database) as storage:
        await storage.publish_flow("youth-voice", YOUTH.replace("entry: null", "entry: /youth"))
    running = RunningBot(tg, settings)
    await running.start()
    try:
        sam = tg.resident(SAM)
        sam.send("/youth")
        assert (await said(sam)).text == "Can we ask you about the youth club?"
        assert "youth" in [command["command"] for command in tg.commands()]
    finally:
        await running.stop()


async def test_first_contact_asks_for_a_language_when_telegrams_is_not_offered(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A resident whose Telegram language the flow lacks picks one of the flow's first."""
    await bot.storage.publish_flow("bilingual", BILINGUAL)
    zofia = tg.resident(SAM, language_code="pl")
    zofia.send("/start bilingual")
    picker = await said(zofia)
    assert picker.text == wording.PICK_LANGUAGE
    assert picker.labels == ["English", "Cymraeg"]
    zofia.press("English")
    assert (await said(zofia)).text == "What matters to you?"
    assert (await bot.storage.resident(SAM, SAM)).language == "en"
