"""What the rest of the code may ask of storage: one Protocol per part, and `Storage`, all of them.

Every backend (SQLite, `storage.sqlite`; PostgreSQL, `storage.postgres`) implements all of them;
callers are typed against the narrowest one they use. Records in and out are the frozen
dataclasses of `storage.models`; errors are those of `storage.errors`. Each docstring says what
every implementation must promise: what is atomic, which key makes a call idempotent, and in what
order results come. The contract suite in `tests/test_storage_contract.py` checks these
promises against each backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from storage.models import (
    Action,
    ActionChange,
    ActionDraft,
    ActionSummary,
    Alert,
    AnswerFact,
    AuditEntry,
    CorrectionCount,
    DigestClaim,
    ExportRow,
    FlowVersion,
    Listener,
    OutgoingMessage,
    OwnAnswer,
    PeriodFigures,
    Preview,
    QueuedMessage,
    Recipient,
    RecordedUpdate,
    Resident,
    SafeguardingThread,
    Session,
    StaffMember,
    StoredUpdate,
    ThemeCorrection,
    ThemeCount,
    Turn,
    WaitingSession,
)
from storage.tables import Table
from storage.web_models import AnswerPage, AnswerQuery, WebSession, WeekFigures


class Clocked(Protocol):
    """Storage's clock: every time stamp it writes is taken from it (tests move it by hand)."""

    def now(self) -> datetime:
        """The time by storage's clock."""
        ...


class Inbox(Protocol):
    """Raw Telegram updates, kept before they are processed, so a crash loses and repeats nothing.

    `update_id` is the key: recording an update twice keeps the first copy and changes nothing,
    and its status says what is left to do. Each call is one atomic unit of work; `enqueue_reply`
    queues its messages and marks the update processed and replied together, or does neither.
    """

    async def record_update(self, update_id: int, payload: str) -> RecordedUpdate:
        """Keep a raw update, and say whether it still needs processing or answering."""
        ...

    async def record_updates(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Keep a batch of raw updates (update_id, JSON) as fetched; repeats are ignored.
        Returns the ids of those not kept before (new: nothing is done about them yet)."""
        ...

    async def unfinished_updates(self, limit: int = 100_000) -> list[StoredUpdate]:
        """Updates kept but not processed, or processed with replies not yet sent, by update_id."""
        ...

    async def unfinished_from(self, sender: int | None, limit: int = 20) -> list[StoredUpdate]:
        """One sender's unfinished updates (as `unfinished_updates`), oldest first; `None`: the
        updates nobody sent (a channel post, a poll's new state)."""
        ...

    async def senders_waiting(self, limit: int = 10_000) -> list[int | None]:
        """Who has unfinished updates (`None` among them for updates nobody sent)."""
        ...

    async def mark_processed(self, update_id: int, replies: str | None = None) -> None:
        """Record that an update needed no stored change, with what the bot answers to it."""
        ...

    async def mark_failed(self, update_id: int) -> None:
        """Record that handling an update failed and was answered with an apology."""
        ...

    async def mark_replied(self, update_id: int) -> None:
        """Record that the replies to an update went out."""
        ...

    async def moved_on_since(self, update_id: int) -> bool:
        """Whether the sender of this update has written since (a later update of theirs is
        stored, processed or not): the replies to this one are then out of date, and were mostly
        seen already (a resident answers the question they were sent)."""
        ...

    async def replies_waiting(self, chat_id: int) -> bool:
        """Whether replies handed to the outbox (keys starting `REPLY_KEY`) still wait to go to
        this chat: anything newer to it must queue behind them."""
        ...

    async def enqueue_reply(self, update_id: int, messages: Iterable[OutgoingMessage]) -> None:
        """Queue the answer to an update and mark the update done, in one transaction."""
        ...


class Residents(Protocol):
    """Residents under pseudonyms, keyed by Telegram user id: asking twice gives the same one.

    `forget` deletes a resident from every table (answers, sessions, raw updates, queued messages,
    previews) in one transaction; the audit log keeps that an alert was raised, not about whom.
    `broadcast_audience` comes in resident id order.
    """

    async def resident(self, telegram_user_id: int, chat_id: int) -> Resident:
        """The resident with this Telegram id, made (under a new pseudonym) if they are new."""
        ...

    async def set_stopped(self, resident_id: int, stopped: bool) -> None:
        """Record that a resident asked for no more messages (/stop), or asked again (/start)."""
        ...

    async def set_language(self, resident_id: int, language: str) -> None:
        """Remember the language a resident chose."""
        ...

    async def set_blocked(self, resident_id: int, blocked: bool) -> None:
        """Record that a resident blocked the bot, or wrote to it again."""
        ...

    async def set_chat_blocked(self, chat_id: int) -> None:
        """Record that whoever is in this chat (staff or resident) has blocked the bot."""
        ...

    async def personal_data(self, resident: Resident) -> dict[str, Any]:
        """Everything stored about one resident, for them to see (/mydata)."""
        ...

    async def forget(self, resident: Resident) -> None:
        """Delete everything stored about a resident, in every table (/forgetme)."""
        ...

    async def broadcast_audience(self) -> list[Recipient]:
        """Residents who said yes to hearing back, and have not stopped or blocked."""
        ...


class Answers(Protocol):
    """Sessions and answers: a resident's way through a flow, and what they said.

    `save_turn` is the unit of work of a resident's message: the session's new state, its answer
    (with themes and any follow-up consent), a safeguarding alert with its audit line, and the
    update marked processed with its replies are committed together or not at all. An update
    carries at most one answer: a second turn with the same `update_id` and an answer fails
    (StorageError) and changes nothing. Lists of answers come oldest first (by time, then by
    the order they were stored) unless a method says otherwise.
    """

    async def active_session(self, resident_id: int) -> Session | None:
        """The resident's latest session that is still under way."""
        ...

    async def latest_session(self, resident_id: int) -> Session | None:
        """The resident's latest session, whatever its status."""
        ...

    async def save_turn(self, turn: Turn) -> Session:
        """Commit a session's new state, its answer and the update as processed, all at once."""
        ...

    async def save_turns(self, turns: Iterable[Turn]) -> list[Session]:
        """Commit many turns in one transaction (imports and benchmarks)."""
        ...

    async def waiting_sessions(self) -> list[WaitingSession]:
        """Sessions under way whose resident can still be written to, in session order."""
        ...

    async def queue_reminder(self, session_id: int, message: OutgoingMessage) -> None:
        """Queue a session's reminder and note it sent, together: a question is nudged once."""
        ...

    async def count_answers(self, resident_id: int | None = None) -> int:
        """How many answers are stored, for one resident or for everyone."""
        ...

    async def export_rows(self, since: datetime | None = None) -> list[ExportRow]:
        """Every answer (since a moment, if given), oldest first, under pseudonyms only."""
        ...

    async def answers_between(self, start: datetime, end: datetime) -> list[AnswerFact]:
        """Every answer given in [start, end), oldest first, with what analysis found in it."""
        ...

    async def period_figures(self, start: datetime, end: datetime) -> PeriodFigures:
        """Counts of the answers given in [start, end): residents, tones, themes, scales."""
        ...

    async def quote_candidates(
        self, theme: str, start: datetime, end: datetime, pool: int = 300
    ) -> list[AnswerFact]:
        """A theme's latest open answers of a readable length in [start, end), newest first;
        never an answer with a sign of risk."""
        ...

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete answers (and the raw messages that carried them) given before `cutoff`."""
        ...

    async def latest_answers(self, resident_id: int, limit: int = 5) -> list[OwnAnswer]:
        """A resident's latest answers, newest first (for them to pick one to delete)."""
        ...

    async def forget_answer(
        self, resident: Resident, answer_id: int, quoted_by: str = ""
    ) -> OwnAnswer | None:
        """Delete one of this resident's answers, at their request, in one transaction: the
        answer, its themes, and the words of the raw update that carried it (the update's id and
        status stay, so a redelivery of it never stores the answer again), and of their updates
        whose words or kept replies contain `quoted_by` (the conversation about deleting it,
        which quotes it). Queued messages quoting it (a safeguarding alert) stay: they are a
        duty of care. None if the answer is not theirs or is already gone; deleting it again
        changes nothing."""
        ...


class Flows(Protocol):
    """Published flow versions, drafts and admins' previews.

    Versions of a flow are numbered 1, 2, 3… in the order they were published; publishing makes
    the new version live in the same transaction, and rolling back makes the version just below
    the live one live again. `live_flows` comes in flow id order.
    """

    async def publish_flow(self, flow_id: str, source: str) -> FlowVersion:
        """Store a new version of a flow and make it the live one."""
        ...

    async def save_draft(self, flow_id: str, source: str, saved_by: int | None) -> None:
        """Keep an admin's checked YAML as the flow's draft, replacing any earlier draft."""
        ...

    async def draft(self, flow_id: str) -> str | None:
        """The flow's draft YAML, if it has one."""
        ...

    async def publish_draft(self, flow_id: str) -> FlowVersion | None:
        """Make the flow's draft its new live version (and drop the draft); None if none."""
        ...

    async def roll_back(self, flow_id: str) -> FlowVersion | None:
        """Make the version before the live one live again; None if there is none before it."""
        ...

    async def live_flow(self, flow_id: str) -> FlowVersion | None:
        """The version of a flow that new sessions start on."""
        ...

    async def flow_version(self, flow_id: str, version: int) -> FlowVersion | None:
        """One particular version of a flow."""
        ...

    async def live_flows(self) -> list[FlowVersion]:
        """The live version of every flow."""
        ...

    async def drafted_flows(self) -> set[str]:
        """The ids of flows that have a draft waiting."""
        ...

    async def start_preview(
        self, telegram_user_id: int, flow_id: str, source: str, state: str
    ) -> None:
        """Begin (or begin again) an admin's preview of a flow's draft."""
        ...

    async def preview(self, telegram_user_id: int) -> Preview | None:
        """The admin's preview under way, if any."""
        ...

    async def save_preview(self, telegram_user_id: int, state: str, answer: str | None) -> None:
        """Keep a preview's new state, and its answer apart from residents' answers."""
        ...

    async def preview_answers(self, telegram_user_id: int) -> list[str]:
        """What the admin answered in their preview so far, in order."""
        ...

    async def end_preview(self, telegram_user_id: int) -> None:
        """End an admin's preview; its answers go with it."""
        ...


class StaffAndAudit(Protocol):
    """Staff, their invites, the audit log and the weekly digests.

    An invite code is spent once: of two redemptions, one gets the member of staff, the other
    None. Staff lists come in the order members joined; the audit log oldest first. A digest is
    keyed by its period: claiming the same period twice gives the same digest, and
    `enqueue_digest` queues its messages and marks it queued in one transaction.
    """

    async def create_invite(self, code: str, created_by: int, expires_at: datetime) -> None:
        """Keep a one-time invite code made by an admin."""
        ...

    async def redeem_invite(
        self, code: str, telegram_user_id: int, chat_id: int, name: str
    ) -> StaffMember | None:
        """Spend an unused, unexpired invite code on a new member of staff; None if it is not."""
        ...

    async def staff_member(self, telegram_user_id: int) -> StaffMember | None:
        """The member of staff with this Telegram id, if they are one."""
        ...

    async def staff_members(self) -> list[StaffMember]:
        """Every member of staff, in the order they joined."""
        ...

    async def remove_staff(self, staff_id: int) -> StaffMember | None:
        """Remove a member of staff; returns who it was, or None if there was no such one."""
        ...

    async def set_safeguarding(self, staff_id: int, contact: bool) -> StaffMember | None:
        """Make a member of staff a safeguarding contact, or not; None if there is no such one."""
        ...

    async def safeguarding_staff(self) -> list[StaffMember]:
        """The staff marked as safeguarding contacts who can still be written to."""
        ...

    async def audit(self, actor: int, action: str, **detail: object) -> None:
        """Write an admin's action to the audit log."""
        ...

    async def audit_log(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        ...

    async def claim_digest(self, start: datetime, end: datetime) -> DigestClaim:
        """The digest for a period, made if it is new."""
        ...

    async def enqueue_digest(self, digest_id: int, messages: Iterable[OutgoingMessage]) -> int:
        """Queue a digest's messages and mark it queued, in one transaction; how many were new."""
        ...


class OutboxQueue(Protocol):
    """Messages waiting to go out, each sent once.

    A message's `key` is its identity: queuing a key already queued (sent or not) is a no-op.
    `claim_due` hands out messages in priority order (highest first), then the order they were
    queued; a chat's message is handed out only once every earlier message to that chat of the
    same or higher priority has been sent or given up, so each chat reads them in order (only a
    more urgent message overtakes). A claim lapses after its hold, so a sender that died leaves
    nothing stuck. Messages to a resident who has since stopped or blocked the bot are never
    handed out. `raise_alert` queues an alert and writes its audit line in one transaction.
    """

    async def enqueue(self, messages: Iterable[OutgoingMessage]) -> int:
        """Queue messages to send; how many were new."""
        ...

    async def raise_alert(self, alert: Alert) -> None:
        """Queue a safeguarding alert and write it to the audit log, in one transaction."""
        ...

    async def claim_due(
        self,
        limit: int = 20,
        hold: float = 60.0,
        *,
        worker: str | None = None,
        least_priority: int = 0,
    ) -> list[QueuedMessage]:
        """Take messages that may go out now, so no other sender takes them too: for `worker`
        (its claims are handed back when it dies), of `least_priority` or more urgent."""
        ...

    async def still_pending(self, message_id: int) -> bool:
        """Whether a claimed message is still to go (not dropped as out of date meanwhile)."""
        ...

    async def release(self, message_ids: Iterable[int]) -> None:
        """Hand claimed messages back unsent, for the next round."""
        ...

    async def release_all_claims(self) -> None:
        """Hand back every claimed message: at start-up, the sender that held them is gone."""
        ...

    async def mark_sent(self, message_id: int) -> None:
        """Record that a queued message went out; its attachment is not kept once sent."""
        ...

    async def postpone(self, message_id: int, not_before: datetime, error: str) -> None:
        """Try a queued message again later, noting why it did not go out."""
        ...

    async def give_up(self, message_id: int, error: str) -> None:
        """Stop trying a queued message that can never go out (the chat blocked the bot)."""
        ...

    async def sent_keys(self, prefix: str = "") -> list[str]:
        """The keys of messages sent (optionally only those starting with `prefix`), in the
        order they were queued."""
        ...


class Actions(Protocol):
    """ "You said, we did": actions on themes, their history, who was told, staff's drafts.

    `save_action` is one atomic unit of work: the action (new, or changed), its history entry,
    the audit line, one `action_recipients` row and one outbox message per listener commit
    together or not at all. Telling is idempotent on (action, status, resident): a listener told
    of this action at this status already is skipped, and so is their message (its outbox key is
    made from the same three). `listeners` come in resident order; summaries and changes newest
    last and first as each docstring says. Reactions and replies are answers (flow
    `you-said-we-did`, step `action-<id>`), saved through `Answers.save_turn`; a turn whose
    answer is of kind `reaction` replaces the resident's earlier reaction to the same step.
    """

    async def theme_counts(self, since: datetime) -> list[ThemeCount]:
        """Themes of answers given since `since` (not the loop's own), most said first, with
        whether each has an action."""
        ...

    async def listeners(
        self, theme: str, since: datetime, action_id: int | None, status: str
    ) -> list[Listener]:
        """Residents to tell of an action on `theme` at `status`: opted in to hearing back, an
        answer on the theme since `since`, not stopped or blocked, not yet told of it at this
        status; each with their latest such answer that carried no sign of risk."""
        ...

    async def save_action(
        self,
        action_id: int | None,
        *,
        theme: str,
        status: str,
        text: str,
        reason: str | None,
        by: int,
        listeners: Sequence[Listener],
        message: Callable[[Action, Listener], OutgoingMessage],
    ) -> Action:
        """Record a new action (`action_id` None) or a change to one, and tell its listeners."""
        ...

    async def action(self, action_id: int) -> Action | None:
        """One action as it stands."""
        ...

    async def action_history(self, action_id: int) -> list[ActionChange]:
        """Every version of an action, oldest first."""
        ...

    async def action_summaries(self) -> list[ActionSummary]:
        """Every action with residents told, reactions and replies; latest change first."""
        ...

    async def changed_actions(self, start: datetime, end: datetime) -> list[ActionChange]:
        """Changes made to actions in [start, end), oldest first."""
        ...

    async def told_lately(self, resident_id: int, since: datetime) -> Action | None:
        """The latest action this resident was told of since `since`, if any."""
        ...

    async def flow_session(self, resident_id: int, flow_id: str) -> Session | None:
        """The resident's latest session of one flow (the thread of their reactions)."""
        ...

    async def save_action_draft(self, draft: ActionDraft) -> None:
        """Keep a member of staff's action in the writing, replacing any earlier one of theirs."""
        ...

    async def action_draft(self, telegram_user_id: int) -> ActionDraft | None:
        """The action this member of staff is part-way through, if any."""
        ...

    async def drop_action_draft(self, telegram_user_id: int) -> None:
        """Forget an action in the writing."""
        ...


# Puts one batch of rows (plain values, in the table's column order) into a table being loaded.
Loader = Callable[[Table, Sequence[tuple[Any, ...]]], Awaitable[None]]


class Portable(Protocol):
    """A whole installation, table by table (`storage.tables.TABLES`), for `whatmatters db`.

    Rows travel as plain Python values (see `storage.tables`), so any backend can be copied into
    any other. `loading` is one transaction: a copy lands whole or not at all, and ids are kept
    (a backend that numbers rows itself carries on after the highest id copied).
    """

    async def schema_version(self) -> int:
        """The number of the latest migration applied."""
        ...

    async def table_names(self) -> set[str]:
        """The tables of whatmatters' data in the database (not the migrations' own)."""
        ...

    async def row_counts(self) -> dict[str, int]:
        """How many rows each table of `TABLES` holds."""
        ...

    def rows(self, table: Table, batch: int = 2000) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every row of a table, in batches, in the order of its key."""
        ...

    def loading(self) -> AbstractAsyncContextManager[Loader]:
        """A transaction to load copied rows in; committed when the block ends without error."""
        ...


class Threads(Protocol):
    """A safeguarding contact and a resident writing to each other through the bot.

    A resident is in at most one open thread, and so is a contact: opening one closes any other
    of either. Each message is kept for the resident's /mydata, and audited (who and when, not the
    words) in the same transaction. The rows go with the resident (/forgetme ends the thread).
    """

    async def open_thread(
        self, resident_id: int, contact_user_id: int, contact_chat_id: int
    ) -> None:
        """Open (or take over) the thread with this resident."""
        ...

    async def thread_of_resident(self, resident_id: int) -> SafeguardingThread | None:
        """The open thread with this resident, if any."""
        ...

    async def thread_of_contact(self, contact_user_id: int) -> SafeguardingThread | None:
        """The open thread this contact writes in, if any."""
        ...

    async def close_thread(self, resident_id: int) -> None:
        """End the thread with this resident."""
        ...

    async def keep_thread_message(
        self, resident_id: int, contact_user_id: int, from_service: bool, text: str
    ) -> None:
        """Keep one message of a thread, and audit it."""
        ...

    async def resident_named(self, pseudonym: str) -> Resident | None:
        """The resident staff know by this pseudonym (any case), if any."""
        ...


class Dashboard(Protocol):
    """The web dashboard: one-time sign-in links, the sessions they open, and the figures and
    pages of answers its pages show.

    Only hashes of links' tokens and sessions' cookies are kept. `spend_sign_in_link` is atomic:
    of two spends of one link, one opens a session and the other gets None. Answers come newest
    first; answers carrying a sign of risk only when the query asks for them.
    """

    async def create_sign_in_link(
        self, token_hash: str, telegram_user_id: int, expires_at: datetime
    ) -> None:
        """Keep a one-time sign-in link (its token's hash) for a member of staff."""
        ...

    async def sign_in_link_open(self, token_hash: str) -> bool:
        """Whether a sign-in link can still be spent (known, unused, unexpired)."""
        ...

    async def spend_sign_in_link(
        self, token_hash: str, session_hash: str, session_expires_at: datetime
    ) -> int | None:
        """Spend an unused, unexpired link and open a session in its place, together; the
        Telegram id it was for, or None (unknown, used or expired: nothing changes)."""
        ...

    async def web_session(self, session_hash: str) -> WebSession | None:
        """The session with this cookie's hash, if it has neither ended nor expired."""
        ...

    async def end_web_session(self, session_hash: str) -> None:
        """End one session (signing out)."""
        ...

    async def end_web_sessions(self, telegram_user_id: int) -> int:
        """End every session of one person (no longer staff); how many were open."""
        ...

    async def forget_spent_web_access(self, now: datetime) -> int:
        """Delete sign-in links and sessions that can no longer be used (expired, or a session
        ended) by `now`; how many went."""
        ...

    async def weekly_figures(
        self,
        weeks: Sequence[tuple[datetime, datetime]],
        theme: str | None = None,
        themes_in_last: int = 2,
    ) -> list[WeekFigures]:
        """Residents, answers and tones of each week [start, end) in the order given: of one
        theme's answers, or of all, with each theme's count in the last `themes_in_last` weeks."""
        ...

    async def find_answers(
        self, query: AnswerQuery, limit: int | None = 50, offset: int = 0
    ) -> AnswerPage:
        """The answers that match, newest first (`limit` None: all of them), and their number."""
        ...


class Corrections(Protocol):
    """Staff correcting an answer's theme (from `/theme NAME`), kept with who and when.

    `correct_theme` is one atomic unit of work: the answer's `answer_themes` rows and its stored
    themes change (the moved theme's tone goes with it), the correction is kept and the audit
    line written, together or not at all, so the digest, `/theme`, the export and the weekly CSV
    all read the corrected themes from then on. Correcting an answer off a theme it no longer has
    (pressed twice, or by two members of staff) changes nothing and gives None. Corrections
    outlive their answers, so the counts per theme survive retention and /forgetme.
    """

    async def correct_theme(
        self, answer_id: int, from_theme: str, to_theme: str | None, by_user_id: int, by_name: str
    ) -> ThemeCorrection | None:
        """Move an answer off `from_theme` onto `to_theme` (None: onto none); None if the answer
        is gone or no longer has `from_theme`."""
        ...

    async def correction_counts(self) -> list[CorrectionCount]:
        """Every theme staff corrected: answers moved off it and onto it, most moved off first."""
        ...


class Workers(Protocol):
    """Processes sharing one database, and the claims that keep them off each other's work.

    A worker is alive while its heartbeats come in time (each one keeps it alive `ttl` seconds
    more, by the database's clock); a claim is a name held by one worker, and a claim whose worker
    is dead (or unknown) is anyone's. `claim` is atomic: of workers claiming one name at once,
    exactly one holds it. Claiming a name one already holds succeeds again.
    """

    async def heartbeat(self, worker: str, ttl: float) -> None:
        """Say that `worker` is alive, for `ttl` seconds from now."""
        ...

    async def claim(self, name: str, worker: str) -> bool:
        """Take `name` for `worker` unless a live worker holds it; whether `worker` holds it."""
        ...

    async def release_claim(self, name: str, worker: str) -> None:
        """Give `name` up (if `worker` holds it)."""
        ...

    async def worker_stopped(self, worker: str) -> None:
        """A worker stopping cleanly: its claims (and its outbox messages) are handed back."""
        ...

    async def clear_dead_workers(self) -> int:
        """Hand back the claims and outbox messages of workers whose heartbeat lapsed, and forget
        those workers; how many there were."""
        ...


class Storage(
    Inbox,
    Workers,
    Residents,
    Answers,
    Flows,
    StaffAndAudit,
    OutboxQueue,
    Actions,
    Portable,
    Threads,
    Dashboard,
    Corrections,
    Clocked,
    Protocol,
):
    """All of storage, opened and closed as one: what the composition root holds.

    `open` connects and applies any migrations not yet applied; `close` is safe to call twice.
    """

    async def open(self) -> None:
        """Connect and bring the schema up to date."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def backup(self, target: Path) -> None:
        """A consistent copy of the whole database, taken while the bot goes on (a backend
        that has its own tools for this, PostgreSQL's pg_dump, says so: StorageError)."""
        ...
