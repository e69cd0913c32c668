"""A PostgreSQL server and a Redis server of a harness's own, which it may restart.

The machine's own servers are shared with everything else that runs here, so
a harness that restarts its servers mid-run (bench/chaos.py) starts its own:
a PostgreSQL cluster made by initdb in a temporary directory and a Redis
server that keeps nothing on disk, as the machine's does, each on a free port
of 127.0.0.1. They use the machine's server programs (Debian's
postgresql and redis-server packages); `missing()` says which are not there.

A restart is what an operator's would be: PostgreSQL stopped in immediate
mode (its backends die at once, it recovers from its WAL on start) and Redis
stopped with everything in it lost, each down for `outage_s` before it starts
again on the same port.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

from _common import free_port

# Who the PostgreSQL server runs as when the harness is root: it refuses root.
POSTGRES_USER = "postgres"


def postgres_program(name: str) -> str | None:
    """Return the path of one of PostgreSQL's server programs, or None."""
    if found := shutil.which(name):
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def missing() -> list[str]:
    """Return the server programs this machine lacks."""
    wanted = {"initdb": postgres_program("initdb"), "pg_ctl": postgres_program("pg_ctl")}
    wanted["redis-server"] = shutil.which("redis-server")
    return [name for name, path in wanted.items() if path is None]


class Postgres:
    """A PostgreSQL cluster in a temporary directory, trust auth, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="arb_pg_")
        self.data = os.path.join(self.directory, "data")
        self.log = os.path.join(self.directory, "server.log")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.directory, POSTGRES_USER)
        self._run(
            postgres_program("initdb"),
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str | None) -> None:
        subprocess.run(
            [str(part) for part in command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=POSTGRES_USER if self.as_root else None,
            cwd=self.directory,
        )

    def start(self) -> None:
        # Durability is not what the harness measures: fsync off keeps it fast.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=300"
        )
        self._run(
            postgres_program("pg_ctl"),
            "-D",
            self.data,
            "-l",
            self.log,
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(postgres_program("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def restart(self, outage_s: float) -> None:
        """Stop at once, as a crash would; start again after `outage_s`."""
        self.stop("immediate")
        time.sleep(outage_s)
        self.start()

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class Redis:
    """A Redis server keeping nothing on disk, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", tempfile.gettempdir()]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def restart(self, outage_s: float) -> None:
        """Stop with everything in it lost; start again, empty, after `outage_s`."""
        self.stop()
        time.sleep(outage_s)
        self.start()

    def close(self) -> None:
        self.stop()
