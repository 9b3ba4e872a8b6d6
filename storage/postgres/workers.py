"""Workers and their claims in PostgreSQL. Time here is the server's (`clock_timestamp()`), so
workers on machines whose clocks differ agree on who is alive; not the storage clock that tests
move: a heartbeat is about processes running now."""

from __future__ import annotations

from storage.postgres.base import PostgresBase

# The workers alive now.
_ALIVE = "SELECT id FROM workers WHERE alive_until > clock_timestamp()"


class PostgresWorkers(PostgresBase):
    """Implements `storage.interfaces.Workers`."""

    async def heartbeat(self, worker: str, ttl: float) -> None:
        """Say that `worker` is alive, for `ttl` seconds from now."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO workers (id, alive_until)"
                " VALUES ($1, clock_timestamp() + make_interval(secs => $2))"
                " ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
                worker,
                ttl,
            )

    async def claim(self, name: str, worker: str) -> bool:
        """Take `name` for `worker` unless a live worker holds it; whether `worker` holds it.

        Of two workers claiming one name at once, the second waits for the first's row, then
        re-checks the condition against it: exactly one holds the name.
        """
        async with self._transaction() as conn:
            held = await conn.fetchval(
                "INSERT INTO claims (name, worker) VALUES ($1, $2)"
                " ON CONFLICT (name) DO UPDATE SET worker = excluded.worker"
                f" WHERE claims.worker = excluded.worker OR claims.worker NOT IN ({_ALIVE})"
                " RETURNING true",
                name,
                worker,
            )
        return bool(held)

    async def release_claim(self, name: str, worker: str) -> None:
        """Give `name` up (if `worker` holds it)."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM claims WHERE name = $1 AND worker = $2", name, worker)

    async def worker_stopped(self, worker: str) -> None:
        """A worker stopping cleanly: its claims (and its outbox messages) are handed back."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM claims WHERE worker = $1", worker)
            await conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL"
                " WHERE claimed_by = $1 AND sent_at IS NULL",
                worker,
            )
            await conn.execute("DELETE FROM workers WHERE id = $1", worker)

    async def clear_dead_workers(self) -> int:
        """Hand back the claims and outbox messages of workers whose heartbeat lapsed, and forget
        those workers; how many there were."""
        async with self._transaction() as conn:
            await conn.execute(f"DELETE FROM claims WHERE worker NOT IN ({_ALIVE})")
            await conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL WHERE sent_at IS NULL"
                f" AND claimed_by IS NOT NULL AND claimed_by NOT IN ({_ALIVE})"
            )
            dead = await conn.fetch(
                "DELETE FROM workers WHERE alive_until <= clock_timestamp() RETURNING id"
            )
        return len(dead)
