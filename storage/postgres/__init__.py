"""The PostgreSQL backend: every part of storage in one PostgreSQL database (asyncpg), shared by
any number of workers. The only package that imports asyncpg.

`PostgresStorage` is composed of one mixin per part (`storage.interfaces`) over a shared base
that holds the connection pool. Backups are PostgreSQL's own tools' job (pg_dump, pg_restore).
"""

from __future__ import annotations

from pathlib import Path

from storage.errors import StorageError
from storage.postgres.actions import PostgresActions
from storage.postgres.answers import PostgresAnswers
from storage.postgres.base import PostgresBase, migrations
from storage.postgres.corrections import PostgresCorrections
from storage.postgres.flows import PostgresFlows
from storage.postgres.inbox import PostgresInbox
from storage.postgres.outbox import PostgresOutbox
from storage.postgres.portable import PostgresPortable
from storage.postgres.residents import PostgresResidents
from storage.postgres.staff import PostgresStaffAndAudit
from storage.postgres.threads import PostgresThreads
from storage.postgres.web import PostgresDashboard
from storage.postgres.workers import PostgresWorkers

__all__ = ["BACKUP_ADVICE", "PostgresBase", "PostgresStorage", "migrations"]

BACKUP_ADVICE = (
    "the database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f whatmatters.dump"
    " URL`) and put it back with pg_restore (`pg_restore --clean -d URL whatmatters.dump`)"
)


class PostgresStorage(
    PostgresInbox,
    PostgresWorkers,
    PostgresActions,
    PostgresThreads,
    PostgresCorrections,
    PostgresResidents,
    PostgresAnswers,
    PostgresFlows,
    PostgresStaffAndAudit,
    PostgresOutbox,
    PostgresPortable,
    PostgresDashboard,
):
    """Everything durable, in one PostgreSQL database: residents, sessions, answers, updates,
    flows, the outbox; safe for several workers at once."""

    async def backup(self, target: Path) -> None:
        """PostgreSQL is backed up with its own tools: this says so (StorageError)."""
        raise StorageError(BACKUP_ADVICE)
