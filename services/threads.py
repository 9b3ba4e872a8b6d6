"""Safeguarding contacts write back: a contact's message reaches the resident in their chat as a
message from the service, and the resident's next words reach the contact under their pseudonym,
until either side sends /done.

Staff never see a resident's Telegram id, name or username; each message is kept for the
resident's /mydata and audited (who and when, never the words). No Telegram in here.
"""

from __future__ import annotations

import html
from typing import Protocol

from bot.settings import Settings
from conversations.engine import Message
from storage import Clocked, OutboxQueue, Residents, StaffAndAudit, Threads
from storage.models import URGENT, OutgoingMessage, Resident, SafeguardingThread

# Callback data of the button under each safeguarding alert: `_sgw|<resident id>`.
WRITE_BUTTON = "_sgw"
NOT_A_CONTACT = (
    "Sorry, only safeguarding contacts and admins can write to a resident through the bot."
)
SENT_TO_THE_TEAM = "Sent to the team. Send /done when you want to end this conversation."
THREAD_ENDED_BY_SERVICE = (
    "The service has ended this conversation. You can write /start at any time."
)
NO_THREAD = "There is no conversation to end."


class ThreadStore(Threads, Residents, StaffAndAudit, OutboxQueue, Clocked, Protocol):
    """What safeguarding threads need of storage."""


def write_markup(resident_id: int) -> str:
    """The "Write to this resident" button under an alert, as Telegram's inline keyboard JSON."""
    return (
        '{"inline_keyboard": [[{"text": "Write to this resident", '
        f'"callback_data": "{WRITE_BUTTON}|{resident_id}"}}]]}}'
    )


class SafeguardingThreads:
    """Opens, carries and ends the threads between contacts and residents."""

    def __init__(self, settings: Settings, storage: ThreadStore) -> None:
        self.settings = settings
        self.storage = storage

    async def may_write(self, user_id: int) -> bool:
        """Whether this person is a safeguarding contact or an admin."""
        if self.settings.is_admin(user_id) or user_id in self.settings.safeguarding_contacts:
            return True
        member = await self.storage.staff_member(user_id)
        return member is not None and member.safeguarding and not member.blocked

    async def open(self, contact_user_id: int, contact_chat_id: int, resident_id: int) -> str:
        """Open the thread with a resident; what to tell the contact (Telegram HTML)."""
        await self.storage.open_thread(resident_id, contact_user_id, contact_chat_id)
        thread = await self.storage.thread_of_contact(contact_user_id)
        assert thread is not None
        return (
            f"Write your message to <b>{html.escape(thread.resident.pseudonym)}</b>: it reaches "
            "them in their chat as a message from the service. What they write back comes here, "
            "until either of you sends /done."
        )

    async def resident_named(self, pseudonym: str) -> Resident | None:
        """The resident with this pseudonym, if any."""
        return await self.storage.resident_named(pseudonym)

    async def from_contact(self, thread: SafeguardingThread, text: str, update_id: int) -> str:
        """Queue a contact's words to the resident; what to tell the contact."""
        resident = thread.resident
        if resident.stopped or resident.blocked:
            return (
                f"{html.escape(resident.pseudonym)} has asked for no more messages (or blocked "
                "the bot), so nothing was sent."
            )
        await self.storage.keep_thread_message(resident.id, thread.contact_user_id, True, text)
        await self.storage.enqueue(
            [
                OutgoingMessage(
                    f"thread:{update_id}",
                    resident.chat_id,
                    "sendMessage",
                    "<b>A message from the service:</b>\n\n"
                    f"{html.escape(text)}\n\n"
                    "You can write back here. Send /done to end this conversation.",
                    resident_id=resident.id,
                    priority=URGENT,
                )
            ]
        )
        return f"Sent to {html.escape(resident.pseudonym)}."

    async def from_resident(
        self, thread: SafeguardingThread, text: str, update_id: int | None
    ) -> list[Message]:
        """Pass a resident's words to the contact, under their pseudonym; the reply to them."""
        resident = thread.resident
        await self.storage.keep_thread_message(resident.id, thread.contact_user_id, False, text)
        await self.storage.enqueue(
            [
                OutgoingMessage(
                    f"thread:{update_id}:to-contact",
                    thread.contact_chat_id,
                    "sendMessage",
                    f"<b>{html.escape(resident.pseudonym)}</b> wrote:\n\n{html.escape(text)}\n\n"
                    "Reply here; /done ends the conversation.",
                    priority=URGENT,
                )
            ]
        )
        return [Message(SENT_TO_THE_TEAM)]

    async def end_by_contact(self, thread: SafeguardingThread, update_id: int) -> str:
        """The contact ends the thread: the resident is told."""
        resident = thread.resident
        await self.storage.close_thread(resident.id)
        await self.storage.audit(
            thread.contact_user_id, "safeguarding thread ended", resident=resident.pseudonym
        )
        if not (resident.stopped or resident.blocked):
            await self.storage.enqueue(
                [
                    OutgoingMessage(
                        f"thread:{update_id}:ended",
                        resident.chat_id,
                        "sendMessage",
                        html.escape(THREAD_ENDED_BY_SERVICE),
                        resident_id=resident.id,
                        priority=URGENT,
                    )
                ]
            )
        return f"The conversation with {html.escape(resident.pseudonym)} has ended."

    async def end_by_resident(self, thread: SafeguardingThread, update_id: int) -> list[Message]:
        """The resident ends the thread: the contact is told."""
        resident = thread.resident
        await self.storage.close_thread(resident.id)
        await self.storage.audit(0, "safeguarding thread ended", resident=resident.pseudonym)
        await self.storage.enqueue(
            [
                OutgoingMessage(
                    f"thread:{update_id}:ended",
                    thread.contact_chat_id,
                    "sendMessage",
                    f"{html.escape(resident.pseudonym)} ended the conversation.",
                    priority=URGENT,
                )
            ]
        )
        return [
            Message("Thank you. This conversation has ended; you can write /start at any time.")
        ]
