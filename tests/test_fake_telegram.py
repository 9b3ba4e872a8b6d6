"""The local Bot API server speaks Telegram's wire protocol as python-telegram-bot uses it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fake_telegram import (
    BOT_ID,
    FIRST_UPDATE_ID,
    FakeTelegram,
    MarkupError,
    render_html,
    render_markdown,
    render_markdown_v2,
    webhook_queue,
)

USER = 501
AnyApp = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.text:
        await message.reply_text(message.text, do_quote=True)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="answer:yes")],
            [InlineKeyboardButton("No", callback_data="answer:no")],
        ]
    )
    await update.effective_message.reply_text(f"started with {context.args}", reply_markup=keyboard)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("noted")
    await query.edit_message_text(f"you chose {query.data}")


@pytest.fixture
async def echo_app(tg: FakeTelegram) -> AsyncIterator[AnyApp]:
    """A bare PTB echo bot polling the fake server."""
    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .concurrent_updates(16)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        await tg.wait_until_polling(timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_get_me(bot: Bot) -> None:
    """getMe answers the test bot's identity."""
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "whatmatters_test_bot")


async def test_echo_round_trip(tg: FakeTelegram, echo_app: AnyApp) -> None:
    """A resident's text reaches a polling PTB bot, and the bot's answer comes back."""
    sam = tg.resident(USER)
    update_id = sam.send("hello there")
    assert update_id == FIRST_UPDATE_ID
    reply = await sam.reply(timeout=5)
    assert (reply.text, reply.chat_id, reply.method) == ("hello there", USER, "sendMessage")
    assert sam.last_message_id is not None
    assert reply.reply_to == sam.last_message_id
    assert reply.message_id == sam.last_message_id + 1  # one id sequence per chat
    await sam.no_reply(within=0.2)


async def test_command_gets_entity_and_args(tg: FakeTelegram, echo_app: AnyApp) -> None:
    """/start with a payload carries a bot_command entity, so CommandHandler sees its args."""
    sam = tg.resident(USER)
    sam.send("/start from-poster")
    reply = await sam.reply()
    assert reply.text == "started with ['from-poster']"
    assert sam.last_buttons() == ["Yes", "No"]


async def test_press_sends_callback_data(tg: FakeTelegram, echo_app: AnyApp) -> None:
    """press() sends the button's callback_data; the bot's answer and edit are recorded."""
    sam = tg.resident(USER)
    sam.send("/start")
    menu = await sam.reply()
    sam.press("No")
    edited = await sam.reply()
    assert (edited.message_id, edited.text, edited.edited) == (
        menu.message_id,
        "you chose answer:no",
        True,
    )
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    await tg.wait_for_call("answerCallbackQuery")
    assert tg.callback_answers[sam.last_callback_id or ""]["text"] == "noted"
    with pytest.raises(AssertionError, match="no bot message shows a button 'Yes'"):
        sam.press("Yes")


async def test_429_is_retry_after(tg: FakeTelegram, bot: Bot) -> None:
    """fail(429, retry_after) surfaces in PTB as RetryAfter, then the next call succeeds."""
    tg.resident(USER)
    tg.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "hi")
    assert caught.value.retry_after == dt.timedelta(seconds=7)
    await bot.send_message(USER, "hi")
    assert [c.status for c in tg.calls_to("sendMessage")] == [429, 200]


async def test_blocked_user_is_forbidden(tg: FakeTelegram, bot: Bot) -> None:
    """block() makes sends to that resident fail with Forbidden."""
    tg.resident(USER)
    tg.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")


async def test_refused_method_is_bad_request(tg: FakeTelegram, bot: Bot) -> None:
    """refuse() makes every call of a method answer 400."""
    tg.refuse("setMyCommands")
    with pytest.raises(BadRequest, match=r"(?i)method refused"):
        await bot.set_my_commands([("help", "Show help")])


async def test_commands_are_stored(tg: FakeTelegram, bot: Bot) -> None:
    """setMyCommands stores the list per scope; getMyCommands reads it back."""
    await bot.set_my_commands([("help", "Show help")])
    assert tg.commands() == [{"command": "help", "description": "Show help"}]
    assert [c.command for c in await bot.get_my_commands()] == ["help"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Help", "Uppercase is invalid")])


async def test_redeliver_repeats_update_id(tg: FakeTelegram, bot: Bot) -> None:
    """redeliver() hands the bot the same update (same id) again after it was confirmed."""
    update_id = tg.resident(USER).send("once")
    first = await bot.get_updates(offset=0, timeout=0)
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert tg.is_confirmed(update_id)
    tg.redeliver(update_id)
    again = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert [u.update_id for u in first] == [u.update_id for u in again] == [update_id]
    assert again[0].message is not None
    assert again[0].message.text == "once"


async def test_long_poll_wakes_on_push(tg: FakeTelegram, bot: Bot) -> None:
    """A waiting getUpdates answers as soon as an update is pushed, not at its timeout."""
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await tg.wait_until_polling()
    started = time.monotonic()
    tg.resident(USER).send("wake up")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert len(updates) == 1
    assert time.monotonic() - started < 1


async def test_document_upload_is_recorded(tg: FakeTelegram, bot: Bot) -> None:
    """sendDocument's multipart upload is kept: bytes, filename and caption."""
    sam = tg.resident(USER)
    await bot.send_document(USER, document=b"a,b\n1,2\n", filename="report.csv", caption="Report")
    sent = await sam.reply()
    assert (sent.document, sent.filename, sent.text) == (b"a,b\n1,2\n", "report.csv", "Report")
    assert sent.method == "sendDocument"


async def test_resident_document_downloads(tg: FakeTelegram, echo_app: AnyApp) -> None:
    """A resident's document can be fetched by the bot with getFile and the file URL."""
    sam = tg.resident(USER)
    sam.send_document(b"%PDF-1.4 fake", "letter.pdf", mime_type="application/pdf")
    await tg.wait_until_confirmed()
    update = tg.updates[sam.update_ids[-1]]
    file = await echo_app.bot.get_file(update["message"]["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 fake"


async def test_edit_makes_edited_message(tg: FakeTelegram, bot: Bot) -> None:
    """edit() sends an edited_message update for the resident's earlier message."""
    sam = tg.resident(USER)
    sam.send("frist")
    assert sam.last_message_id is not None
    sam.edit(sam.last_message_id, "first")
    original, edited = await bot.get_updates(timeout=0)
    assert original.message is not None
    assert edited.edited_message is not None
    assert edited.edited_message.message_id == original.message.message_id
    assert edited.edited_message.text == "first"


async def test_hang_times_out_client(tg: FakeTelegram, bot: Bot) -> None:
    """hang() holds a call past PTB's read timeout; the message is still delivered after."""
    sam = tg.resident(USER)
    tg.hang("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.1)
    assert (await sam.reply(timeout=2)).text == "slow"


async def test_random_faults_follow_the_seed_and_a_random_hang_still_sends(
    tg: FakeTelegram, bot: Bot
) -> None:
    """fail_randomly picks the same calls for the same seed; a "hang" holds a call past the
    client's read timeout, and the message is delivered all the same."""
    sam = tg.resident(USER)

    async def outcomes() -> list[str]:
        tg.fail_randomly(["sendMessage"], 0.5, seed=4, kinds=(500, "hang"), hang_for=0.6)
        seen = []
        for n in range(8):
            try:
                await bot.send_message(USER, f"m{n}", read_timeout=0.3)
                seen.append("sent")
            except TimedOut:
                seen.append("hung")
            except NetworkError:
                seen.append("500")
        return seen

    first = await outcomes()
    assert {"sent", "hung", "500"} <= set(first)
    await asyncio.sleep(0.8)  # the held calls end and send
    calls = tg.calls_to("sendMessage")
    assert [call.held >= 0.5 for call in calls] == [seen == "hung" for seen in first]
    assert [call.status for call in calls] == [500 if seen == "500" else 200 for seen in first]
    delivered = [f"m{n}" for n, seen in enumerate(first) if seen != "500"]
    assert sorted(message.text for message in sam.unread()) == delivered
    assert await outcomes() == first
    tg.clear_faults()
    await asyncio.sleep(0.8)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        tg.fail_randomly(["sendMessage"], 0.5, kinds=("slow",))


async def test_parse_errors_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    """Text Telegram cannot parse for its parse_mode answers 400 can't parse entities."""
    sam = tg.resident(USER)
    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.send_message(USER, "line<br>next", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(USER, "Thanks.", parse_mode="MarkdownV2")
    await bot.send_message(USER, "<b>Thanks</b> &amp; bye", parse_mode="HTML")
    sent = await sam.reply()
    assert (sent.text, sent.plain) == ("<b>Thanks</b> &amp; bye", "Thanks & bye")


def test_markup_renderers() -> None:
    """The renderers return what a resident reads and reject what Telegram rejects."""
    assert render_html('<a href="https://x.org">x</a> 1 &lt; 2') == "x 1 < 2"
    assert render_markdown_v2(r"*Hi* \_there\_ [link](https://x.org/a\)b) `a.b`") == (
        "Hi _there_ link a.b"
    )
    assert render_markdown("*bold* _it_ `code`") == "bold it code"
    for bad in ("<b>open", "</i>", "a < b", "<b><i>x</b></i>"):
        with pytest.raises(MarkupError):
            render_html(bad)
    for bad in ("1.5", "*open", "a-b"):
        with pytest.raises(MarkupError):
            render_markdown_v2(bad)
    with pytest.raises(MarkupError):
        render_markdown("user_name")


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    """A wrong token answers 401 (PTB: InvalidToken); an unknown method answers 404."""
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=tg.base_url) as wrong:
            await wrong.get_me()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}999:WRONG/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{tg.api_url}noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        async with http.get(f"{tg.api_url}GETME") as response:
            assert (await response.json())["result"]["id"] == BOT_ID


async def test_waits_are_bounded(tg: FakeTelegram) -> None:
    """Waiting for a call or a reply that never comes fails quickly with a clear message."""
    sam = tg.resident(USER)
    sam.send("anyone?")
    with pytest.raises(TimeoutError, match="getUpdates was called 0 time"):
        await tg.wait_until_polling(timeout=0.05)
    with pytest.raises(AssertionError, match="not yet fetched by the bot"):
        await sam.reply(timeout=0.05)


async def test_resident_update_shapes(tg: FakeTelegram, bot: Bot) -> None:
    """Every kind of resident update parses in PTB as the matching Telegram object."""
    sam = tg.resident(USER)
    sam.send_sticker()
    sam.send_photo(caption="pothole")
    sam.send_voice()
    sam.send_video()
    sam.send_location(51.5, -0.1)
    sam.send_contact()
    sam.send_in_group("/report@whatmatters_test_bot now")
    sam.block_bot()
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates[:7]]
    kinds = ("sticker", "photo", "voice", "video", "location", "contact", "text")
    assert [next(k for k in kinds if getattr(m, k)) for m in messages] == list(kinds)
    sticker, photo, _, _, location, contact, group = (m for m in messages if m is not None)
    assert sticker.sticker is not None
    assert sticker.sticker.emoji == "👍"
    assert photo.caption == "pothole"
    assert location.location is not None
    assert location.location.latitude == 51.5
    assert contact.contact is not None
    assert contact.contact.user_id == USER
    assert group.chat.type == "group"
    assert group.entities[0].length == len("/report@whatmatters_test_bot")
    member = updates[7].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"


async def test_second_poller_conflicts(tg: FakeTelegram, bot: Bot) -> None:
    """A newer getUpdates ends a waiting one with 409 Conflict, as Telegram does."""
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_until_polling()
    async with Bot(tg.token, base_url=tg.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=5)


# -- webhook delivery ---------------------------------------------------------------------------


class WebhookEndpoint:
    """A bot's webhook on 127.0.0.1 that records how Telegram's posts overlap.

    Each post takes `work` seconds (the bot handling it), or, with `crowd`, waits until `crowd`
    posts are in flight at once (at most 5 s); it is answered 200, except the first post of each
    update id in `fail_once`, answered 500.
    """

    def __init__(
        self, work: float = 0.05, crowd: int = 0, fail_once: frozenset[int] = frozenset()
    ) -> None:
        self.work = work
        self.crowd = crowd
        self.fail_once = set(fail_once)
        self.arrivals: list[tuple[int, int | None]] = []  # (update_id, chat) as posts came
        self.in_flight: Counter[int | None] = Counter()  # by chat
        self.most_at_once = 0
        self.overlaps_in_a_chat: list[int] = []  # posted while their chat had one in flight
        self._crowded = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _post(self, request: web.Request) -> web.Response:
        update = await request.json()
        update_id, chat = int(update["update_id"]), webhook_queue(update)
        self.arrivals.append((update_id, chat))
        if self.in_flight[chat]:
            self.overlaps_in_a_chat.append(update_id)
        self.in_flight[chat] += 1
        try:
            self.most_at_once = max(self.most_at_once, self.in_flight.total())
            if self.crowd:
                if self.in_flight.total() >= self.crowd:
                    self._crowded.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._crowded.wait(), 5)
            else:
                await asyncio.sleep(self.work)  # the bot's handling, not synchronisation
            if update_id in self.fail_once:
                self.fail_once.discard(update_id)
                return web.Response(status=500)
            return web.Response(status=200)
        finally:
            self.in_flight[chat] -= 1

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/hook", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def test_webhook_queue_is_the_chat_of_an_update(tg: FakeTelegram) -> None:
    """Messages, presses and membership changes of one resident share their chat; an update with
    neither chat nor sender shares the None queue."""
    sam = tg.resident(USER)
    sent = sam.send("hello")
    grouped = sam.send_in_group("hi all")
    left = sam.block_bot()
    assert webhook_queue(tg.updates[sent]) == USER
    assert webhook_queue(tg.updates[grouped]) == -100123
    assert webhook_queue(tg.updates[left]) == USER
    inline = {"update_id": 1, "callback_query": {"id": "1", "from": {"id": 77}, "data": "x"}}
    assert webhook_queue(inline) == 77
    assert webhook_queue({"update_id": 2, "poll": {"id": "p", "question": "?"}}) is None


async def test_updates_of_different_chats_are_posted_at_once(tg: FakeTelegram, bot: Bot) -> None:
    """Like Telegram over several connections, one post per chat is in flight together."""
    async with WebhookEndpoint(crowd=3) as endpoint:
        for user in (601, 602, 603):
            tg.resident(user).send("hello")
        await bot.set_webhook(endpoint.url)
        await tg.wait_until_confirmed(timeout=10)
    assert endpoint.most_at_once == 3
    assert sorted(update_id for update_id, _ in tg.webhook_calls) == sorted(tg.updates)
    assert {status for _, status in tg.webhook_calls} == {200}


async def test_one_chats_updates_go_one_at_a_time_in_order_even_after_a_failed_post(
    tg: FakeTelegram, bot: Bot
) -> None:
    """A chat's next update is posted only once the one before got 200: the first, refused once
    with 500, is posted again before the rest of its chat, while another chat goes on."""
    sam, alex = tg.resident(601), tg.resident(602)
    sams = [sam.send(f"sam {n}") for n in range(4)]
    alexs = [alex.send(f"alex {n}") for n in range(4)]
    async with WebhookEndpoint(fail_once=frozenset({sams[0]})) as endpoint:
        await bot.set_webhook(endpoint.url)
        await tg.wait_until_confirmed(timeout=10)
    assert endpoint.overlaps_in_a_chat == []
    assert [u for u, chat in endpoint.arrivals if chat == sam.chat_id] == [sams[0], *sams]
    assert [u for u, chat in endpoint.arrivals if chat == alex.chat_id] == alexs
    assert [(u, status) for u, status in tg.webhook_calls if u in sams] == [
        (sams[0], 500),
        *((u, 200) for u in sams),
    ]
    # Alex was not held up by Sam's failure: his posts went on during Sam's pause.
    first_sam_200 = tg.webhook_calls.index((sams[0], 200))
    assert tg.webhook_calls.index((alexs[1], 200)) < first_sam_200


async def test_max_connections_one_posts_strictly_one_at_a_time(tg: FakeTelegram, bot: Bot) -> None:
    """setWebhook's max_connections=1 allows one post in flight at all, oldest first; getWebhookInfo
    reports it, and Telegram's default (40) and clamp (to 1..100) apply otherwise."""
    async with WebhookEndpoint() as endpoint:
        pushed = [tg.resident(user).send("hello") for user in (601, 602, 603, 604)]
        await bot.set_webhook(endpoint.url, max_connections=1)
        assert (await bot.get_webhook_info()).max_connections == 1
        await tg.wait_until_confirmed(timeout=10)
        assert endpoint.most_at_once == 1
        assert [u for u, _ in endpoint.arrivals] == pushed
        await bot.set_webhook(endpoint.url)
        assert (await bot.get_webhook_info()).max_connections == 40
        await bot.set_webhook(endpoint.url, max_connections=500)
        assert (await bot.get_webhook_info()).max_connections == 100


async def test_a_redelivered_update_is_posted_again_after_it_was_confirmed(
    tg: FakeTelegram, bot: Bot
) -> None:
    """redeliver() works over the webhook too: the same update id is posted a second time."""
    async with WebhookEndpoint() as endpoint:
        update_id = tg.resident(USER).send("once")
        await bot.set_webhook(endpoint.url)
        await tg.wait_until_confirmed(update_id, timeout=10)
        tg.redeliver(update_id)
        await tg.wait_until_confirmed(update_id, timeout=10)
    assert [u for u, _ in endpoint.arrivals] == [update_id, update_id]
    assert tg.webhook_calls == [(update_id, 200), (update_id, 200)]
    assert tg.pending_updates == []
