"""Admins edit flows from Telegram: list, download the YAML, upload a draft, publish, roll back.

Every handler checks that the sender is an admin; nothing changes for anyone else.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.outbox import Outbox
from bot.settings import Settings
from bot.staff import NOT_ADMIN, reply_html
from conversations.engine import Message
from conversations.loader import MAX_FLOW_BYTES, FlowFileError
from services.library import FlowLibrary
from services.preview import Previews
from storage import Storage
from storage.models import OutgoingMessage

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
Send = Callable[[Update, ContextTypes.DEFAULT_TYPE, Sequence[Message]], Awaitable[None]]


def _bullets(lines: list[str], empty: str) -> str:
    return "\n".join(f"• {html.escape(line)}" for line in lines) if lines else empty


class FlowDesk:
    """Handlers for admins who change the conversations residents have."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        library: FlowLibrary,
        not_for_admins: Handler,
        previews: Previews,
        send: Send,
        outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.library = library
        # A document from anyone but an admin is a resident's message, answered as such.
        self._not_for_admins = not_for_admins
        self.previews = previews
        self._send = send
        self.outbox = outbox

    async def flows(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the flows with their live version and any draft waiting."""
        if not await self._admin(update):
            return
        drafts = await self.storage.drafted_flows()
        lines = []
        for live in await self.storage.live_flows():
            flow = await self.library.get(live.flow_id, live.version)
            waiting = " · <i>a draft is waiting</i>" if live.flow_id in drafts else ""
            lines.append(
                f"<b>{html.escape(live.flow_id)}</b> — {html.escape(flow.title)}, "
                f"version {live.version}{waiting}"
            )
        await self._say(
            update,
            "\n".join(lines) + "\n\n/flow ID — get a flow's YAML to edit\n"
            "Send the edited file back to me to save it as a draft.",
        )

    async def flow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send a flow's live YAML as a document, to edit and send back."""
        if not await self._admin(update):
            return
        flow_id = " ".join(context.args or []).strip()
        live = await self.storage.live_flow(flow_id) if flow_id else None
        message = update.effective_message
        assert message is not None
        if live is None:
            await self._say(update, "Which flow? Send /flows to see them, then /flow ID.")
            return
        await self.storage.mark_processed(update.update_id)
        await message.reply_document(
            live.source.encode("utf-8"),
            filename=f"{flow_id}.yaml",
            caption=f"{flow_id}, version {live.version}. Edit it and send it back to me.",
        )
        await self.storage.mark_replied(update.update_id)

    async def upload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Check an admin's YAML file and keep it as a draft, or say what is wrong with it."""
        user = update.effective_user
        message = update.effective_message
        assert user is not None
        assert message is not None
        document = message.document
        if document is None or not self.settings.is_admin(user.id):
            await self._not_for_admins(update, context)
            return
        name = document.file_name or "flow.yaml"
        if document.file_size and document.file_size > MAX_FLOW_BYTES:
            await self._say(update, f"That file is too big for a flow ({MAX_FLOW_BYTES:,} bytes).")
            return
        try:
            file = await document.get_file()
            raw = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("could not download an admin's flow file: %s", error)
            await self._say(update, "I couldn't fetch that file from Telegram. Please try again.")
            return
        try:
            flow, changes = await self.library.save_draft(raw.decode("utf-8"), name, user.id)
        except UnicodeDecodeError:
            await self._say(update, f"{html.escape(name)} is not a text file saved as UTF-8.")
            return
        except FlowFileError as error:
            problems = html.escape(str(error))
            await self._say(
                update, f"Nothing was changed: the file has mistakes to fix.\n\n{problems}"
            )
            return
        await self._say(
            update,
            f"Saved as the draft of <b>{html.escape(flow.id)}</b>. It would change:\n"
            f"{_bullets(changes, 'nothing in the steps')}\n\n"
            f"/preview {html.escape(flow.id)} — try it as a resident would\n"
            f"/publish {html.escape(flow.id)} — make it live",
        )

    async def publish(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Make a flow's draft its live version."""
        user = await self._admin(update)
        if not user:
            return
        flow_id = " ".join(context.args or []).strip()
        done = await self.library.publish(flow_id, user) if flow_id else None
        if done is None:
            await self._say(update, "There is no draft to publish. Send /flows to see them.")
            return
        published, changes = done
        await self._say(
            update,
            f"<b>{html.escape(flow_id)}</b> version {published.version} is live.\n"
            f"{_bullets(changes, 'No changes to the steps.')}\n\n"
            "Residents part-way through finish the version they started.",
        )

    async def rollback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Make the version before the live one live again."""
        user = await self._admin(update)
        if not user:
            return
        flow_id = " ".join(context.args or []).strip()
        rolled = await self.library.roll_back(flow_id, user) if flow_id else None
        if rolled is None:
            await self._say(update, "There is no earlier version to go back to.")
            return
        restored, was = rolled
        await self._say(
            update,
            f"<b>{html.escape(flow_id)}</b> version {restored.version} is live again (was {was}).",
        )

    async def preview(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Run a flow's draft with the admin, exactly as a resident would see it."""
        user = await self._admin(update)
        if not user:
            return
        flow_id = " ".join(context.args or []).strip()
        messages = await self.previews.begin(user, flow_id) if flow_id else None
        if messages is None:
            await self._say(update, "Which flow? Send /flows to see them, then /preview ID.")
            return
        await self._send(update, context, messages)

    async def broadcast(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Invite every resident who said yes to hearing back into a flow, through the outbox."""
        user = await self._admin(update)
        if not user:
            return
        flow_id = " ".join(context.args or []).strip()
        live = await self.storage.live_flow(flow_id) if flow_id else None
        if live is None:
            await self._say(update, "Which flow? Send /flows to see them, then /broadcast ID.")
            return
        flow = await self.library.get(flow_id, live.version)
        link = f"https://t.me/{context.bot.username}?start={flow_id}"
        text = (
            f"We'd like to hear from you again: <b>{html.escape(flow.title)}</b>.\n\n"
            f'<a href="{link}">Take part</a>, or send /start {flow_id}.\n'
            "Send /stop if you'd rather not hear from us."
        )
        audience = await self.storage.broadcast_audience()
        queued = await self.storage.enqueue(
            OutgoingMessage(
                f"broadcast:{flow_id}:{live.version}:{recipient.resident_id}",
                recipient.chat_id,
                "sendMessage",
                text,
                resident_id=recipient.resident_id,
            )
            for recipient in audience
        )
        await self.storage.audit(
            user, "broadcast", flow=flow_id, version=live.version, residents=queued
        )
        await self._say(
            update,
            f"Inviting {queued} residents who said they'd like to hear back "
            f"({len(audience) - queued} had been invited already). Never anyone who used /stop.",
        )
        # Sent in the outbox's own time (thousands take minutes at Telegram's pace), not while
        # this admin's next message waits behind it.
        context.application.create_task(self.outbox.deliver(), update=update)

    async def _admin(self, update: Update) -> int:
        """The sender's id if they are an admin; otherwise 0, after a polite refusal."""
        user = update.effective_user
        assert user is not None
        if self.settings.is_admin(user.id):
            return user.id
        await self._say(update, NOT_ADMIN)
        return 0

    async def _say(self, update: Update, text: str) -> None:
        await reply_html(self.storage, update, text)
