"""Staff and admins on Telegram: invites, joining, the staff list, the digest and theme quotes.

Every handler checks the sender's role itself; nothing relies on a command being hidden.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.outbox import Outbox
from bot.settings import Settings
from services.digest import Digests, split_messages
from storage import Inbox, Storage
from storage.models import ASKED_FOR, REPLY_KEY, OutgoingMessage, StaffMember

log = logging.getLogger(__name__)

INVITE_DAYS = 7
# No 0/O, 1/I/L: codes are read aloud and typed on phones.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
THEME_LOOKBACK = timedelta(days=28)
MORE_QUOTES = 10
# Callback data of "Wrong theme?" under `/theme` quotes (answers by internal id, themes by their
# place in the catalogue): `_tc|ask|<answer>|<from>|<quote n>`, then `_tc|to|<answer>|<from>|<to>`
# (`-`: onto none), or `_tc|cancel`.
CORRECT = "_tc"
NO_THEME = "-"

STAFF_COMMANDS = [
    BotCommand("digest", "The digest of the last 7 days"),
    BotCommand("theme", "More quotes on one theme: /theme NAME"),
    BotCommand("yousaid", "Tell residents what the service does about a theme"),
    BotCommand("actions", "What the service is doing, and what residents say back"),
    BotCommand("dashboard", "A link that signs you in to the web dashboard"),
    BotCommand("help", "What I can do"),
]
ADMIN_COMMANDS = [
    *STAFF_COMMANDS,
    BotCommand("invite", "A one-time code for a colleague to join as staff"),
    BotCommand("staff", "List staff, and remove one"),
    BotCommand("flows", "The conversations, their versions and drafts"),
    BotCommand("flow", "Get a conversation's YAML to edit: /flow ID"),
    BotCommand("preview", "Try a draft as residents will see it: /preview ID"),
    BotCommand("publish", "Make a draft live: /publish ID"),
    BotCommand("rollback", "Go back to the version before: /rollback ID"),
    BotCommand("broadcast", "Invite residents who said yes to hearing back: /broadcast ID"),
]

NOT_ADMIN = "Sorry, only admins of this service can do that."
NOT_STAFF = (
    "Sorry, that is for staff of the service. If you work here, ask an admin for an invite "
    "code, then send /join CODE."
)


def new_invite_code() -> str:
    """A code such as `K7PQ-3XRM`: 8 characters, about 40 bits, easy to read out."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(text: str) -> str:
    """The code as it was made, however it was typed (case, spaces, missing hyphen)."""
    raw = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw


class StaffDesk:
    """Handlers for staff and admins; each checks the role of whoever sent it."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        digests: Digests,
        outbox: Outbox,
        redact: Callable[[str], str],
        themes: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.digests = digests
        self.outbox = outbox
        self.redact = redact
        # The catalogue's themes, in its order: what staff may move an answer onto.
        self.themes = (
            list(themes)
            if themes is not None
            else [theme.name for theme in settings.theme_catalogue().themes]
        )

    # Menus ----------------------------------------------------------------------------------

    async def set_menus(self, context_bot: Any) -> None:
        """Give admins and staff their own command menus (residents see only theirs)."""
        menus: dict[int, list[BotCommand]] = {
            member.chat_id: STAFF_COMMANDS for member in await self.storage.staff_members()
        }
        menus.update(dict.fromkeys(self.settings.admins, ADMIN_COMMANDS))
        for chat_id, commands in menus.items():
            try:
                await context_bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
            except TelegramError as error:
                log.warning("could not set the command menu of chat %s: %s", chat_id, error)

    # Admins ---------------------------------------------------------------------------------

    async def invite(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Give an admin a one-time code for a colleague to join as staff."""
        user = _user_id(update)
        if not self.settings.is_admin(user):
            await self._reply(update, NOT_ADMIN)
            return
        code = new_invite_code()
        await self.storage.create_invite(
            code, user, self.storage.now() + timedelta(days=INVITE_DAYS)
        )
        await self.storage.audit(user, "invite", code=code)
        await self._reply(
            update,
            f"Here is a one-time invite code for a colleague: <code>{code}</code>\n\n"
            f"It works once, for {INVITE_DAYS} days. They open a chat with me and send\n"
            f"<code>/join {code}</code>",
        )

    async def staff(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the staff to an admin, with a button to remove each one."""
        if not self.settings.is_admin(_user_id(update)):
            await self._reply(update, NOT_ADMIN)
            return
        members = await self.storage.staff_members()
        if not members:
            await self._reply(update, "There are no staff yet. Send /invite to make a code.")
            return
        lines = [
            f"{n}. {html.escape(member.name)} — joined {member.joined_at:%d %b %Y}"
            + (" — safeguarding contact" if member.safeguarding else "")
            + (" (has blocked the bot)" if member.blocked else "")
            for n, member in enumerate(members, 1)
        ]
        buttons = [
            [
                InlineKeyboardButton(
                    f"{member.name}: not safeguarding"
                    if member.safeguarding
                    else f"{member.name}: safeguarding contact",
                    callback_data=f"staff:sg:{member.id}",
                ),
                InlineKeyboardButton(
                    f"Remove {member.name}", callback_data=f"staff:rm:{member.id}"
                ),
            ]
            for member in members
        ]
        lines.append(
            "\nSafeguarding contacts get an alert when an answer shows a possible sign of risk."
        )
        await self._reply(
            update, "<b>Staff</b>\n" + "\n".join(lines), InlineKeyboardMarkup(buttons)
        )

    async def remove(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remove a member of staff when an admin presses their Remove button."""
        pressed = await self._admin_pressed(update)
        if pressed is None:
            return
        query, user, staff_id = pressed
        removed = await self.storage.remove_staff(staff_id)
        if removed is not None:
            await self.storage.audit(user, "remove staff", staff=removed.name, staff_id=staff_id)
            await self._clear_menu(context, removed)
        await query.answer()
        text = f"{removed.name} was removed." if removed else "They had already been removed."
        await self._reply(update, html.escape(text))

    async def safeguarding(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Make a member of staff a safeguarding contact, or not, at an admin's button press."""
        pressed = await self._admin_pressed(update)
        if pressed is None:
            return
        query, user, staff_id = pressed
        current = next((m for m in await self.storage.staff_members() if m.id == staff_id), None)
        changed = (
            None
            if current is None
            else await self.storage.set_safeguarding(staff_id, not current.safeguarding)
        )
        await query.answer()
        if changed is None:
            await self._reply(update, "They are no longer on the staff list.")
            return
        await self.storage.audit(
            user,
            "safeguarding contact" if changed.safeguarding else "not a safeguarding contact",
            staff=changed.name,
            staff_id=staff_id,
        )
        text = (
            f"{changed.name} is now a safeguarding contact: they will get an alert when an "
            "answer shows a possible sign of risk."
            if changed.safeguarding
            else f"{changed.name} will no longer get safeguarding alerts."
        )
        await self._reply(update, html.escape(text))

    async def _admin_pressed(self, update: Update) -> tuple[CallbackQuery, int, int] | None:
        """(the press, the admin, the staff id of the button), or None if not an admin's."""
        query = update.callback_query
        assert query is not None
        user = _user_id(update)
        if not self.settings.is_admin(user):
            await query.answer(NOT_ADMIN, show_alert=True)
            await self.storage.mark_processed(update.update_id)
            return None
        return query, user, int((query.data or "").rsplit(":", 1)[-1])

    async def _clear_menu(self, context: ContextTypes.DEFAULT_TYPE, member: StaffMember) -> None:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(member.chat_id))
        except TelegramError as error:
            log.warning("could not clear a removed member's menu: %s", error)

    # Staff ----------------------------------------------------------------------------------

    async def join(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Make the sender a member of staff if their invite code is good."""
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None
        assert chat is not None
        code = normalise_code(" ".join(context.args or []))
        if not code:
            await self._reply(update, "Please send the code with it, like this: /join K7PQ-3XRM")
            return
        # The first name is not kept with raw updates: one replayed after a crash has none.
        name = user.first_name or f"Colleague {user.id % 10_000:04d}"
        member = await self.storage.redeem_invite(code, user.id, chat.id, name)
        if member is None:
            await self._reply(
                update,
                "Sorry, that code doesn't work. It may have been used already or expired. "
                "Please ask an admin for a new one.",
            )
            return
        await self.storage.audit(user.id, "join", staff_id=member.id, code=code)
        try:
            await context.bot.set_my_commands(STAFF_COMMANDS, scope=BotCommandScopeChat(chat.id))
        except TelegramError as error:
            log.warning("could not set a new member's menu: %s", error)
        schedule = html.escape(self.settings.digest_schedule)
        await self._reply(
            update,
            f"Welcome, {html.escape(member.name)}. You'll get the digest of what residents said "
            f"every week ({schedule}).\n\n/digest — the last 7 days, now\n"
            "/theme NAME — more quotes on one theme",
        )

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send the digest of the last 7 days to the member of staff who asked."""
        member = await self._staff_or_admin(update)
        if member is None:
            await self._reply(update, NOT_STAFF)
            return
        await self.digests.queue_for(member.chat_id, self.storage.now(), request=update.update_id)
        await self.storage.mark_processed(update.update_id)
        context.application.create_task(self.outbox.deliver(), update=update)

    async def theme(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send more quotes on one theme from the last four weeks."""
        if await self._staff_or_admin(update) is None:
            await self._reply(update, NOT_STAFF)
            return
        now = self.storage.now()
        facts = await self.storage.answers_between(now - THEME_LOOKBACK, now)
        counts: dict[str, int] = {}
        for fact in facts:
            for name in fact.themes:
                counts[name] = counts.get(name, 0) + 1
        asked = " ".join(context.args or []).strip().lower()
        matches = [name for name in counts if name.lower() == asked] or [
            name for name in counts if asked and name.lower().startswith(asked)
        ]
        if len(matches) != 1:
            listed = ", ".join(sorted(counts, key=lambda name: -counts[name])) or "none yet"
            await self._reply(
                update,
                "Which theme? Send /theme and its name, for example /theme repairs.\n\n"
                f"Themes in the last four weeks: {html.escape(listed)}",
            )
            return
        name = matches[0]
        quotes = [
            fact
            for fact in reversed(facts)
            if name in fact.themes
            and fact.kind in (None, "text")
            and fact.number is None
            and not fact.held_back  # a sign of risk: counted, never quoted
        ][:MORE_QUOTES]
        # A theme outside today's catalogue (an answer of an older one) has nowhere to move from.
        correctable = name in self.themes
        lines = [
            (f"{n}. " if correctable else "")
            + f"“<i>{html.escape(self.redact(fact.answer.strip()))}</i>” — "
            f"{html.escape(fact.resident)}, {fact.answered_at:%d %b}"
            for n, fact in enumerate(quotes, 1)
        ]
        header = f"<b>{html.escape(name)}</b>: {counts[name]} answers in the last four weeks"
        if correctable and quotes:
            header += "\nIf a quote is not about this theme, press its “Wrong theme?” button."
        shown = 0
        for text in split_messages([header, *lines]):
            # Each message carries the buttons of the quotes in it, numbered as they are.
            in_it = [
                (n, fact)
                for n, fact in enumerate(quotes, 1)
                if n > shown and f"{n}. “" in text and fact.answer_id is not None
            ]
            shown = max([shown, *(n for n, _ in in_it)])
            markup = (
                InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                f"Wrong theme? {n}",
                                callback_data=f"{CORRECT}|ask|{fact.answer_id}"
                                f"|{self.themes.index(name)}|{n}",
                            )
                            for n, fact in in_it[row : row + 2]
                        ]
                        for row in range(0, len(in_it), 2)
                    ]
                )
                if correctable and in_it
                else None
            )
            await self._reply(update, text, markup)

    async def correct(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Walk staff through moving a quoted answer to another theme of the catalogue, or to
        none; the sender's role is checked at every press."""
        query = update.callback_query
        assert query is not None
        member = await self._staff_or_admin(update)
        if member is None:
            await query.answer(NOT_STAFF, show_alert=True)
            await self.storage.mark_processed(update.update_id)
            return
        await query.answer()
        parts = (query.data or "").split("|")
        if parts[1:2] == ["cancel"]:
            await self._reply(update, "Cancelled: the answer keeps its themes.")
            return
        try:
            step, answer_id, from_index, last = parts[1], int(parts[2]), int(parts[3]), parts[4]
            from_theme = self.themes[from_index]
            to_theme = None if last == NO_THEME or step == "ask" else self.themes[int(last)]
        except (IndexError, ValueError):
            await self._reply(update, "That button is out of date. Send /theme NAME again.")
            return
        if step == "ask":
            await self._reply(
                update,
                f"Quote {html.escape(last)} is under <b>{html.escape(from_theme)}</b>. "
                "Which theme is it about?",
                self._theme_buttons(answer_id, from_index),
            )
            return
        done = await self.storage.correct_theme(
            answer_id, from_theme, to_theme, member.telegram_user_id, member.name
        )
        if done is None:
            await self._reply(
                update,
                f"That answer is no longer under {html.escape(from_theme)}: "
                "it was corrected already, or has been deleted.",
            )
            return
        moved = f"to <b>{html.escape(to_theme)}</b>" if to_theme else "off it (no theme of ours)"
        await self._reply(
            update,
            f"Moved from <b>{html.escape(from_theme)}</b> {moved}. The digest, /theme and "
            "exports count it there from now on; thank you, this shows where our themes need "
            "work.",
        )

    def _theme_buttons(self, answer_id: int, from_index: int) -> InlineKeyboardMarkup:
        """The catalogue's other themes, two to a row, then "None of these" and "Cancel"."""
        choices = [
            InlineKeyboardButton(
                theme, callback_data=f"{CORRECT}|to|{answer_id}|{from_index}|{index}"
            )
            for index, theme in enumerate(self.themes)
            if index != from_index
        ]
        rows = [choices[row : row + 2] for row in range(0, len(choices), 2)]
        rows.append(
            [
                InlineKeyboardButton(
                    "None of these",
                    callback_data=f"{CORRECT}|to|{answer_id}|{from_index}|{NO_THEME}",
                ),
                InlineKeyboardButton("Cancel", callback_data=f"{CORRECT}|cancel"),
            ]
        )
        return InlineKeyboardMarkup(rows)

    # Helpers --------------------------------------------------------------------------------

    async def _staff_or_admin(self, update: Update) -> StaffMember | None:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None
        assert chat is not None
        member = await self.storage.staff_member(user.id)
        if member is None and self.settings.is_admin(user.id):
            # Admins read digests too, without having to invite themselves.
            member = StaffMember(
                id=0,
                telegram_user_id=user.id,
                chat_id=chat.id,
                name=user.first_name,
                joined_at=self.storage.now(),
                safeguarding=False,
                blocked=False,
            )
        return member

    async def _reply(
        self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await reply_html(self.storage, update, text, markup)


async def reply_html(
    storage: Inbox, update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer a staff or admin command (Telegram HTML), noting the update handled and answered.

    If Telegram fails meanwhile (an outage, a timeout, a 429), the answer goes to the outbox,
    which sends it once Telegram takes it: staff are not left with an apology instead.
    """
    message = update.effective_message
    assert message is not None
    await storage.mark_processed(update.update_id)
    try:
        await message.get_bot().send_message(
            message.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except (BadRequest, Forbidden):
        raise
    except TelegramError as error:
        log.warning("Telegram failed while answering staff (%s); the outbox will send it", error)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        await storage.enqueue_reply(
            update.update_id,
            [
                OutgoingMessage(
                    f"{REPLY_KEY}{update.update_id}:staff:{digest}",
                    message.chat_id,
                    "sendMessage",
                    text,
                    markup=json.dumps(markup.to_dict()) if markup else None,
                    priority=ASKED_FOR,
                )
            ],
        )
        return
    await storage.mark_replied(update.update_id)


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id
