"""The single place where the python-telegram-bot Application is wired to settings and storage."""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import time, timedelta
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    ChatMember,
    Update,
)
from telegram import (
    Message as TelegramMessage,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import wording, workers
from bot.admin import FlowDesk
from bot.dashboard import DashboardDesk
from bot.flood import FloodGauge, Pace
from bot.inbox import RecordingBot, raw_update, replay_unfinished
from bot.keyboard import keyboard
from bot.loop import WALK, LoopDesk
from bot.outbox import Outbox
from bot.profile import set_profile
from bot.reminders import nudge_and_expire
from bot.settings import Settings
from bot.staff import CORRECT, StaffDesk
from bot.threads import ThreadDesk
from bot.webhook import WebhookServer
from bot.workers import HEARTBEAT, ChatDrains, Worker, sender_of, where_waiting
from conversations.engine import (
    Input,
    Message,
    Press,
    Text,
    Unreadable,
    parse_button_data,
)
from insights import redact
from services import Services
from services.actions import BUTTON, parse_reaction
from services.conversation import Conversations, replies_from_json
from services.digest import Digests, last_scheduled
from services.threads import WRITE_BUTTON
from storage import AlreadyHandled, Resident, Storage, StorageError, UpdateStatus
from storage.models import ASKED_FOR, HELD_KEY, REPLY_KEY, OutgoingMessage

log = logging.getLogger(__name__)

# How often the outbox looks for messages due again (retries, and those queued by the CLI).
OUTBOX_INTERVAL = 2.0
# The longest wait between tries when Telegram does not answer at start-up, in seconds.
STARTUP_LONGEST_WAIT = 60.0
# How often reminders and expiry are looked for (they are set in hours or days).
REMINDER_INTERVAL = 60.0

RESIDENT_COMMANDS = [
    BotCommand("start", "Begin, or carry on where you left off"),
    BotCommand("help", "What I can do"),
    BotCommand("stop", "No more messages from me"),
    BotCommand("language", "Read my questions in another language"),
    BotCommand("mydata", "Everything stored about you, as a file"),
    BotCommand("forget", "Delete one of your answers"),
    BotCommand("forgetme", "Delete everything stored about you"),
    BotCommand("changes", "What the service is doing about what residents said"),
]

# Message contents a resident might send where the bot needs typed words or a button.
_UNREADABLE_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "video",
    "audio",
    "animation",
    "document",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


class StalledUpdate(Exception):
    """An update whose handling never finished, given up on so that the resident's next
    messages are not held behind it for ever."""


class OneAtATimePerResident(BaseUpdateProcessor):
    """Process updates concurrently, but each resident's strictly in the order they came.

    Two quick messages from one resident must not race over the same session.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()
        # With several workers (webhook mode), each sender's stored updates are handled by the
        # worker that claims them, oldest first (bot/workers.py), not in the order they came here.
        self.drains: ChatDrains | None = None
        # Told of an update given up on (the application's error path: an apology, and the
        # update marked done, so that it is not replayed after the messages that followed it).
        self.on_stalled: Callable[[object, Exception], Awaitable[object]] | None = None

    def waiting(self, sender_id: int) -> int:
        """How many of this sender's updates are being handled or waiting their turn."""
        if self.drains is not None:
            return self.drains.waiting(sender_id)
        return self._waiting[sender_id]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers once the same sender's earlier updates are done."""
        if self.drains is not None and isinstance(update, Update):
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # the stored copy is handled instead, in its sender's order
            self.drains.arrived(sender_of(update))
            return
        sender = update.effective_user if isinstance(update, Update) else None
        if sender is None:
            await coroutine
            return
        lock = self._locks.setdefault(sender.id, asyncio.Lock())
        self._waiting[sender.id] += 1
        try:
            async with lock:
                await self._in_time(update, coroutine)
        finally:
            self._waiting[sender.id] -= 1
            if not self._waiting[sender.id]:
                del self._waiting[sender.id]
                del self._locks[sender.id]

    async def _in_time(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle an update; one still in hand after twice `workers.STALLED` seconds (a call
        that never returns: every Telegram and database call has its own timeout well within
        that) is ended, logged with where it waited, and answered with an apology."""
        limit = 2 * workers.STALLED
        task = asyncio.ensure_future(coroutine)
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done:
            task.result()  # as awaiting it would: its errors reach python-telegram-bot
            return
        where = where_waiting(task)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stalled = StalledUpdate(f"gave up an update after {limit:.0f} s at {where}")
        if self.on_stalled is None:
            log.error("%s", stalled)
            return
        await self.on_stalled(update, stalled)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _unreadable(message: TelegramMessage) -> Unreadable:
    caption = message.caption or ""
    for kind in _UNREADABLE_KINDS:
        if getattr(message, kind, None):
            return Unreadable(kind, caption)
    return Unreadable("message", caption)


class ResidentChat:
    """The Telegram side of a resident's conversation: a thin adapter over `Conversations`."""

    def __init__(self, settings: Settings, services: Services, outbox: Outbox) -> None:
        self.settings = settings
        self.storage = services.storage
        self.outbox = outbox
        self.library = services.library
        self.actions = services.actions
        self.conversations = services.conversations
        self.previews = services.previews
        self.flood = FloodGauge()
        # How many of a resident's updates are waiting at once (set by `build_application`).
        self.waiting: Callable[[int], int] = lambda sender_id: 1
        # A slowed-down resident's wait for calm, after which their held reply is sent.
        self._catching_up: dict[int, asyncio.Task[None]] = {}
        # Spent buttons being taken away (kept here so that the tasks are not collected early).
        self._background: set[asyncio.Task[None]] = set()
        # Staff part-way through writing an action ("you said, we did") type its words here.
        self.staff_words: LoopDesk | None = None
        # A safeguarding contact writing to a resident types their words here too.
        self.contact_words: ThreadDesk | None = None

    # Start-up and shut-down -----------------------------------------------------------------

    async def post_init(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Send alerts as soon as they are committed, and set the command menu."""
        self.conversations.on_alert = lambda: app.create_task(self.outbox.deliver())
        flow_commands = [
            BotCommand(name, title[:256]) for name, title in await self.library.commands()
        ]
        try:
            await app.bot.set_my_commands([*RESIDENT_COMMANDS, *flow_commands])
        except TelegramError as error:
            # A Bot API server that refuses the menu must not stop residents being heard.
            log.warning("could not set the command menu: %s", error)

    async def post_stop(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Drop the replies held back from bursts (cosmetic; every message is already stored),
        and let spent buttons finish going."""
        for task in self._catching_up.values():
            task.cancel()  # the held replies wait in the outbox, for the next start
        self._catching_up.clear()
        if self._background:  # a moment for spent buttons to be taken away
            await asyncio.wait(self._background, timeout=2)

    # Gatekeepers ----------------------------------------------------------------------------

    async def private_only(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer group chats with a pointer to a private chat, and go no further."""
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return
        message = update.message
        if message is not None and (message.text or message.caption):
            with contextlib.suppress(TelegramError):
                await message.reply_text(wording.GROUP_CHAT)
        # Kept by the inbox as it was fetched; done with now, so not replayed after a restart.
        if isinstance(context.bot, RecordingBot):
            context.bot.take_fresh(update.update_id)
        await self.storage.mark_processed(update.update_id)
        raise ApplicationHandlerStop

    async def once_per_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Keep the raw update, and never process the same update twice."""
        bot = context.bot
        if isinstance(bot, RecordingBot) and bot.take_fresh(update.update_id):
            return  # stored as it was fetched, and new: no second serialisation, no round trip
        recorded = await self.storage.record_update(update.update_id, raw_update(update))
        if recorded.status in (UpdateStatus.NEW, UpdateStatus.UNPROCESSED):
            return
        if recorded.status == UpdateStatus.UNREPLIED:
            # Processed and committed before a crash; its replies may never have gone out. The
            # update goes no further whatever happens here: taken again as new input, a "Yes"
            # would be stored as the answer to the question after it.
            try:
                await self._replay_replies(update, context, recorded.replies)
            except Exception:
                log.exception("could not hand over the replies to update %d", update.update_id)
        raise ApplicationHandlerStop

    async def _replay_replies(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, replies: str | None
    ) -> None:
        """Hand the committed replies of an update a crash cut short to the outbox (which sends
        them once Telegram takes them), unless the resident has moved on since."""
        user, chat = update.effective_user, update.effective_chat
        if not replies or user is None or chat is None:
            await self.storage.mark_replied(update.update_id)
            return
        if await self.storage.moved_on_since(update.update_id):
            log.info("dropping out-of-date replies to update %d", update.update_id)
            await self.storage.mark_replied(update.update_id)
            return
        # Not `_resident`: an old message is no sign that a resident who blocked us is back.
        resident = await self.storage.resident(user.id, chat.id)
        await self._hand_over(context, resident, replies_from_json(replies), update.update_id)

    async def _hand_over(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        resident: Resident,
        messages: Sequence[Message],
        update_id: int,
        first: int = 0,
    ) -> None:
        """Queue replies that cannot go out now in the outbox, and mark the update answered, in
        one transaction: the outbox sends them in order once Telegram takes them (through
        outages, 429s and restarts), and drops them if the resident stops or moves on first."""
        queued = [
            _queued_reply(f"{REPLY_KEY}{update_id}:{n}", resident, message)
            for n, message in enumerate(messages)
            if n >= first
        ]
        await self.storage.enqueue_reply(update_id, queued)
        context.application.create_task(self.outbox.deliver())

    # Residents' commands --------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Begin the default flow (or a deep link's), or resume where the resident left off."""
        resident = await self._resident(update)
        if self.settings.is_admin(resident.telegram_user_id):
            await self.previews.end(resident.telegram_user_id)
        # t.me/<bot>?start=<flow-id> arrives as `/start <flow-id>`; an unknown id is ignored.
        wanted = context.args[0] if context.args else None
        flow_id = wanted if wanted and await self.storage.live_flow(wanted) else None
        user = update.effective_user
        messages = await self.conversations.start(
            resident,
            update_id=update.update_id,
            flow_id=flow_id,
            language=user.language_code if user else None,
        )
        await self._send(context, resident, messages, update.update_id)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say what the bot is for and which commands there are."""
        await self._say(update, context, wording.HELP)

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send nothing more until the resident sends /start."""
        resident = await self._resident(update)
        messages = await self.conversations.stop(resident, update_id=update.update_id)
        await self._send(context, resident, messages, update.update_id)

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Offer the languages the resident's conversation is written in."""
        resident = await self._resident(update)
        flow, current = await self.conversations.languages(resident)
        if len(flow.languages) < 2:
            await self._say(update, context, wording.ONE_LANGUAGE)
            return
        others = [code for code in flow.languages if code != (current or flow.languages[0])]
        await self.send(update, context, [wording.language_picker(flow.id, others)])

    async def language_chosen(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Carry on in the language the resident picked."""
        query = update.callback_query
        assert query is not None
        resident = await self._resident(update)
        flow_id, _, code = (query.data or "").removeprefix(wording.LANGUAGE_BUTTON).partition("|")
        messages = await self.conversations.choose_language(
            resident, code, flow_id=flow_id, update_id=update.update_id
        )
        await asyncio.gather(
            self._send(context, resident, messages, update.update_id), self._settle(query, None)
        )

    async def mydata(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send the resident a file of everything stored about them (through the outbox)."""
        resident = await self._resident(update)
        data = await self.storage.personal_data(resident)
        export = OutgoingMessage(
            f"mydata:{update.update_id}",
            resident.chat_id,
            "sendDocument",
            html.escape(wording.MY_DATA),
            filename="my-data.json",
            attachment=json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"),
            priority=ASKED_FOR,
        )
        # Queued and marked done together: a crash after this sends it once, on restart.
        await self.storage.enqueue_reply(update.update_id, [export])
        # Sent by the outbox in its turn, without holding up this resident's next message.
        context.application.create_task(self.outbox.deliver(), update=update)

    async def forgetme(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask the resident to confirm that everything of theirs should be deleted."""
        await self.send(update, context, [wording.FORGET_CONFIRM])

    async def forget_confirmed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Delete everything of the resident's, or keep it, as they chose."""
        query = update.callback_query
        assert query is not None
        resident = await self._resident(update)
        await self._settle(query, None)
        if not (query.data or "").endswith("|yes"):
            await self.send(update, context, [Message(wording.FORGET_KEPT)])
            return
        await self.storage.forget(resident)  # this update's own record goes with it
        await self.storage.audit(0, "resident data deleted at their request")
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(resident.chat_id, wording.FORGOTTEN)

    async def forget(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Offer the resident's latest answers to delete one (`/forget last`: the latest)."""
        resident = await self._resident(update)
        last = [word.lower() for word in context.args or []][:1] == ["last"]
        answers = await self.storage.latest_answers(resident.id, 1 if last else 5)
        if not answers:
            await self._say(update, context, wording.FORGET_NOTHING)
        elif last:
            latest = answers[0]
            confirm = wording.forget_one_confirm(latest.id, latest.question, latest.answer)
            await self.send(update, context, [confirm])
        else:
            picker = wording.forget_pick([(answer.id, answer.answer) for answer in answers])
            await self.send(update, context, [picker])

    async def forget_one(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Confirm the answer picked, then delete it, or keep it, as the resident chose."""
        query = update.callback_query
        assert query is not None
        resident = await self._resident(update)
        await self._settle(query, None)
        pressed = (query.data or "").removeprefix(f"{wording.FORGET_ONE_BUTTON}|")
        kind, _, number = pressed.partition(":")
        if kind == "no":
            await self._say(update, context, wording.FORGET_KEPT)
            return
        if kind == "pick":
            answers = await self.storage.latest_answers(resident.id, 1000)
            picked = next((answer for answer in answers if answer.id == int(number)), None)
            if picked is None:
                await self._say(update, context, wording.FORGET_ONE_GONE)
                return
            confirm = wording.forget_one_confirm(picked.id, picked.question, picked.answer)
            await self.send(update, context, [confirm])
            return
        # The messages about deleting it quote it: their kept copies go with it.
        quoted_by = wording.FORGET_ONE_BUTTON
        if await self.storage.forget_answer(resident, int(number), quoted_by) is None:
            await self._say(update, context, wording.FORGET_ONE_GONE)
            return
        await self.storage.audit(0, "resident answer deleted at their request")
        await self._say(update, context, wording.FORGOTTEN_ONE)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Enter the flow a command belongs to; point to /help for a command nobody knows."""
        message = update.effective_message
        assert message is not None
        command = (message.text or "").split()[0].split("@")[0].lower()
        flow_id = await self.library.by_command(command)
        if flow_id is None:
            await self._say(update, context, wording.UNKNOWN_COMMAND)
            return
        resident = await self._resident(update)
        messages = await self.conversations.start(
            resident, update_id=update.update_id, flow_id=flow_id
        )
        await self._send(context, resident, messages, update.update_id)

    # Answers --------------------------------------------------------------------------------

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Take a typed answer (or the words of an action a member of staff is writing)."""
        assert update.message is not None
        assert update.message.text is not None
        user = update.effective_user
        if self.staff_words is not None and user and await self.staff_words.takes_text(user.id):
            await self.staff_words.text(update, context)
            return
        if self.contact_words is not None and await self.contact_words.contact_text(
            update, context
        ):
            return
        await self._turn(update, context, Text(update.message.text))

    async def reaction(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Keep a resident's tap on "This helps" or "Not enough" under what the service did
        (the buttons stay: a second tap changes the reaction)."""
        query = update.callback_query
        assert query is not None
        found = parse_reaction(query.data or "")
        assert found is not None  # the handler's pattern
        resident = await self._resident(update)
        messages = await self.actions.react(resident, found[0], found[1], update.update_id)
        await asyncio.gather(
            self._send(context, resident, messages, update.update_id), _stop_spinner(query)
        )

    async def unreadable(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Kindly ask for words when a sticker, photo, voice note or the like arrives."""
        assert update.message is not None
        await self._turn(update, context, _unreadable(update.message))

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Take a button press as the answer to the question it belongs to."""
        query = update.callback_query
        assert query is not None
        press = parse_button_data(query.data or "")
        resident = await self._resident(update)
        # Data that is not ours (an old keyboard, a forged press) is a press of no current question.
        inp = press or Press(step_id="", value="")
        messages = await self._answer(resident, inp, update.update_id)
        pace = self._pace(resident, messages)
        if pace is Pace.QUIET:  # a burst of presses: kept, and answered once it calms
            await self._send(context, resident, messages, update.update_id, pace)
            return
        # The next question first: the resident is waiting for it. The pressed question's
        # buttons are spent (any question asked again comes with new ones).
        await asyncio.gather(
            self._send(context, resident, messages, update.update_id, pace),
            self._settle(query, None if press else wording.BUTTON_GONE),
        )

    async def _settle(self, query: CallbackQuery, note: str | None) -> None:
        """Stop the button's spinner, and take the spent buttons away in the background.

        Cosmetic: whatever goes wrong here stays here. The step itself worked, so the resident
        must never get an apology for it. Taking the buttons away does not hold up the
        resident's next message (their updates are handled one at a time).
        """
        try:
            await query.answer(note)
        except Exception as error:
            log.info("could not answer a button's spinner: %s", error)
        if isinstance(query.message, TelegramMessage):
            task = asyncio.get_running_loop().create_task(_take_buttons_away(query.message))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Keep the first version of an edited answer, and say how to add to it; words added by
        the edit are still looked at for signs of risk."""
        edit = update.edited_message
        resident = await self._resident(update)
        words = (edit.text or edit.caption or "") if edit else ""
        help_now = await self.conversations.aside(
            resident, Text(words), None, None, update.update_id
        )
        await self.send(update, context, [*help_now, Message(wording.EDITED)])

    async def membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Note a resident blocking the bot, or unblocking it."""
        change = update.my_chat_member
        if change is None or change.chat.type != ChatType.PRIVATE:
            return
        resident = await self._resident(update)
        blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
        await self.storage.set_blocked(resident.id, blocked)
        await self.storage.mark_processed(update.update_id)

    async def nothing_to_do(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Mark an update that needs no answer (a channel post, a poll result…) as handled."""
        await self.storage.mark_processed(update.update_id)

    # Errors ---------------------------------------------------------------------------------

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error for operators; a resident only ever sees a kind apology."""
        if isinstance(context.error, AlreadyHandled):
            # Another worker handled this update (and answered it): nothing more to do here.
            log.info("%s", context.error)
            raise ApplicationHandlerStop
        log.error("error while handling an update", exc_info=context.error)
        if not isinstance(update, Update):
            return
        await self._apologise(update, context)
        # Handled, with an apology. Without this, python-telegram-bot hands an update whose error
        # came from a gatekeeper (group -2 or -1) on to the ordinary handlers as new input.
        raise ApplicationHandlerStop

    async def _apologise(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Mark the update done with, and tell the resident something went wrong."""
        # Handled, with an apology: not replayed at every start-up (a crash never gets here, so
        # an update a crash cut short is still replayed).
        with contextlib.suppress(Exception):
            await self.storage.mark_failed(update.update_id)
        if update.effective_chat is None:
            return
        if update.effective_chat.type != ChatType.PRIVATE:
            return
        with contextlib.suppress(Exception):
            await context.bot.send_message(update.effective_chat.id, wording.SOMETHING_WENT_WRONG)

    # Helpers --------------------------------------------------------------------------------

    async def _resident(self, update: Update) -> Resident:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None
        assert chat is not None
        resident = await self.storage.resident(user.id, chat.id)
        if resident.blocked and update.my_chat_member is None:
            await self.storage.set_blocked(resident.id, False)  # they wrote: they can hear us
        return resident

    async def _turn(self, update: Update, context: ContextTypes.DEFAULT_TYPE, inp: Input) -> None:
        resident = await self._resident(update)
        messages = await self._answer(resident, inp, update.update_id)
        await self._send(context, resident, messages, update.update_id)

    async def _answer(self, resident: Resident, inp: Input, update_id: int) -> list[Message]:
        """The resident's turn; for an admin previewing a draft, the preview's turn instead."""
        if self.settings.is_admin(resident.telegram_user_id):
            previewed = await self.previews.turn(resident.telegram_user_id, inp)
            if previewed is not None:
                await self.conversations.note_replies(update_id, previewed)
                return previewed
        return await self.conversations.handle(resident, inp, update_id=update_id)

    async def _say(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        await self.send(update, context, [Message(text)])

    async def send(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, messages: Sequence[Message]
    ) -> None:
        """Answer an update that stored nothing with these messages (and their buttons)."""
        resident = await self._resident(update)
        await self.conversations.note_replies(update.update_id, messages)
        await self._send(context, resident, messages, update.update_id)

    async def _send(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        resident: Resident,
        messages: Sequence[Message],
        update_id: int,
        pace: Pace | None = None,
    ) -> None:
        """Send replies that are already committed, then note that they went out."""
        bot = context.bot
        if pace is None:
            pace = self._pace(resident, messages)
        if pace is not Pace.NORMAL:
            # A burst: everything is still taken in and stored, but answered only a little: a
            # kind word now, the latest question once it calms. Help after a sign of risk goes
            # out whatever the pace.
            ordinary = [message for message in messages if not message.urgent]
            if ordinary:
                await self._hold(context, resident, ordinary[-1], update_id)
            urgent = [message for message in messages if message.urgent]
            messages = urgent + ([Message(wording.SLOW_DOWN)] if pace is Pace.SLOW_DOWN else [])
        if messages and await self.storage.replies_waiting(resident.chat_id):
            # Earlier replies are still waiting for Telegram: these go behind them, in order.
            await self._hand_over(context, resident, messages, update_id)
            return
        sent = 0
        try:
            for message in messages:
                await bot.send_message(
                    resident.chat_id, message.text, reply_markup=keyboard(message.buttons)
                )
                sent += 1
        except Forbidden:
            log.info("resident %s has blocked the bot", resident.pseudonym)
            await self.storage.set_blocked(resident.id, True)
        except BadRequest:
            raise  # Telegram will refuse it again: the error handler apologises
        except TelegramError as error:
            # An outage, a timeout, a 429, an answer the library cannot read: what is committed
            # is not lost, and the resident is not left without their next question.
            log.warning("Telegram failed while replying (%s); the outbox will send it", error)
            await self._hand_over(context, resident, messages, update_id, first=sent)
            return
        await self.storage.mark_replied(update_id)

    def _pace(self, resident: Resident, messages: Sequence[Message]) -> Pace:
        waiting = self.waiting(resident.telegram_user_id)
        return self.flood.note(resident.chat_id, len(messages), waiting)

    async def _hold(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        resident: Resident,
        message: Message,
        update_id: int,
    ) -> None:
        """Keep the latest reply of a burst in the outbox, due once the resident has been quiet
        a moment, and mark the update answered, in one transaction: it goes out then whichever
        worker sends it, even after a restart; their next message drops it for a newer one."""
        calm = self.flood.calm_in(resident.chat_id)
        held = _queued_reply(f"{HELD_KEY}{update_id}", resident, message, delay=calm)
        await self.storage.enqueue_reply(update_id, [held])
        self._catch_up_later(context, resident.chat_id)

    def _catch_up_later(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """Once this resident's burst calms, send the reply held back from it (the outbox's own
        round sends it too, if this worker is gone by then)."""
        if chat_id in self._catching_up:
            return

        async def catch_up() -> None:
            try:
                for _ in range(10_000):  # each wait ends at the latest message's calm
                    wait = self.flood.calm_in(chat_id)
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait + 0.05)
                self.flood.calmed(chat_id)
                await self.outbox.deliver()
            except StorageError as error:
                log.info("could not answer a burst once it calmed: %s", error)
            finally:
                self._catching_up.pop(chat_id, None)

        self._catching_up[chat_id] = asyncio.get_running_loop().create_task(catch_up())


async def _take_buttons_away(message: TelegramMessage) -> None:
    try:
        await message.edit_reply_markup(None)
    except Exception as error:
        log.info("could not take spent buttons away: %s", error)


async def _stop_spinner(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except Exception as error:  # cosmetic: the tap itself is kept
        log.info("could not answer a button's spinner: %s", error)


def _queued_reply(
    key: str, resident: Resident, message: Message, delay: float = 0.0
) -> OutgoingMessage:
    """A reply to a resident as the outbox sends it (HTML; replies are plain text), ahead of
    broadcasts: it is what the resident waits for."""
    return OutgoingMessage(
        key,
        resident.chat_id,
        "sendMessage",
        html.escape(message.text),
        resident_id=resident.id,
        markup=_markup_json(message),
        priority=ASKED_FOR,
        delay=delay,
    )


def _markup_json(message: Message) -> str | None:
    markup = keyboard(message.buttons)
    return json.dumps(markup.to_dict()) if markup else None


def build_application(
    settings: Settings, services: Services
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Wire the bot: settings, services, handlers in their order, jobs, and the error handler.

    The caller opens the services (`build_services`) around the application's whole life.
    """
    storage = services.storage
    if settings.bot_token is None:
        raise ValueError("WHATMATTERS_BOT_TOKEN is not set")
    bot = RecordingBot(
        settings.bot_token.get_secret_value(), settings.api_base_url, settings.file_url, storage
    )
    # Webhook mode: one of any number of workers on this database (bot/workers.py).
    worker = Worker(storage, settings.worker_name) if settings.webhook_url else None
    # Sending stops between messages once the bot is stopping (`app` is bound below). A worker
    # that does not lead sends only what people wait for; the leader paces everything else.
    outbox = Outbox(
        storage,
        bot,
        keep_going=lambda: app.running,
        claimant=worker.name if worker else None,
        everything=lambda: worker is None or worker.leading,
    )
    previews = services.previews
    chat = ResidentChat(settings, services, outbox)
    digests = services.digests

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await chat.post_init(app)
        if worker is None:
            # The only process (long polling): whoever held claims before this start is gone.
            await storage.release_all_claims()
            await replay_unfinished(app, storage)
        else:
            # One worker of many: the others' claims stand; the first heartbeat takes on what
            # nobody handles (bot/workers.py).
            await worker.start()
        await desk.set_menus(app.bot)
        await set_profile(app.bot, chat.library, settings)  # bot/profile.py: never stops start-up
        schedule_jobs(app, settings, digests, outbox, chat.conversations, worker, drains)

    async def post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await chat.post_stop(app)
        if worker is not None:
            with contextlib.suppress(StorageError):  # then its claims lapse by themselves
                await worker.stop()

    one_at_a_time = OneAtATimePerResident()
    chat.waiting = one_at_a_time.waiting
    app = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(one_at_a_time)
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    drains = ChatDrains(app, storage, worker) if worker else None
    one_at_a_time.drains = drains
    one_at_a_time.on_stalled = app.process_error
    themes = [theme.name for theme in services.catalogue.themes]
    desk = StaffDesk(settings, storage, digests, outbox, redact, themes)
    flows = FlowDesk(settings, storage, chat.library, chat.unreadable, previews, chat.send, outbox)
    loop = LoopDesk(settings, storage, services.actions, outbox)
    board = DashboardDesk(settings, storage)
    chat.staff_words = loop
    contacts = ThreadDesk(services.threads, storage, outbox)
    chat.contact_words = contacts
    private = filters.ChatType.PRIVATE
    new_message = filters.UpdateType.MESSAGE & private

    # Group -2: residents are heard in private chats only.
    app.add_handler(TypeHandler(Update, chat.private_only), group=-2)
    # Group -1: every update is recorded once; repeats stop here.
    app.add_handler(TypeHandler(Update, chat.once_per_update), group=-1)
    # Group 0, first match wins: commands, then answers, then everything else.
    app.add_handler(CommandHandler("start", chat.start, filters=new_message))
    app.add_handler(CommandHandler("help", chat.help, filters=new_message))
    app.add_handler(CommandHandler("stop", chat.stop, filters=new_message))
    app.add_handler(CommandHandler("language", chat.language, filters=new_message))
    app.add_handler(CommandHandler("mydata", chat.mydata, filters=new_message))
    app.add_handler(CommandHandler("forget", chat.forget, filters=new_message))
    app.add_handler(CommandHandler("forgetme", chat.forgetme, filters=new_message))
    app.add_handler(
        CallbackQueryHandler(
            chat.forget_one, pattern=rf"^{wording.FORGET_ONE_BUTTON}\|(pick:\d+|yes:\d+|no)$"
        )
    )
    app.add_handler(CallbackQueryHandler(chat.forget_confirmed, pattern=r"^_forget\|(yes|no)$"))
    app.add_handler(
        CallbackQueryHandler(chat.language_chosen, pattern=rf"^{wording.LANGUAGE_BUTTON}[^|]+\|")
    )
    # Staff and admins; each handler checks the sender's role itself.
    app.add_handler(CommandHandler("join", desk.join, filters=new_message))
    app.add_handler(CommandHandler("digest", desk.digest, filters=new_message))
    app.add_handler(CommandHandler("theme", desk.theme, filters=new_message))
    app.add_handler(CommandHandler("dashboard", board.dashboard, filters=new_message))
    # You said, we did: staff write actions; anyone sees them; residents react.
    app.add_handler(CommandHandler("yousaid", loop.yousaid, filters=new_message))
    app.add_handler(CommandHandler("actions", loop.list_actions, filters=new_message))
    app.add_handler(CommandHandler("cancel", loop.cancel, filters=new_message))
    app.add_handler(CommandHandler("changes", loop.changes, filters=new_message))
    # Safeguarding contacts write back to a resident; either side ends it with /done.
    app.add_handler(CommandHandler("respond", contacts.respond, filters=new_message))
    app.add_handler(CommandHandler("done", contacts.done, filters=new_message))
    app.add_handler(CallbackQueryHandler(contacts.write_pressed, pattern=rf"^{WRITE_BUTTON}\|\d+$"))
    app.add_handler(CallbackQueryHandler(loop.pressed, pattern=rf"^{WALK}\|"))
    app.add_handler(CallbackQueryHandler(chat.reaction, pattern=rf"^{BUTTON}\|\d+\|(helps|more)$"))
    app.add_handler(CommandHandler("invite", desk.invite, filters=new_message))
    app.add_handler(CommandHandler("staff", desk.staff, filters=new_message))
    app.add_handler(CallbackQueryHandler(desk.remove, pattern=r"^staff:rm:\d+$"))
    app.add_handler(CallbackQueryHandler(desk.safeguarding, pattern=r"^staff:sg:\d+$"))
    app.add_handler(CallbackQueryHandler(desk.correct, pattern=rf"^{CORRECT}\|"))
    app.add_handler(CommandHandler("flows", flows.flows, filters=new_message))
    app.add_handler(CommandHandler("flow", flows.flow, filters=new_message))
    app.add_handler(CommandHandler("publish", flows.publish, filters=new_message))
    app.add_handler(CommandHandler("rollback", flows.rollback, filters=new_message))
    app.add_handler(CommandHandler("preview", flows.preview, filters=new_message))
    app.add_handler(CommandHandler("broadcast", flows.broadcast, filters=new_message))
    # A document: an admin's flow file; from anyone else, a resident's message.
    app.add_handler(MessageHandler(new_message & filters.Document.ALL, flows.upload))
    app.add_handler(MessageHandler(new_message & filters.COMMAND, chat.unknown_command))
    app.add_handler(MessageHandler(new_message & filters.TEXT, chat.text))
    app.add_handler(CallbackQueryHandler(chat.button))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED & private, chat.edited))
    app.add_handler(ChatMemberHandler(chat.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(new_message, chat.unreadable))
    app.add_handler(TypeHandler(Update, chat.nothing_to_do))
    app.add_error_handler(chat.error)
    return app


def schedule_jobs(
    app: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    digests: Digests,
    outbox: Outbox,
    conversations: Conversations,
    worker: Worker | None = None,
    drains: ChatDrains | None = None,
) -> None:
    """The weekly digest at its time (and at start-up, if a week's was missed), and the outbox.

    With several workers, each job runs on the worker that leads, and every worker keeps its
    heartbeat and takes on the updates a dead worker left.
    """
    assert app.job_queue is not None
    weekly = settings.digest_time

    def leads() -> bool:
        return worker is None or worker.leading

    async def weekly_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
        if not leads():
            return
        end = last_scheduled(
            digests.storage.now(), weekly.weekday, weekly.at.hour, weekly.at.minute, settings.zone
        )
        if await digests.queue_for_all_staff(end):
            await outbox.deliver()

    async def deliver(context: ContextTypes.DEFAULT_TYPE) -> None:
        if leads():
            await outbox.deliver()

    if worker is not None and drains is not None:
        started = False

        async def heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
            nonlocal started
            try:
                if await worker.beat() and started:
                    # Taking over from a leader that died: a digest due meanwhile goes now.
                    await weekly_digest(context)
                await drains.sweep(everyone=not started)
                started = True
            except StorageError as error:
                log.warning("could not reach the database for the heartbeat: %s", error)

        app.job_queue.run_repeating(heartbeat, interval=HEARTBEAT, first=0, name="heartbeat")

    app.job_queue.run_daily(
        weekly_digest,
        time=weekly.at.replace(tzinfo=settings.zone),
        days=((weekly.weekday + 1) % 7,),  # PTB counts days from Sunday = 0
        name="weekly digest",
    )
    app.job_queue.run_once(weekly_digest, when=0, name="missed digest")
    app.job_queue.run_repeating(deliver, interval=OUTBOX_INTERVAL, first=1, name="outbox")

    async def reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
        if leads() and any(await nudge_and_expire(conversations)):
            await outbox.deliver()

    app.job_queue.run_repeating(reminders, interval=REMINDER_INTERVAL, first=5, name="reminders")

    async def retention(context: ContextTypes.DEFAULT_TYPE) -> None:
        if leads():
            await apply_retention(conversations.storage, settings.retention_days)

    # Daily in the quiet of the night, and once at start-up in case a night was missed.
    app.job_queue.run_daily(retention, time(3, 30, tzinfo=settings.zone), name="retention")
    app.job_queue.run_once(retention, when=10, name="retention at start-up")


async def apply_retention(storage: Storage, days: int) -> int:
    """Delete answers older than the retention period (WHATMATTERS_RETENTION_DAYS), and the
    dashboard's sign-in links and sessions that can no longer be used."""
    deleted = await storage.delete_older_than(storage.now() - timedelta(days=days))
    if deleted:
        log.info("deleted %d answers older than %d days", deleted, days)
    await storage.forget_spent_web_access(storage.now())
    return deleted


class UnreadableBotApi(Exception):
    """The Bot API server answered at start-up in a way python-telegram-bot cannot read (not
    Telegram, or a broken proxy in front of it): waiting will not help."""


async def _when_telegram_answers(step: Callable[[], Awaitable[Any]], stop: asyncio.Event) -> bool:
    """Run a start-up step that talks to Telegram, again and again while Telegram is down or
    slow (waiting longer each time, up to a minute); False if told to stop meanwhile."""
    delay = 1.0
    for _ in range(100_000):
        try:
            await step()
        except NetworkError as error:  # timeouts, refused connections, 5xx answers
            log.warning("Telegram did not answer (%s); trying again in %.0f s", error, delay)
        except InvalidToken:
            raise
        except (TelegramError, TypeError, KeyError, ValueError) as error:
            # e.g. getMe without a field every real Bot API answer has, or no JSON at all.
            raise UnreadableBotApi(str(error) or type(error).__name__) from error
        else:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
            return False
        delay = min(delay * 2, STARTUP_LONGEST_WAIT)
    return False


async def serve(
    app: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    webhook: WebhookServer | None = None,
) -> None:
    """Poll for updates (or, given a webhook, receive them) until `stop` is set, with the same
    steps and hooks as `run_polling`.

    An outage of Telegram at start-up is waited out, not a crash.
    """
    try:
        started = await _when_telegram_answers(app.initialize, stop)
    except BaseException:
        await app.bot.shutdown()  # its connections, opened for the getMe that failed
        raise
    if not started:
        await app.bot.shutdown()
        return
    try:
        if app.post_init:
            await app.post_init(app)
        if webhook is None:
            updater = app.updater
            assert updater is not None
            polling = await _when_telegram_answers(
                lambda: updater.start_polling(allowed_updates=Update.ALL_TYPES), stop
            )
            if not polling:
                return
        else:
            hook = webhook.webhook
            await webhook.start()  # listening before Telegram is told where to post
            registered = await _when_telegram_answers(
                lambda: app.bot.set_webhook(
                    hook.url, secret_token=hook.secret, allowed_updates=Update.ALL_TYPES
                ),
                stop,
            )
            if not registered:
                return
        await app.start()
        await stop.wait()
    finally:
        if webhook is not None:
            await webhook.stop()  # no new updates from here on; those stored are replayed
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
