"""Django's SQLite backend, with writers that ask for the write lock often.

SQLite has one write lock and no queue for it. A writer that finds it taken
waits in SQLite's busy handler, which sleeps 1, 2, 5, ... then 100 ms
between tries; when another process writes many short transactions, it holds
the lock most of the time, and a writer that looks only ten times a second
can miss every gap between them for seconds (the worker's claims and
results waited up to 5 s behind 60 payments a second in
bench/qbo_writeback.py).

So `BEGIN IMMEDIATE` (every `transaction.atomic()`, see settings.py) does
not use the busy handler: it asks again every `POLL_S` until the
connection's timeout, then fails as SQLite would. Statements outside a
transaction keep the busy handler. Readers are not affected: in WAL mode
they never wait for the write lock.
"""

import random
import sqlite3
import time

from django.db.backends.sqlite3 import base

POLL_S = 0.001


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self.lock_timeout_s = float(conn_params.get("timeout", 5.0))
        self.busy_timeout_ms = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        return connection

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode != "IMMEDIATE":
            super()._start_transaction_under_autocommit()
            return
        with self.wrap_database_errors:
            self.connection.execute("PRAGMA busy_timeout = 0")
            try:
                self._begin_immediate()
            finally:
                self.connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    def _begin_immediate(self) -> None:
        """Take the write lock, asking every POLL_S until the timeout."""
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            # A little jitter, so that waiters do not ask in step.
            time.sleep(POLL_S * random.uniform(0.5, 1.5))
