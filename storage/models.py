"""The typed records that storage hands out and takes in; no SQL rows leave the storage package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Resident:
    """A person who talks with the bot, known to staff only by a pseudonym."""

    id: int
    telegram_user_id: int
    chat_id: int
    pseudonym: str
    created_at: datetime
    stopped: bool
    blocked: bool
    follow_up_consent: bool | None
    language: str | None = None


@dataclass(frozen=True)
class Session:
    """A resident's way through one version of one flow; `state` is the engine's state as JSON."""

    id: int
    resident_id: int
    flow_id: str
    flow_version: int
    step_id: str | None
    status: str
    state: str


@dataclass(frozen=True)
class NewAnswer:
    """An answer to record: what the resident said to one step."""

    step_id: str
    question: str
    text: str
    number: float | None = None
    follow_up_consent: bool | None = None
    kind: str | None = None
    asks_for: str | None = None
    analysed: Analysed | None = None
    # Safeguarding categories found in it: the answer is then counted, never quoted.
    safeguarding: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """Everything one resident message changes, committed together before the bot replies.

    `session_id` is None to start a new session; `update_id` is the Telegram update that carried
    the turn (None from the terminal), and `replies` is what the bot will answer, kept so that a
    reply lost in a crash can be sent again without processing the update twice.
    """

    resident_id: int
    session_id: int | None
    flow_id: str
    flow_version: int
    step_id: str | None
    status: str
    state: str
    answer: NewAnswer | None = None
    update_id: int | None = None
    replies: str | None = None
    alert: Alert | None = None


@dataclass(frozen=True)
class Alert:
    """A safeguarding alert an answer raised: the messages to the contacts, and what the audit
    log keeps of it (the pseudonym, the flow and step, the categories, who was alerted).
    """

    messages: tuple[OutgoingMessage, ...]
    audit: dict[str, object]


class UpdateStatus(StrEnum):
    """What storage already knows of an incoming Telegram update."""

    NEW = "new"  # never seen: process it
    UNPROCESSED = "unprocessed"  # recorded, but its processing did not finish: process it
    UNREPLIED = "unreplied"  # processed and committed, but the replies may not have gone out
    DONE = "done"  # processed and answered: ignore the repeat


@dataclass(frozen=True)
class RecordedUpdate:
    """The outcome of recording an update: its status, and the replies kept if processed."""

    status: UpdateStatus
    replies: str | None = None


@dataclass(frozen=True)
class FlowVersion:
    """One published version of a flow, as the YAML the admin wrote."""

    flow_id: str
    version: int
    source: str
    published_at: datetime


@dataclass(frozen=True)
class OwnAnswer:
    """One of a resident's answers, as they see it when picking one to delete (/forget)."""

    id: int
    question: str
    answer: str
    answered_at: datetime


@dataclass(frozen=True)
class ExportRow:
    """One answer as staff and exports see it: under the resident's pseudonym only."""

    resident: str
    flow: str
    flow_version: int
    step: str
    question: str
    answer: str
    answered_at: datetime
    themes: tuple[str, ...]
    sentiment: float | None


@dataclass(frozen=True)
class Analysed:
    """What the text analysis found in an answer when it arrived."""

    themes: tuple[str, ...]
    sentiment: float
    tone: str
    key_phrases: tuple[str, ...]
    # Each theme's own tone (the words about it); a theme missing here takes `tone`.
    theme_tones: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffMember:
    """A member of staff who receives the digest; `name` is how admins recognise them."""

    id: int
    telegram_user_id: int
    chat_id: int
    name: str
    joined_at: datetime
    safeguarding: bool
    blocked: bool


@dataclass(frozen=True)
class AnswerFact:
    """One stored answer with what the analysis found in it: the stuff a digest is made of."""

    resident: str
    flow: str
    step: str
    question: str
    kind: str | None
    answer: str
    number: float | None
    answered_at: datetime
    themes: tuple[str, ...]
    sentiment: float | None
    tone: str | None
    key_phrases: tuple[str, ...]
    held_back: bool = False  # a safeguarding signal: counted, never quoted
    answer_id: int | None = None  # internal: how staff buttons name the answer, never shown


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to queue in the outbox; `key` says what it is, so queuing it twice is a no-op."""

    key: str
    chat_id: int
    method: str  # "sendMessage", "sendPhoto" or "sendDocument"
    text: str
    filename: str | None = None
    attachment: bytes | None = None
    # For a resident: sent only if they have not used /stop or blocked the bot by then.
    resident_id: int | None = None
    markup: str | None = None  # an inline keyboard, as Telegram's JSON
    priority: int = 0  # higher goes first: URGENT (safeguarding), then ASKED_FOR (/mydata)
    delay: float = 0.0  # seconds after queueing before it may go out


# Outbox priorities: a safeguarding alert overtakes everything, a resident's own file overtakes
# digests, reminders and broadcasts (which can be thousands of messages long).
URGENT = 2
ASKED_FOR = 1

# The outbox key of a resident's reply that Telegram could not take when it was due:
# `reply:<update_id>:<n>`, so a reply handed over twice is queued once.
REPLY_KEY = "reply:"
# A reply held back from a resident's burst of messages (`reply:held:<update_id>`), sent once they
# are quiet: like any waiting reply, a later committed turn drops it; unlike one, nothing newer
# waits behind it (the help after a sign of risk, or "please slow down", go at once).
HELD_KEY = f"{REPLY_KEY}held:"

# The status of a session that holds a resident's reactions and replies to what the service told
# them ("you said, we did"): no question of it is ever waiting, and it is never resumed.
THREAD = "thread"


@dataclass(frozen=True)
class QueuedMessage:
    """A message in the outbox, waiting to go out."""

    id: int
    key: str
    chat_id: int
    method: str
    text: str
    filename: str | None
    attachment: bytes | None
    attempts: int
    markup: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class PeriodFigures:
    """What a period's answers add up to, counted by the database."""

    residents: int
    answers: int
    tones: dict[str, int]
    theme_tones: dict[str, dict[str, int]]  # theme → tone → answers ("" for no tone)
    scales: tuple[tuple[str, float, int], ...]  # question, average, answers
    unthemed_phrases: dict[str, int]  # key phrases of answers no theme covered
    held_back: int = 0  # answers with a sign of risk: counted, never quoted

    def theme_count(self, theme: str) -> int:
        """How many answers carried this theme."""
        return sum(self.theme_tones.get(theme, {}).values())


@dataclass(frozen=True)
class Action:
    """What the service is doing about a theme ("you said, we did"), as it stands now."""

    id: int
    theme: str
    text: str
    status: str  # heard, planned, in progress, done, not possible
    reason: str | None
    created_by: int  # the member of staff's Telegram id; 0 for the command line
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ActionChange:
    """One version of an action, as its history keeps it."""

    action_id: int
    status: str
    text: str
    reason: str | None
    changed_by: int
    changed_at: datetime
    told: int  # residents queued to hear of this change


@dataclass(frozen=True)
class ActionSummary:
    """An action with what came of it: residents told, their reactions and replies."""

    action: Action
    told: int
    helps: int
    not_enough: int
    replies: int

    @property
    def disputed(self) -> bool:
        """Marked done, but a resident who was told says it is not enough."""
        return self.action.status == "done" and self.not_enough > 0


@dataclass(frozen=True)
class Listener:
    """A resident to tell of an action: opted in to hearing back, spoke about its theme lately,
    and not stopped, forgotten or blocked; `quote` is one of their own answers on the theme
    (None if every such answer carried a sign of risk, which is never quoted)."""

    resident_id: int
    chat_id: int
    quote: str | None


@dataclass(frozen=True)
class ThemeCount:
    """How often a theme came up in a period, and whether the service has an action on it."""

    theme: str
    answers: int
    has_action: bool


@dataclass(frozen=True)
class ActionDraft:
    """A member of staff part-way through writing an action (new: `action_id` None) or
    updating one; `stage` is what the bot waits for: text, status, reason or confirm."""

    telegram_user_id: int
    action_id: int | None
    theme: str
    stage: str
    text: str | None
    status: str | None
    reason: str | None


@dataclass(frozen=True)
class StoredUpdate:
    """A raw Telegram update as kept in the inbox: its id and its JSON."""

    update_id: int
    payload: str


@dataclass(frozen=True)
class WaitingSession:
    """A session under way whose resident can still be written to, as reminders need it."""

    session: Session
    chat_id: int  # the chat to write to
    asked_at: datetime  # when its current question was asked
    reminded: bool  # whether that question's reminder has gone


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: when, who (a Telegram id; 0 for the bot itself), what, details."""

    at: datetime
    actor: int
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    """An admin's preview of a flow under way: the flow's id, its YAML and the engine's state."""

    flow_id: str
    source: str
    state: str


@dataclass(frozen=True)
class Recipient:
    """A resident who may be told what changed: their id and the chat to write to."""

    resident_id: int
    chat_id: int


@dataclass(frozen=True)
class DigestClaim:
    """The digest of one period: its id, and whether it has already been queued for staff."""

    id: int
    queued: bool


@dataclass(frozen=True)
class SafeguardingThread:
    """A safeguarding contact and a resident writing to each other through the bot."""

    resident: Resident
    contact_user_id: int
    contact_chat_id: int
    opened_at: datetime


@dataclass(frozen=True)
class ThemeCorrection:
    """Staff moved an answer off a theme, onto another (`to_theme`) or onto none (None)."""

    answer_id: int
    from_theme: str
    to_theme: str | None
    by_user_id: int
    by_name: str
    at: datetime
    themes: tuple[str, ...]  # the answer's themes after the correction


@dataclass(frozen=True)
class CorrectionCount:
    """How often staff corrected a theme: answers moved off it, and answers moved onto it."""

    theme: str
    moved_off: int
    moved_on: int
