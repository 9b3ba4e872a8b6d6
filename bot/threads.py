"""Safeguarding contacts write back, on Telegram: the alert's "Write to this resident" button,
`/respond PSEUDONYM TEXT`, the contact's next messages, and `/done` from either side."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.outbox import Outbox
from bot.staff import reply_html
from services.threads import NO_THREAD, NOT_A_CONTACT, SafeguardingThreads
from storage import Inbox

log = logging.getLogger(__name__)

# A pseudonym is three words ("Calm Heron 482"); /respond takes it, then the message.
PSEUDONYM_WORDS = 3


class ThreadDesk:
    """Handlers of safeguarding threads; every one checks the sender's role itself."""

    def __init__(self, threads: SafeguardingThreads, inbox: Inbox, outbox: Outbox) -> None:
        self.threads = threads
        self.inbox = inbox
        self.outbox = outbox

    async def write_pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Open a thread with the resident an alert is about."""
        query = update.callback_query
        assert query is not None
        user, chat = update.effective_user, update.effective_chat
        assert user is not None
        assert chat is not None
        try:
            await query.answer()
        except Exception as error:  # cosmetic
            log.info("could not answer a button's spinner: %s", error)
        if not await self.threads.may_write(user.id):
            await reply_html(self.inbox, update, html.escape(NOT_A_CONTACT))
            return
        resident_id = int((query.data or "").rsplit("|", 1)[-1])
        await reply_html(self.inbox, update, await self.threads.open(user.id, chat.id, resident_id))

    async def respond(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/respond PSEUDONYM TEXT`: write to a resident (and open the thread with them)."""
        user, chat = update.effective_user, update.effective_chat
        assert user is not None
        assert chat is not None
        if not await self.threads.may_write(user.id):
            await reply_html(self.inbox, update, html.escape(NOT_A_CONTACT))
            return
        words = list(context.args or [])
        resident = await self.threads.resident_named(" ".join(words[:PSEUDONYM_WORDS]))
        if resident is None:
            await reply_html(
                self.inbox,
                update,
                "Who to? Send /respond, the resident's pseudonym as the alert shows it, then your "
                "message, for example: /respond Calm Heron 482 Hello, this is Sam from the "
                "housing team.",
            )
            return
        opened = await self.threads.open(user.id, chat.id, resident.id)
        text = " ".join(words[PSEUDONYM_WORDS:]).strip()
        if not text:
            await reply_html(self.inbox, update, opened)
            return
        thread = await self.threads.storage.thread_of_contact(user.id)
        assert thread is not None
        said = await self.threads.from_contact(thread, text, update.update_id)
        await reply_html(self.inbox, update, said)
        context.application.create_task(self.outbox.deliver())

    async def contact_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """Carry a contact's words to the resident of their thread; False if they have none."""
        user = update.effective_user
        message = update.effective_message
        if user is None or message is None or not message.text:
            return False
        thread = await self.threads.storage.thread_of_contact(user.id)
        if thread is None:
            return False
        if not await self.threads.may_write(user.id):  # no longer a contact: the thread ends
            await self.threads.storage.close_thread(thread.resident.id)
            await reply_html(self.inbox, update, html.escape(NOT_A_CONTACT))
            return True
        said = await self.threads.from_contact(thread, message.text, update.update_id)
        await reply_html(self.inbox, update, said)
        context.application.create_task(self.outbox.deliver())
        return True

    async def done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """End the thread, from either side."""
        user = update.effective_user
        assert user is not None
        thread = await self.threads.storage.thread_of_contact(user.id)
        if thread is not None:
            said = await self.threads.end_by_contact(thread, update.update_id)
            await reply_html(self.inbox, update, said)
            context.application.create_task(self.outbox.deliver())
            return
        chat = update.effective_chat
        assert chat is not None
        resident = await self.threads.storage.resident(user.id, chat.id)
        own = await self.threads.storage.thread_of_resident(resident.id)
        if own is None:
            await reply_html(self.inbox, update, html.escape(NO_THREAD))
            return
        replies = await self.threads.end_by_resident(own, update.update_id)
        await reply_html(self.inbox, update, html.escape(replies[0].text))
        context.application.create_task(self.outbox.deliver())
