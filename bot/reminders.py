"""Reminders and expiry: a quiet resident is nudged once, and a long-unanswered question closes.

Worked out from stored times (when each session's question was asked) against the storage
clock, so nothing is lost in a restart and tests move the clock instead of sleeping.
"""

from __future__ import annotations

import html
import json

from bot.keyboard import keyboard
from conversations.engine import State, expire, expiry_due, reminder_due
from services.conversation import Conversations
from storage.models import OutgoingMessage


async def nudge_and_expire(conversations: Conversations) -> tuple[int, int]:
    """Queue the reminders that are due and close the sessions that expired; how many of each."""
    storage, library = conversations.storage, conversations.library
    now = storage.now()
    reminded = expired = 0
    for waiting in await storage.waiting_sessions():
        session, chat_id, asked_at = waiting.session, waiting.chat_id, waiting.asked_at
        already_reminded = waiting.reminded
        flow = await library.get(session.flow_id, session.flow_version)
        state = State.model_validate_json(session.state)
        expires = expiry_due(flow, state)
        if expires is not None and asked_at + expires <= now:
            outcome = expire(flow, state)
            if outcome.accepted:
                await conversations.close(session, flow, outcome)
                await storage.enqueue(
                    OutgoingMessage(
                        f"expired:{session.id}:{n}",
                        chat_id,
                        "sendMessage",
                        html.escape(message.text),
                        resident_id=session.resident_id,
                    )
                    for n, message in enumerate(outcome.messages)
                )
                expired += 1
            continue
        due = reminder_due(flow, state)
        if due is None or already_reminded:
            continue
        after, message = due
        if asked_at + after > now:
            continue
        markup = keyboard(message.buttons)
        await storage.queue_reminder(
            session.id,
            OutgoingMessage(
                f"reminder:{session.id}:{state.step_id}:{asked_at.isoformat()}",
                chat_id,
                "sendMessage",
                html.escape(message.text),
                resident_id=session.resident_id,
                markup=json.dumps(markup.to_dict()) if markup else None,
            ),
        )
        reminded += 1
    return reminded, expired
