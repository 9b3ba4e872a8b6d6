"""Workers and their claims in SQLite. Time here is the machine's own (`time.time()`), not the
storage clock that tests move: a heartbeat is about processes running now."""

from __future__ import annotations

import time

from storage.sqlite.base import SQLiteBase

# A worker is alive while its `alive_until` is ahead of now.
_ALIVE = "SELECT id FROM workers WHERE alive_until > ?"


class SQLiteWorkers(SQLiteBase):
    """Implements `storage.interfaces.Workers`."""

    async def heartbeat(self, worker: str, ttl: float) -> None:
        """Say that `worker` is alive, for `ttl` seconds from now."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO workers (id, alive_until) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
                (worker, time.time() + ttl),
            )

    async def claim(self, name: str, worker: str) -> bool:
        """Take `name` for `worker` unless a live worker holds it; whether `worker` holds it."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO claims (name, worker) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET worker = excluded.worker"
                f" WHERE claims.worker = excluded.worker OR claims.worker NOT IN ({_ALIVE})"
                " RETURNING worker",
                (name, worker, time.time()),
            )
            return await cursor.fetchone() is not None

    async def release_claim(self, name: str, worker: str) -> None:
        """Give `name` up (if `worker` holds it)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM claims WHERE name = ? AND worker = ?", (name, worker))

    async def worker_stopped(self, worker: str) -> None:
        """A worker stopping cleanly: its claims (and its outbox messages) are handed back."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM claims WHERE worker = ?", (worker,))
            await db.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL"
                " WHERE claimed_by = ? AND sent_at IS NULL",
                (worker,),
            )
            await db.execute("DELETE FROM workers WHERE id = ?", (worker,))

    async def clear_dead_workers(self) -> int:
        """Hand back the claims and outbox messages of workers whose heartbeat lapsed, and forget
        those workers; how many there were."""
        now = time.time()
        async with self._transaction() as db:
            await db.execute(f"DELETE FROM claims WHERE worker NOT IN ({_ALIVE})", (now,))
            await db.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL WHERE sent_at IS NULL"
                f" AND claimed_by IS NOT NULL AND claimed_by NOT IN ({_ALIVE})",
                (now,),
            )
            cursor = await db.execute("DELETE FROM workers WHERE alive_until <= ?", (now,))
            return cursor.rowcount
