"""You said, we did: what the service does about a theme, told to the residents who raised it,
and what they say back.

An *action* belongs to a theme. Publishing one, or changing its status, queues one outbox message
per resident who opted in to hearing back, spoke about the theme in the last 90 days and has not
stopped, been forgotten or blocked the bot, keyed by (action, status, resident) so that it can
never go twice. Residents' reactions ("This helps", "Not enough") and written replies are answers
of the flow `you-said-we-did`, step `action-<id>`: analysed, exported, erased and screened like any
other answer. No Telegram and no SQL in here: the bot, the command line and the dashboard share it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from conversations.engine import Message
from insights import Analyser
from services.conversation import replies_to_json
from storage import Actions, Answers, Clocked
from storage.models import (
    THREAD,
    Action,
    ActionSummary,
    Alert,
    Analysed,
    AnswerFact,
    Listener,
    NewAnswer,
    OutgoingMessage,
    Resident,
    ThemeCount,
    Turn,
)

FLOW_ID = "you-said-we-did"
STATUSES = ("heard", "planned", "in progress", "done", "not possible")
LONGEST_TEXT = 1000
# Who hears of an action: residents who spoke about its theme this recently.
HEARD_WITHIN = timedelta(days=90)
# What `/yousaid` lists, and what the digest holds the service to account for.
RECENT = timedelta(days=28)
# How long after being told of an action a resident's words (with no question waiting) are a
# reply to it.
REPLIES_WITHIN = timedelta(days=30)
QUOTE_LENGTH = 200
# Callback data of the buttons under an action's message: `_ysw|<action id>|helps` or `|more`.
BUTTON = "_ysw"
HELPS = "helps"
NOT_ENOUGH = "not enough"
_REACTIONS = {"helps": HELPS, "more": NOT_ENOUGH}

THANKS_HELPS = "Thank you for letting us know that this helps."
THANKS_NOT_ENOUGH = (
    "Thank you for telling us it is not enough. If you would like to say why, write it here: "
    "the team will read it."
)
THANKS_REPLY = "Thank you. The team will read what you wrote."
NOTHING_CHANGED_YET = "The service has not posted any changes yet. Please look again soon."
ACTION_GONE = "Sorry, that update is no longer available."


class ActionError(ValueError):
    """A mistake in what staff asked for, in words to show them as they are."""


class ActionStore(Actions, Answers, Clocked, Protocol):
    """What "you said, we did" needs of storage."""


def parse_status(text: str) -> str:
    """A status as staff type it ("In progress", "in-progress", "DONE"), or ActionError."""
    wanted = " ".join(text.replace("-", " ").replace("_", " ").lower().split())
    if wanted not in STATUSES:
        raise ActionError(f"unknown status {text!r}; the statuses are: {', '.join(STATUSES)}")
    return wanted


def check_text(text: str) -> str:
    """The action's words, trimmed; ActionError if empty or over 1,000 characters."""
    words = text.strip()
    if not words:
        raise ActionError("the action's text is empty: say in plain words what the service does")
    if len(words) > LONGEST_TEXT:
        raise ActionError(
            f"the action's text is {len(words):,} characters long; keep it to "
            f"{LONGEST_TEXT:,} (residents read it on a phone)"
        )
    return words


def match_theme(name: str, known: Iterable[str]) -> str:
    """The theme as the catalogue spells it, matched case-insensitively; ActionError if none."""
    themes = list(known)
    wanted = " ".join(name.split()).casefold()
    for theme in themes:
        if theme.casefold() == wanted:
            return theme
    raise ActionError(f"unknown theme {name!r}; the themes are: {', '.join(themes)}")


def step_of(action_id: int) -> str:
    """The step under which reactions and replies to an action are filed."""
    return f"action-{action_id}"


def short_quote(text: str, limit: int = QUOTE_LENGTH) -> str:
    """A resident's words cut to `limit` characters, at a word where possible."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def status_words(action: Action) -> str:
    """The status as residents read it."""
    if action.status == "not possible" and action.reason:
        return f"not possible: {action.reason}"
    return action.status


def resident_message(action: Action, quote: str | None) -> str:
    """What a resident who raised the theme reads in their chat (Telegram HTML)."""
    lines = [f"<b>You said, we did: {html.escape(action.theme)}</b>", ""]
    if quote:
        lines += [f"You told us: “<i>{html.escape(short_quote(quote))}</i>”", ""]
    lines += [
        f"What we are doing: {html.escape(action.text)}",
        f"Where it stands: <b>{html.escape(status_words(action))}</b>",
        "",
        "Does this help? Tap a button, or write back here in your own words.",
    ]
    return "\n".join(lines)


def reaction_markup(action_id: int) -> str:
    """The "This helps" and "Not enough" buttons, as Telegram's inline keyboard JSON."""
    return json.dumps(
        {
            "inline_keyboard": [
                [
                    {"text": "This helps", "callback_data": f"{BUTTON}|{action_id}|helps"},
                    {"text": "Not enough", "callback_data": f"{BUTTON}|{action_id}|more"},
                ]
            ]
        }
    )


def parse_reaction(data: str) -> tuple[int, str] | None:
    """(action id, reaction) from a button's callback data; None if it is not one of ours."""
    parts = data.split("|")
    if len(parts) != 3 or parts[0] != BUTTON or not parts[1].isdigit():
        return None
    reaction = _REACTIONS.get(parts[2])
    return (int(parts[1]), reaction) if reaction else None


def outbox_message(action: Action, listener: Listener) -> OutgoingMessage:
    """The message telling one resident of an action at its current status: keyed so that it
    can never be queued twice for the same action, status and resident."""
    return OutgoingMessage(
        f"action:{action.id}:{action.status}:{listener.resident_id}",
        listener.chat_id,
        "sendMessage",
        resident_message(action, listener.quote),
        resident_id=listener.resident_id,
        markup=reaction_markup(action.id),
    )


def changes_text(actions: Sequence[Action], limit: int = 10) -> str:
    """What `/changes` shows any resident: the latest actions (plain text)."""
    if not actions:
        return NOTHING_CHANGED_YET
    latest = sorted(actions, key=lambda action: action.updated_at, reverse=True)[:limit]
    blocks = ["What the service is doing about what residents told us:"]
    for action in latest:
        blocks.append(
            f"• {action.theme} — {status_words(action)} ({action.updated_at:%d %b %Y})\n"
            f"  {action.text}"
        )
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class Plan:
    """An action checked and ready to publish: what residents will read, and how many."""

    action_id: int | None  # None: a new action
    theme: str
    status: str
    text: str
    reason: str | None
    listeners: tuple[Listener, ...]
    example: str  # the message as a resident will read it (Telegram HTML)

    @property
    def reach(self) -> int:
        """How many residents will be told."""
        return len(self.listeners)


class ActionDesk:
    """The loop's use cases: plan, publish and update actions; take residents' reactions and
    replies."""

    def __init__(self, storage: ActionStore, themes: Sequence[str], analyser: Analyser) -> None:
        self.storage = storage
        self.themes = list(themes)
        self.analyser = analyser

    async def recent_themes(self) -> list[ThemeCount]:
        """The themes of the last four weeks, most said first, with whether each has an action."""
        return await self.storage.theme_counts(self.storage.now() - RECENT)

    async def plan(
        self,
        *,
        theme: str | None = None,
        action_id: int | None = None,
        status: str,
        text: str | None = None,
        reason: str | None = None,
    ) -> Plan:
        """Check a new action (by theme) or a change to one (by id), and find who will be told;
        nothing is stored. ActionError says what is wrong."""
        chosen_status = parse_status(status)
        if action_id is not None:
            current = await self.storage.action(action_id)
            if current is None:
                raise ActionError(f"there is no action {action_id}")
            chosen_theme = current.theme
            words = check_text(text) if text is not None else current.text
            if reason is None and chosen_status == current.status:
                reason = current.reason
        else:
            if theme is None:
                raise ActionError("say which theme the action is about")
            chosen_theme = match_theme(theme, self.themes)
            words = check_text(text or "")
        if chosen_status == "not possible":
            if not (reason or "").strip():
                raise ActionError("say why it is not possible (a reason residents will read)")
            reason = check_text(reason or "")
        else:
            reason = None
        listeners = await self.storage.listeners(
            chosen_theme, self.storage.now() - HEARD_WITHIN, action_id, chosen_status
        )
        now = self.storage.now()
        draft = Action(action_id or 0, chosen_theme, words, chosen_status, reason, 0, now, now)
        example_quote = next((x.quote for x in listeners if x.quote), None)
        return Plan(
            action_id,
            chosen_theme,
            chosen_status,
            words,
            reason,
            tuple(listeners),
            resident_message(draft, example_quote or "(one of their own answers on this theme)"),
        )

    async def publish(self, plan: Plan, by: int) -> Action:
        """Record the action (or its change) and queue its message to each listener, in one
        transaction; returns the action as stored."""
        return await self.storage.save_action(
            plan.action_id,
            theme=plan.theme,
            status=plan.status,
            text=plan.text,
            reason=plan.reason,
            by=by,
            listeners=plan.listeners,
            message=outbox_message,
        )

    async def summaries(self) -> list[ActionSummary]:
        """Every action with residents told, reactions and replies, newest change first."""
        return await self.storage.action_summaries()

    async def react(
        self, resident: Resident, action_id: int, reaction: str, update_id: int | None
    ) -> list[Message]:
        """Keep a resident's tap on "This helps" or "Not enough" (a second tap replaces it)."""
        action = await self.storage.action(action_id)
        if action is None:
            return [Message(ACTION_GONE)]
        thanks = THANKS_HELPS if reaction == HELPS else THANKS_NOT_ENOUGH
        messages = [Message(thanks)]
        await self._keep(resident, action, reaction, "reaction", None, update_id, messages)
        return messages

    async def thread_for(self, resident: Resident) -> Action | None:
        """The action a resident's words (with no question waiting) answer, if any."""
        return await self.storage.told_lately(resident.id, self.storage.now() - REPLIES_WITHIN)

    async def reply(
        self,
        resident: Resident,
        action: Action,
        words: str,
        update_id: int | None,
        *,
        first: Sequence[Message] = (),
        alert: Alert | None = None,
        signs: tuple[str, ...] = (),
    ) -> list[Message]:
        """Keep a resident's written reply to an action, analysed like any answer; `first` is
        help to send before the thanks, and `alert` the safeguarding alert to commit with it."""
        found = self.analyser.analyse(words, asks_for="open")
        analysed = Analysed(
            found.themes, found.sentiment, found.tone, found.key_phrases, dict(found.theme_tones)
        )
        messages = [*first, Message(THANKS_REPLY)]
        await self._keep(
            resident, action, words, "text", analysed, update_id, messages, alert, signs
        )
        return messages

    async def _keep(
        self,
        resident: Resident,
        action: Action,
        words: str,
        kind: str,
        analysed: Analysed | None,
        update_id: int | None,
        replies: Sequence[Message],
        alert: Alert | None = None,
        signs: tuple[str, ...] = (),
    ) -> None:
        session = await self.storage.flow_session(resident.id, FLOW_ID)
        await self.storage.save_turn(
            Turn(
                resident_id=resident.id,
                session_id=session.id if session else None,
                flow_id=FLOW_ID,
                flow_version=1,
                step_id=None,
                status=THREAD,
                state="{}",
                answer=NewAnswer(
                    step_id=step_of(action.id),
                    question=f"You said, we did — {action.theme}: {action.text}",
                    text=words,
                    kind=kind,
                    asks_for="open" if kind == "text" else None,
                    analysed=analysed,
                    safeguarding=signs,
                ),
                update_id=update_id,
                replies=replies_to_json(replies),
                alert=alert,
            )
        )


class LoopReportStore(Actions, Answers, Protocol):
    """What the digest's "You said, we did" section reads."""


# The digest's list of themes with the most answers and no action yet.
NOT_ANSWERED_SHOWN = 5
REPLIES_QUOTED = 3


async def loop_section(
    storage: LoopReportStore, start: datetime, end: datetime, redact: Callable[[str], str]
) -> str | None:
    """The digest's "You said, we did" section (Telegram HTML): actions written or updated in
    [start, end) with residents told, reactions and replies quoted (redacted, pseudonyms); the
    themes most said in the last four weeks with no action; and the response rate over 90 days.
    None when there is nothing to say (no actions and no themes)."""
    changes = await storage.changed_actions(start, end)
    summaries = {summary.action.id: summary for summary in await storage.action_summaries()}
    replies: dict[str, list[AnswerFact]] = {}
    for fact in await storage.answers_between(start, end):
        if fact.flow == FLOW_ID and fact.kind == "text" and not fact.held_back:
            replies.setdefault(fact.step, []).append(fact)
    recent = await storage.theme_counts(end - RECENT)
    raised = await storage.theme_counts(end - HEARD_WITHIN)
    if not summaries and not recent:
        return None
    lines = ["<b>You said, we did</b>"]
    changed_ids = list(dict.fromkeys(change.action_id for change in changes))
    if not changed_ids:
        lines.append("No action was written or updated this week.")
    for action_id in changed_ids:
        summary = summaries.get(action_id)
        if summary is None:
            continue
        action = summary.action
        new = " (new)" if start <= action.created_at < end else ""
        disputed = " · <b>disputed</b>: marked done, residents say not enough" * summary.disputed
        lines.append(
            f"• <b>{html.escape(action.theme)}</b> — {html.escape(status_words(action))}{new}"
            f" · {summary.told} told · {summary.helps} helps · {summary.not_enough} not enough"
            f"{disputed}\n  {html.escape(action.text)}"
        )
        for fact in replies.get(step_of(action_id), [])[:REPLIES_QUOTED]:
            lines.append(
                f"  “<i>{html.escape(short_quote(redact(fact.answer)))}</i>” — "
                f"{html.escape(fact.resident)}"
            )
    waiting = [count for count in recent if not count.has_action][:NOT_ANSWERED_SHOWN]
    if waiting:
        lines.append("\n<b>Not answered yet</b> (said most in the last four weeks, no action)")
        lines.extend(
            f"• {html.escape(count.theme)} — {count.answers} answer"
            + ("s" if count.answers != 1 else "")
            for count in waiting
        )
    if raised:
        answered = sum(1 for count in raised if count.has_action)
        lines.append(
            f"\nResponse rate: {answered} of {len(raised)} themes raised in the last 90 days "
            f"have an action ({round(100 * answered / len(raised))}%)."
        )
    return "\n".join(lines)
