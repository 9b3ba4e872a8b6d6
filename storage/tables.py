"""Every table of an installation, in the order a copy fills them (a table after those it
refers to), with what kind of value each column holds: what `whatmatters db copy` moves.

Values travel between backends as plain Python: int, float, str, bytes, bool, an aware
datetime (UTC), or None; each backend turns them into its own column types. A migration that
adds a table or a column adds it here too (the copy refuses tables it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "real", "text", "time", "bool", "blob", "json"]


@dataclass(frozen=True)
class Table:
    """A table's name and its columns, each with the kind of value it holds."""

    name: str
    columns: tuple[tuple[str, Kind], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(name for name, _ in self.columns)

    @property
    def has_id(self) -> bool:
        """Whether the table numbers its rows itself (an `id` that new rows take in turn)."""
        return self.columns[0] == ("id", "int")


def _table(name: str, *columns: str) -> Table:
    """A table from `column:kind` words (kind `text` when left out)."""
    parsed: list[tuple[str, Kind]] = []
    for column in columns:
        label, _, kind = column.partition(":")
        parsed.append((label, kind or "text"))  # type: ignore[arg-type]
    return Table(name, tuple(parsed))


TABLES: tuple[Table, ...] = (
    _table(
        "residents",
        "id:int",
        "telegram_user_id:int",
        "chat_id:int",
        "pseudonym",
        "created_at:time",
        "stopped_at:time",
        "blocked_at:time",
        "follow_up_consent:bool",
        "language",
    ),
    _table("flow_versions", "flow_id", "version:int", "source", "published_at:time"),
    _table("live_flows", "flow_id", "version:int", "changed_at:time"),
    _table("flow_drafts", "flow_id", "source", "saved_at:time", "saved_by:int"),
    _table(
        "previews",
        "telegram_user_id:int",
        "flow_id",
        "source",
        "state",
        "answers:json",
        "started_at:time",
    ),
    _table(
        "sessions",
        "id:int",
        "resident_id:int",
        "flow_id",
        "flow_version:int",
        "step_id",
        "status",
        "state",
        "started_at:time",
        "updated_at:time",
        "asked_at:time",
        "reminded_at:time",
    ),
    _table(
        "updates",
        "update_id:int",
        "received_at:time",
        "payload:json",
        "processed_at:time",
        "replies",
        "replied_at:time",
    ),
    _table(
        "answers",
        "id:int",
        "resident_id:int",
        "session_id:int",
        "flow_id",
        "flow_version:int",
        "step_id",
        "question",
        "answer",
        "number:real",
        "answered_at:time",
        "update_id:int",
        "themes",
        "sentiment:real",
        "tone",
        "key_phrases",
        "asks_for",
        "kind",
        "safeguarding",
    ),
    _table("answer_themes", "answer_id:int", "theme", "tone"),
    _table(
        "staff",
        "id:int",
        "telegram_user_id:int",
        "chat_id:int",
        "name",
        "joined_at:time",
        "invite_code",
        "safeguarding:bool",
        "blocked_at:time",
    ),
    _table(
        "invites",
        "code",
        "created_by:int",
        "created_at:time",
        "expires_at:time",
        "used_by:int",
        "used_at:time",
    ),
    _table(
        "digests",
        "id:int",
        "period_start:time",
        "period_end:time",
        "created_at:time",
        "queued_at:time",
    ),
    _table(
        "outbox",
        "id:int",
        "key",
        "chat_id:int",
        "method",
        "text",
        "filename",
        "attachment:blob",
        "created_at:time",
        "attempts:int",
        "not_before:time",
        "claimed_until:time",
        "sent_at:time",
        "failed_at:time",
        "error",
        "resident_id:int",
        "markup",
        "priority:int",
        "claimed_by",
    ),
    _table("audit_log", "id:int", "at:time", "actor:int", "action", "detail:json"),
    _table(
        "actions",
        "id:int",
        "theme",
        "text",
        "status",
        "reason",
        "created_by:int",
        "created_at:time",
        "updated_by:int",
        "updated_at:time",
    ),
    _table(
        "action_changes",
        "id:int",
        "action_id:int",
        "status",
        "text",
        "reason",
        "changed_by:int",
        "changed_at:time",
        "told:int",
    ),
    _table("action_recipients", "action_id:int", "resident_id:int", "status", "told_at:time"),
    _table(
        "action_drafts",
        "telegram_user_id:int",
        "action_id:int",
        "theme",
        "stage",
        "text",
        "status",
        "reason",
        "started_at:time",
    ),
    _table(
        "web_links",
        "token_hash",
        "telegram_user_id:int",
        "created_at:time",
        "expires_at:time",
        "used_at:time",
    ),
    _table(
        "web_sessions",
        "token_hash",
        "telegram_user_id:int",
        "started_at:time",
        "expires_at:time",
        "ended_at:time",
    ),
    _table(
        "safeguarding_threads",
        "resident_id:int",
        "contact_user_id:int",
        "contact_chat_id:int",
        "opened_at:time",
    ),
    _table(
        "thread_messages",
        "id:int",
        "resident_id:int",
        "from_service:bool",
        "contact_user_id:int",
        "text",
        "at:time",
    ),
    _table(
        "theme_corrections",
        "id:int",
        "answer_id:int",
        "from_theme",
        "to_theme",
        "by_user_id:int",
        "by_name",
        "at:time",
    ),
)

# Tables about the processes running now (workers and their claims, migration 0016): never
# copied, since the workers of the old installation are not the new one's.
NOT_COPIED: frozenset[str] = frozenset({"workers", "claims"})
