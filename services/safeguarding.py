"""An answer that carries a sign of risk: help for the resident at once, an alert for the contacts.

The signs are phrases in an admin-editable list (`insights/safeguarding.yaml`, or the file named
by WHATMATTERS_SAFEGUARDING). The resident is offered helplines, in wording for office hours or
out of them, and is never told that their words were noticed by a machine. The safeguarding
contacts (staff marked as such in /staff, and WHATMATTERS_SAFEGUARDING_CONTACTS; the admins if
there are none) get the answer with the resident's pseudonym, through the outbox, queued in the
same transaction as the answer itself. The answer is counted in digests but never quoted.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.settings import OfficeHours, Settings
from conversations.model import Flow
from insights import SafeguardingList, Signal
from services.threads import write_markup
from storage import Clocked, Resident, StaffAndAudit
from storage.models import URGENT, Alert, OutgoingMessage

log = logging.getLogger(__name__)

# The answer as quoted in an alert; Telegram takes 4,096 characters a message.
LONGEST_QUOTE = 3000
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def reopening(hours: OfficeHours, moment: datetime) -> tuple[bool, str]:
    """Whether `moment` (local time) is out of office hours, and when the office opens next."""
    open_now = moment.weekday() in hours.weekdays and hours.opens <= moment.time() < hours.closes
    for ahead in range(8):
        day = moment + timedelta(days=ahead)
        if day.weekday() not in hours.weekdays:
            continue
        if ahead == 0 and moment.time() >= hours.opens:
            continue
        when = "today" if ahead == 0 else "tomorrow" if ahead == 1 else _DAY_NAMES[day.weekday()]
        return not open_now, f"{when} at {hours.opens:%H:%M}"
    return not open_now, "the next working day"  # only when no weekday is staffed at all


class SafeguardStorage(StaffAndAudit, Clocked, Protocol):
    """What alerting needs: the safeguarding contacts, and the clock for office hours."""


class Safeguard:
    """Finds signs of risk in answers and says what to do about each one."""

    def __init__(
        self,
        settings: Settings,
        storage: SafeguardStorage,
        signs: SafeguardingList,
        *,
        alert_contacts: bool = True,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.signs = signs
        # `whatmatters try` shows the resident's side only: an admin testing is nobody at risk.
        self.alert_contacts = alert_contacts

    def find(self, text: str) -> tuple[Signal, ...]:
        """The signs of risk in an answer, one per category at most."""
        return self.signs.find(text)

    def signposting(self) -> str:
        """The message of help for the resident, in the wording for the time it is now."""
        closed, reopens = reopening(
            self.settings.staffed_hours, self.storage.now().astimezone(self.settings.zone)
        )
        return self.signs.signposting(out_of_hours=closed, reopens=reopens)

    async def alert(
        self,
        resident: Resident,
        flow: Flow | None,
        step_id: str | None,
        question: str,
        answer: str,
        signals: Sequence[Signal],
        update_id: int | None,
    ) -> Alert:
        """The alert for the contacts, and what the audit log keeps of it."""
        now = self.storage.now()
        contacts = await self._contacts() if self.alert_contacts else []
        closed, _ = reopening(self.settings.staffed_hours, now.astimezone(self.settings.zone))
        audit: dict[str, object] = {
            "resident": resident.pseudonym,
            "flow": flow.id if flow else None,
            "step": step_id,
            "signals": [signal.category for signal in signals],
            "phrases": [signal.phrase for signal in signals],
            "out_of_hours": closed,
            "alerted": [name for _, name in contacts],
        }
        if not self.alert_contacts:
            audit["note"] = "found in `whatmatters try`; nobody alerted"
        elif not contacts:
            log.error("a safeguarding alert has nobody to go to: set safeguarding contacts")
            audit["note"] = "no safeguarding contact, staff member or admin to alert"
        text = self._text(resident, flow, question, answer, signals, now, closed)
        moment = update_id if update_id is not None else int(now.timestamp() * 1000)
        messages = tuple(
            OutgoingMessage(
                f"safeguarding:{resident.id}:{step_id or '-'}:{moment}:{chat_id}",
                chat_id,
                "sendMessage",
                text,
                markup=write_markup(resident.id) if self.alert_contacts else None,
                priority=URGENT,
            )
            for chat_id, _ in contacts
        )
        return Alert(messages, audit)

    async def _contacts(self) -> list[tuple[int, str]]:
        """(chat id, who) of everyone to alert: marked staff and configured contacts, or admins."""
        found = {member.chat_id: member.name for member in await self.storage.safeguarding_staff()}
        for user_id in self.settings.safeguarding_contacts:
            found.setdefault(user_id, f"contact {user_id}")
        if not found:
            # Someone must read it: with no contact set, the admins do.
            found = {user_id: f"admin {user_id}" for user_id in self.settings.admins}
        return list(found.items())

    def _text(
        self,
        resident: Resident,
        flow: Flow | None,
        question: str,
        answer: str,
        signals: Sequence[Signal],
        now: datetime,
        closed: bool,
    ) -> str:
        labels = ", ".join(signal.label for signal in signals)
        words = answer.strip()
        if len(words) > LONGEST_QUOTE:
            words = (
                f"{words[:LONGEST_QUOTE]}… ({len(words):,} characters in all; "
                "`whatmatters export --as-written` on the server has the whole answer)"
            )
        when = now.astimezone(self.settings.zone)
        help_sent = "out-of-hours" if closed else "office-hours"
        conversation = f"{flow.title} ({flow.id})" if flow else "none under way"
        asked = question or "none (written outside an open question)"
        counted = (
            "It is counted in the digest but never quoted there."
            if question
            else "It was not an answer, so it is kept only with the raw messages."
        )
        return (
            f"⚠️ <b>Safeguarding</b>: a message may show that someone is at risk "
            f"({html.escape(labels)}).\n\n"
            f"Resident: <b>{html.escape(resident.pseudonym)}</b>\n"
            f"Conversation: {html.escape(conversation)}\n"
            f"Question: {html.escape(asked)}\n"
            f"Received: {when:%a %d %b %Y, %H:%M}\n\n"
            f"Their words:\n<blockquote>{html.escape(words)}</blockquote>\n\n"
            f"They were sent the {help_sent} helplines. The signs are found by matching words, so "
            f"this may be wrong: please read it and follow your safeguarding procedure. {counted}"
        )
