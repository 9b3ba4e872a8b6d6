"""`/dashboard`: a member of staff or an admin asks the bot for a one-time link that signs them
in to the web dashboard; anyone else gets the polite refusal."""

from __future__ import annotations

import html
from typing import Protocol

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.settings import Settings
from bot.staff import NOT_STAFF, reply_html
from services.signin import LINK_LIFETIME, SignIns, SignInStore
from storage import Inbox

NOT_SET_UP = (
    "The web dashboard is not set up on this service yet. An admin can start it with "
    "`whatmatters web` and set WHATMATTERS_WEB_URL."
)


class DashboardStore(SignInStore, Inbox, Protocol):
    """What `/dashboard` needs of storage."""


class DashboardDesk:
    """The `/dashboard` command."""

    def __init__(self, settings: Settings, storage: DashboardStore) -> None:
        self.settings = settings
        self.storage = storage
        self.sign_ins = SignIns(settings, storage)

    async def dashboard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send a member of staff a one-time link to sign in to the dashboard."""
        user = update.effective_user
        message = update.effective_message
        assert user is not None
        assert message is not None
        if not await self.sign_ins.may_use_dashboard(user.id):
            await reply_html(self.storage, update, html.escape(NOT_STAFF))
            return
        if not self.settings.web_url:
            await reply_html(self.storage, update, html.escape(NOT_SET_UP))
            return
        link = await self.sign_ins.issue_link(user.id)
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        await self.storage.mark_processed(update.update_id)
        # No link preview: a preview would fetch the page, and the link is for this person only.
        await message.get_bot().send_message(
            message.chat_id,
            f'<a href="{html.escape(link)}">Open the dashboard</a>\n\n'
            f"This link signs you in once and works for {minutes} minutes. Do not share it; "
            "send /dashboard again for a new one.\n\n"
            f"{html.escape(link)}",
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        await self.storage.mark_replied(update.update_id)
