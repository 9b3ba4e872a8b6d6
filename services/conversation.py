"""A resident's turn, from their input to the stored answer and the messages to show.

Shared by the Telegram handlers and `whatmatters try`, so the terminal behaves exactly as the bot.
Every turn is committed to storage before its messages are returned to be sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import wording
from conversations.engine import (
    MAX_ANSWER_CHARS,
    Answer,
    Begin,
    Button,
    Input,
    Message,
    Outcome,
    State,
    Text,
    Unreadable,
    advance,
    begin,
    change_language,
)
from conversations.model import Flow
from conversations.wording import TOO_LONG
from insights import Analyser
from services.library import FlowLibrary
from services.safeguarding import Safeguard
from storage import NewAnswer, Resident, Session, Storage, Turn
from storage.models import Action, Alert, Analysed

if TYPE_CHECKING:  # services.actions uses this module's replies_to_json
    from services.actions import ActionDesk
    from services.threads import SafeguardingThreads


def replies_to_json(messages: Sequence[Message]) -> str:
    """Messages as JSON, kept with the update so a reply lost in a crash can be sent again."""
    return json.dumps(
        [
            {
                "text": m.text,
                "buttons": [[b.label, b.step_id, b.value] for b in m.buttons],
                **({"urgent": True} if m.urgent else {}),
            }
            for m in messages
        ]
    )


def replies_from_json(text: str) -> list[Message]:
    """Messages kept by `replies_to_json`."""
    return [
        Message(
            item["text"],
            tuple(Button(*button) for button in item["buttons"]),
            item.get("urgent", False),
        )
        for item in json.loads(text)
    ]


class Conversations:
    """Runs residents through flows, one committed turn at a time."""

    def __init__(
        self,
        storage: Storage,
        library: FlowLibrary,
        analyser: Analyser,
        safeguard: Safeguard | None = None,
        actions: ActionDesk | None = None,
        threads: SafeguardingThreads | None = None,
    ) -> None:
        self.storage = storage
        self.library = library
        self.analyser = analyser
        self.safeguard = safeguard
        # "You said, we did": words with no question waiting may be a reply to an action.
        self.actions = actions
        # A resident a safeguarding contact is writing with: their words go to the contact.
        self.threads = threads
        # Called once an alert is committed, to send it now rather than at the outbox's next round.
        self.on_alert: Callable[[], object] | None = None

    async def start(
        self,
        resident: Resident,
        *,
        update_id: int | None = None,
        flow_id: str | None = None,
        language: str | None = None,
        first: Sequence[Message] = (),
    ) -> list[Message]:
        """Resume the resident's flow where they left off, or begin the default one.

        `first`: messages to send before the flow's own (help after a sign of risk).
        """
        if resident.stopped:
            await self.storage.set_stopped(resident.id, False)
            resident = replace(resident, stopped=False)
        session = await self.storage.active_session(resident.id)
        if session is not None and (flow_id is None or flow_id == session.flow_id):
            # A second /start mid-flow resumes; it never starts the resident over.
            return await self.handle(resident, Begin(), update_id=update_id)
        flow, version = await self.library.live(flow_id or await self.library.default_flow_id())
        chosen = resident.language or language
        if len(flow.languages) > 1 and flow.match_language(chosen) is None:
            # First contact with a flow in several languages, none of them known to be theirs.
            messages = [*first, wording.language_picker(flow.id, flow.languages)]
            await self.note_replies(update_id, messages)
            return messages
        # The language they chose, or else Telegram's; the flow's main one if it has no match.
        outcome = begin(flow, chosen)
        messages = [*first, *outcome.messages]
        await self._commit(resident.id, None, flow, version, outcome, update_id, replies=messages)
        return messages

    async def handle(
        self, resident: Resident, inp: Input, *, update_id: int | None = None
    ) -> list[Message]:
        """Take one input from the resident within their current flow."""
        if resident.stopped:
            help_now = await self.aside(resident, inp, None, None, update_id)
            messages = [*help_now, Message(wording.STOPPED_HINT)]
            await self.note_replies(update_id, messages)
            return messages
        session = await self.storage.active_session(resident.id)
        if session is None and isinstance(inp, Text) and self.threads is not None:
            # A safeguarding contact is writing with them: their words go to the contact.
            thread = await self.threads.storage.thread_of_resident(resident.id)
            if thread is not None:
                messages = await self.threads.from_resident(thread, inp.text, update_id)
                await self.note_replies(update_id, messages)
                if self.on_alert is not None:
                    self.on_alert()  # (sends what waits in the outbox now)
                return messages
        if session is None and isinstance(inp, Text) and self.actions is not None:
            # No question waiting: words after being told what the service did are a reply.
            action = await self.actions.thread_for(resident)
            if action is not None:
                return await self._reply_to_action(resident, action, inp.text, update_id)
        if session is None:
            session = await self.storage.latest_session(resident.id)
            if session is None or isinstance(inp, Begin):
                help_now = await self.aside(resident, inp, None, None, update_id)
                return await self.start(resident, update_id=update_id, first=help_now)
            # The engine answers kindly that the conversation is over (finished, or declined).
        flow = await self.library.get(session.flow_id, session.flow_version)
        outcome = advance(flow, State.model_validate_json(session.state), inp)
        if not outcome.accepted:
            # Nothing changed: the flow stays where it was, so only the update is marked done.
            help_now = await self.aside(resident, inp, flow, session.step_id, update_id)
            messages = [*help_now, *outcome.messages]
            await self.note_replies(update_id, messages)
            return messages
        messages, alert, signs = await self._safeguarding(resident, flow, outcome, update_id)
        await self._commit(
            resident.id,
            session,
            flow,
            session.flow_version,
            outcome,
            update_id,
            replies=messages,
            alert=alert,
            signs=signs,
        )
        if alert is not None and self.on_alert is not None:
            self.on_alert()
        return messages

    async def _reply_to_action(
        self, resident: Resident, action: Action, words: str, update_id: int | None
    ) -> list[Message]:
        """Keep a resident's words about an action they were told of: an answer of the loop,
        screened for signs of risk like every other."""
        assert self.actions is not None
        if len(words) > MAX_ANSWER_CHARS:
            messages = [Message(TOO_LONG)]
            await self.note_replies(update_id, messages)
            return messages
        signals = self.safeguard.find(words) if self.safeguard is not None else ()
        if not signals or self.safeguard is None:
            return await self.actions.reply(resident, action, words, update_id)
        step = f"action-{action.id}"
        alert = await self.safeguard.alert(
            resident, None, step, f"You said, we did — {action.theme}", words, signals, update_id
        )
        help_now = Message(self.safeguard.signposting(), urgent=True)
        messages = await self.actions.reply(
            resident,
            action,
            words,
            update_id,
            first=[help_now],
            alert=alert,
            signs=tuple(s.category for s in signals),
        )
        if self.on_alert is not None:
            self.on_alert()
        return messages

    async def aside(
        self,
        resident: Resident,
        inp: Input,
        flow: Flow | None,
        step_id: str | None,
        update_id: int | None,
    ) -> list[Message]:
        """Words typed where no open answer was expected (before a conversation, after it, at
        a button question, after /stop) are checked for signs of risk too: the contacts are
        alerted at once, and the help to send first is returned."""
        words = (
            inp.text
            if isinstance(inp, Text)
            else inp.caption
            if isinstance(inp, Unreadable)
            else ""
        )
        if self.safeguard is None or not words:
            return []
        signals = self.safeguard.find(words)
        if not signals:
            return []
        alert = await self.safeguard.alert(resident, flow, step_id, "", words, signals, update_id)
        await self.storage.raise_alert(alert)
        if self.on_alert is not None:
            self.on_alert()
        return [Message(self.safeguard.signposting(), urgent=True)]

    async def _safeguarding(
        self, resident: Resident, flow: Flow, outcome: Outcome, update_id: int | None
    ) -> tuple[list[Message], Alert | None, tuple[str, ...]]:
        """The replies to a turn, with help first if the answer shows a sign of risk; the alert
        for the contacts; and the categories found."""
        answer = outcome.answer
        if self.safeguard is None or answer is None or flow.step(answer.step_id).kind != "text":
            return list(outcome.messages), None, ()
        signals = self.safeguard.find(answer.text)
        if not signals:
            return list(outcome.messages), None, ()
        alert = await self.safeguard.alert(
            resident, flow, answer.step_id, answer.question, answer.text, signals, update_id
        )
        # Help at once, then the conversation goes on as it would: nothing says "flagged".
        help_now = Message(self.safeguard.signposting(), urgent=True)
        return [help_now, *outcome.messages], alert, tuple(s.category for s in signals)

    async def languages(self, resident: Resident) -> tuple[Flow, str | None]:
        """The flow the resident is in (or would start), and the language they read it in."""
        session = await self.storage.active_session(resident.id)
        if session is not None:
            flow = await self.library.get(session.flow_id, session.flow_version)
            return flow, State.model_validate_json(session.state).language
        flow, _ = await self.library.live(await self.library.default_flow_id())
        return flow, resident.language

    async def choose_language(
        self,
        resident: Resident,
        language: str,
        *,
        flow_id: str | None = None,
        update_id: int | None = None,
    ) -> list[Message]:
        """Switch the resident to another language, now and for the flows they start later."""
        await self.storage.set_language(resident.id, language)
        session = await self.storage.active_session(resident.id)
        if session is None:
            chosen = replace(resident, language=language)
            known = flow_id if flow_id and await self.storage.live_flow(flow_id) else None
            return await self.start(chosen, update_id=update_id, flow_id=known)
        flow = await self.library.get(session.flow_id, session.flow_version)
        outcome = change_language(flow, State.model_validate_json(session.state), language)
        if outcome.accepted:
            await self._commit(resident.id, session, flow, session.flow_version, outcome, update_id)
        else:
            await self.note_replies(update_id, outcome.messages)
        return list(outcome.messages)

    async def stop(self, resident: Resident, *, update_id: int | None = None) -> list[Message]:
        """Send no more messages to this resident until they /start again."""
        await self.storage.set_stopped(resident.id, True)
        messages = [Message(wording.STOPPED)]
        await self.note_replies(update_id, messages)
        return messages

    async def close(self, session: Session, flow: Flow, outcome: Outcome) -> None:
        """Commit an outcome that came from the clock, not the resident (a session expiring)."""
        await self._commit(session.resident_id, session, flow, session.flow_version, outcome, None)

    async def _commit(
        self,
        resident_id: int,
        session: Session | None,
        flow: Flow,
        version: int,
        outcome: Outcome,
        update_id: int | None,
        *,
        replies: Sequence[Message] | None = None,
        alert: Alert | None = None,
        signs: tuple[str, ...] = (),
    ) -> None:
        answer = None
        if outcome.answer is not None:
            answer = replace(self._recorded(flow, outcome.answer), safeguarding=signs)
        await self.storage.save_turn(
            Turn(
                resident_id=resident_id,
                session_id=session.id if session else None,
                flow_id=flow.id,
                flow_version=version,
                step_id=outcome.state.step_id,
                status=outcome.state.status.value,
                state=outcome.state.model_dump_json(),
                answer=answer,
                update_id=update_id,
                replies=replies_to_json(outcome.messages if replies is None else replies),
                alert=alert,
            )
        )

    def _recorded(self, flow: Flow, answer: Answer) -> NewAnswer:
        """The answer as stored, with its analysis: done once, here, so digests only aggregate."""
        step = flow.step(answer.step_id)
        analysed = None
        if step.kind == "text":
            found = self.analyser.analyse(answer.text, asks_for=step.asks_for)
            analysed = Analysed(
                found.themes,
                found.sentiment,
                found.tone,
                found.key_phrases,
                dict(found.theme_tones),
            )
        return NewAnswer(
            step_id=answer.step_id,
            question=answer.question,
            text=answer.text,
            number=answer.number,
            follow_up_consent=answer.follow_up_consent,
            kind=step.kind,
            asks_for=step.asks_for,
            analysed=analysed,
        )

    async def note_replies(self, update_id: int | None, messages: Sequence[Message]) -> None:
        """Mark an update processed with nothing stored, keeping what the bot answers to it."""
        if update_id is not None:
            await self.storage.mark_processed(update_id, replies_to_json(messages))
