"""A real PostgreSQL server for the tests, started from the machine's own binaries (initdb,
pg_ctl, psql) in a temporary folder, on 127.0.0.1 and a free port, and stopped at the end.

As root (CI, these machines), the server runs as the `postgres` system user: initdb refuses
root. Every wait is bounded; nothing here is left running once `stop` returns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

# Set in CI (.ci/run): a missing PostgreSQL fails the tests instead of skipping them.
REQUIRE = "WHATMATTERS_REQUIRE_POSTGRES"
TEMPLATE = "whatmatters_template"


def binaries() -> Path | None:
    """The folder of the machine's PostgreSQL programs, or None if there are none."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "psql")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster; databases made from a migrated template."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="whatmatters-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._made = 0
        # initdb will not run as root; the data then belongs to the `postgres` user.
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._as, *command],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.folder,
        )

    def start(self) -> None:
        """initdb and start the server (durability off: these databases are thrown away)."""
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def url(self, database: str) -> str:
        """The URL of one database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> None:
        """Run one statement as the server's superuser (CREATE DATABASE and the like)."""
        subprocess.run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                self.url("postgres"),
                "-c",
                statement,
            ],
            check=True,
            timeout=30,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def query(self, database: str, statement: str) -> list[str]:
        """The rows of a query, one line each, fields separated by `|`."""
        done = subprocess.run(
            [str(self.bin / "psql"), "-X", "-q", "-At", self.url(database), "-c", statement],
            check=True,
            timeout=30,
            capture_output=True,
            text=True,
        )
        return done.stdout.splitlines()

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database: a copy of the migrated template, or empty; its URL."""
        self._made += 1
        name = f"test_{self._made}"
        template = TEMPLATE if migrated else "template0"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY WAL_LOG")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by `new_database`, whoever is still connected to it."""
        self.sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            )
        shutil.rmtree(self.folder, ignore_errors=True)
