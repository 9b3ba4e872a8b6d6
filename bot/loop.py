"""You said, we did, on Telegram: staff write actions on themes (`/yousaid`, `/actions`),
residents see them (`/changes`) and react to the message that told them.

Every staff handler checks the sender's role itself, again at the moment of sending: a member of
staff removed part-way through `/yousaid` sends nothing.
"""

from __future__ import annotations

import html
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.outbox import Outbox
from bot.settings import Settings
from bot.staff import NOT_STAFF, reply_html
from services.actions import (
    STATUSES,
    ActionDesk,
    ActionError,
    Plan,
    changes_text,
    check_text,
    match_theme,
    parse_status,
)
from storage import Storage
from storage.models import ActionDraft, ActionSummary

log = logging.getLogger(__name__)

# Callback data of the walk-through's buttons: `_yw|status|planned`, `_yw|send`, `_yw|cancel`,
# and `_yw|update|<action id>` under `/actions`.
WALK = "_yw"
CANCELLED = "Cancelled: nothing was recorded and nobody was told."
NOTHING_IN_HAND = "There is nothing waiting to be sent. Send /yousaid to write an action."


def _status_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(status, callback_data=f"{WALK}|status|{status}")]
            for status in STATUSES
        ]
        + [[InlineKeyboardButton("Cancel", callback_data=f"{WALK}|cancel")]]
    )


def _confirm_buttons(reach: int) -> InlineKeyboardMarkup:
    send = f"Send to {reach} resident{'s' if reach != 1 else ''}" if reach else "Record it"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(send, callback_data=f"{WALK}|send"),
                InlineKeyboardButton("Cancel", callback_data=f"{WALK}|cancel"),
            ]
        ]
    )


def summary_line(summary: ActionSummary) -> str:
    """One action as staff see it listed (Telegram HTML)."""
    action = summary.action
    disputed = (
        " — <b>disputed</b>: marked done, a resident says not enough" if summary.disputed else ""
    )
    return (
        f"#{action.id} <b>{html.escape(action.theme)}</b> — {html.escape(action.status)}"
        f"{disputed}\n{html.escape(action.text)}\n"
        f"told {summary.told} · helps {summary.helps} · not enough {summary.not_enough}"
        f" · replies {summary.replies}"
    )


class LoopDesk:
    """Handlers of the loop, for staff and residents."""

    def __init__(
        self, settings: Settings, storage: Storage, actions: ActionDesk, outbox: Outbox
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.actions = actions
        self.outbox = outbox

    async def _is_staff(self, user_id: int) -> bool:
        if self.settings.is_admin(user_id):
            return True
        member = await self.storage.staff_member(user_id)
        return member is not None

    # Staff: /yousaid ------------------------------------------------------------------------

    async def yousaid(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the recent themes, or begin writing an action on one."""
        user = _user_id(update)
        if not await self._is_staff(user):
            await reply_html(self.storage, update, NOT_STAFF)
            return
        asked = " ".join(context.args or []).strip()
        if not asked:
            await reply_html(self.storage, update, await self._themes_text())
            return
        try:
            theme = match_theme(asked, self.actions.themes)
        except ActionError as error:
            await reply_html(self.storage, update, html.escape(f"Sorry: {error}."))
            return
        await self.storage.save_action_draft(
            ActionDraft(user, None, theme, "text", None, None, None)
        )
        await reply_html(
            self.storage,
            update,
            f"What is the service doing about <b>{html.escape(theme)}</b>?\n\n"
            "Write it in plain words, as residents will read it (up to 1,000 characters). "
            "Nothing is sent until you confirm. /cancel stops.",
        )

    async def _themes_text(self) -> str:
        counts = await self.actions.recent_themes()
        if not counts:
            return "No themes in the last four weeks yet."
        lines = [
            f"• {html.escape(count.theme)}: {_answers(count.answers)}"
            + (" — has an action" if count.has_action else " — <b>no action yet</b>")
            for count in counts
        ]
        return (
            "<b>Themes of the last four weeks</b>\n"
            + "\n".join(lines)
            + "\n\nSend /yousaid THEME to tell residents what the service is doing about one."
        )

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Drop the action in the writing."""
        user = _user_id(update)
        draft = await self.storage.action_draft(user)
        await self.storage.drop_action_draft(user)
        await reply_html(self.storage, update, CANCELLED if draft else NOTHING_IN_HAND)

    async def takes_text(self, user_id: int) -> bool:
        """Whether this sender's next words belong to an action they are writing."""
        draft = await self.storage.action_draft(user_id)
        return draft is not None and draft.stage in ("text", "reason")

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Take the action's words, or the reason it is not possible."""
        user = _user_id(update)
        draft = await self.storage.action_draft(user)
        message = update.effective_message
        assert message is not None
        if draft is None:
            return
        if not await self._is_staff(user):
            await self.storage.drop_action_draft(user)
            await reply_html(self.storage, update, NOT_STAFF)
            return
        try:
            words = check_text(message.text or "")
        except ActionError as error:
            await reply_html(
                self.storage, update, html.escape(f"Sorry: {error}. Please send it again.")
            )
            return
        if draft.stage == "text":
            draft = ActionDraft(user, draft.action_id, draft.theme, "status", words, None, None)
            await self.storage.save_action_draft(draft)
            await reply_html(self.storage, update, "Where does it stand?", markup=_status_buttons())
            return
        draft = ActionDraft(
            user, draft.action_id, draft.theme, "confirm", draft.text, draft.status, words
        )
        await self.storage.save_action_draft(draft)
        await self._preview(update, draft)

    async def pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A status, send, cancel or update button of the walk-through."""
        query = update.callback_query
        assert query is not None
        user = _user_id(update)
        parts = (query.data or "").split("|")
        await _settle(query)
        if not await self._is_staff(user):
            await self.storage.drop_action_draft(user)
            await reply_html(self.storage, update, NOT_STAFF)
            return
        if parts[1] == "cancel":
            await self.storage.drop_action_draft(user)
            await reply_html(self.storage, update, CANCELLED)
            return
        if parts[1] == "update" and len(parts) == 3 and parts[2].isdigit():
            action = await self.storage.action(int(parts[2]))
            if action is None:
                await reply_html(self.storage, update, "Sorry, there is no such action.")
                return
            await self.storage.save_action_draft(
                ActionDraft(user, action.id, action.theme, "status", action.text, None, None)
            )
            await reply_html(
                self.storage,
                update,
                f"#{action.id} <b>{html.escape(action.theme)}</b>: "
                f"{html.escape(action.text)}\nIt is <b>{html.escape(action.status)}</b>. "
                "Where does it stand now?",
                markup=_status_buttons(),
            )
            return
        draft = await self.storage.action_draft(user)
        if draft is None:
            await reply_html(self.storage, update, NOTHING_IN_HAND)
            return
        if parts[1] == "status" and len(parts) == 3 and draft.stage == "status":
            status = parse_status(parts[2])
            if status == "not possible":
                draft = ActionDraft(
                    user, draft.action_id, draft.theme, "reason", draft.text, status, None
                )
                await self.storage.save_action_draft(draft)
                await reply_html(
                    self.storage,
                    update,
                    "Why is it not possible? Residents will read the reason.",
                )
                return
            draft = ActionDraft(
                user, draft.action_id, draft.theme, "confirm", draft.text, status, None
            )
            await self.storage.save_action_draft(draft)
            await self._preview(update, draft)
            return
        if parts[1] == "send" and draft.stage == "confirm":
            await self._send(update, context, draft)
            return
        await reply_html(self.storage, update, NOTHING_IN_HAND)

    async def _plan(self, draft: ActionDraft) -> Plan:
        assert draft.status is not None
        if draft.action_id is not None:
            return await self.actions.plan(
                action_id=draft.action_id, status=draft.status, text=draft.text, reason=draft.reason
            )
        return await self.actions.plan(
            theme=draft.theme, status=draft.status, text=draft.text, reason=draft.reason
        )

    async def _preview(self, update: Update, draft: ActionDraft) -> None:
        try:
            plan = await self._plan(draft)
        except ActionError as error:
            await self.storage.drop_action_draft(draft.telegram_user_id)
            await reply_html(self.storage, update, html.escape(f"Sorry: {error}."))
            return
        who = (
            f"It will go to <b>{plan.reach}</b> resident{'s' if plan.reach != 1 else ''} who "
            f"raised {html.escape(plan.theme)} in the last 90 days and said yes to hearing back."
            if plan.reach
            else "No resident who said yes to hearing back raised this theme in the last 90 "
            "days (or all of them were told of it already), so <b>0</b> will be told; it will "
            "still be recorded, shown in /changes and in the digest."
        )
        await reply_html(
            self.storage,
            update,
            f"Residents will read:\n\n{plan.example}\n\n— — —\n{who}\n\nSend it?",
            markup=_confirm_buttons(plan.reach),
        )

    async def _send(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, draft: ActionDraft
    ) -> None:
        try:
            plan = await self._plan(draft)
        except ActionError as error:
            await self.storage.drop_action_draft(draft.telegram_user_id)
            await reply_html(self.storage, update, html.escape(f"Sorry: {error}."))
            return
        action = await self.actions.publish(plan, by=draft.telegram_user_id)
        await self.storage.drop_action_draft(draft.telegram_user_id)
        await reply_html(
            self.storage,
            update,
            f"Recorded as action #{action.id} ({html.escape(action.status)}). "
            f"{plan.reach} resident{'s' if plan.reach != 1 else ''} will be told, at Telegram's "
            "pace. /actions shows it, with what residents say back.",
        )
        context.application.create_task(self.outbox.deliver())

    # Staff: /actions ------------------------------------------------------------------------

    async def list_actions(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the actions, each with a button to update its status."""
        if not await self._is_staff(_user_id(update)):
            await reply_html(self.storage, update, NOT_STAFF)
            return
        summaries = await self.actions.summaries()
        if not summaries:
            await reply_html(
                self.storage,
                update,
                "No actions yet. Send /yousaid to see the themes and write one.",
            )
            return
        shown = summaries[:20]
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"Update #{s.action.id} {s.action.theme}"[:60],
                        callback_data=f"{WALK}|update|{s.action.id}",
                    )
                ]
                for s in shown
            ]
        )
        text = "<b>You said, we did</b>\n\n" + "\n\n".join(summary_line(s) for s in shown)
        await reply_html(self.storage, update, text[:4000], markup=markup)

    # Residents ------------------------------------------------------------------------------

    async def changes(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show anyone the service's latest actions."""
        summaries = await self.actions.summaries()
        await reply_html(
            self.storage, update, html.escape(changes_text([s.action for s in summaries]))
        )


async def _settle(query: CallbackQuery) -> None:
    """Stop the button's spinner; cosmetic, so nothing that goes wrong here matters."""
    try:
        await query.answer()
    except Exception as error:
        log.info("could not answer a button's spinner: %s", error)


def _answers(n: int) -> str:
    return f"{n} answer" if n == 1 else f"{n} answers"


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id
