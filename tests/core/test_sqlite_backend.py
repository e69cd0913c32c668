"""The embedded SQLite backend: a transaction waits for the write lock, then takes it or says why.

Each test opens its own SQLite file through arbridge's backend, so it runs
whatever database the suite itself is on, beside a second writer that holds
the lock as another process would.
"""

import sqlite3
import threading
import time

import pytest
from django.db import OperationalError, connections, transaction
from django.db.utils import ConnectionHandler

from arbridge.core.sqlite.base import DatabaseWrapper


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """Return a connection through arbridge's backend to a fresh file, as settings.py makes it."""
    path = tmp_path / "lock.sqlite3"
    options = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 1,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=1000;",
    }
    configured = ConnectionHandler().configure_settings(
        {"default": {"ENGINE": "arbridge.core.sqlite", "NAME": path, "OPTIONS": options}}
    )
    connection = DatabaseWrapper(configured["default"], alias="lock")
    connections["lock"] = connection  # this thread's, for transaction.atomic(using="lock")
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, note TEXT)")
        yield connection, path
        connection.close()
    del connections["lock"]


class OtherWriter:
    """A second writer on its own connection, as the worker or the web server is."""

    def __init__(self, path):
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hold_lock(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("INSERT INTO entry (note) VALUES ('other')")

    def commit_after(self, seconds: float) -> threading.Thread:
        def commit():
            time.sleep(seconds)
            self.connection.execute("COMMIT")

        thread = threading.Thread(target=commit)
        thread.start()
        return thread


def notes(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM entry ORDER BY id")
        return [note for (note,) in cursor.fetchall()]


def test_a_transaction_waits_for_another_writer_and_then_commits(database):
    connection, path = database
    other = OtherWriter(path)
    other.hold_lock()
    committer = other.commit_after(0.2)

    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("INSERT INTO entry (note) VALUES ('mine')")
    committer.join()

    assert notes(connection) == ["other", "mine"]


def test_a_lock_held_past_the_timeout_fails_as_sqlite_would_and_writes_nothing(database):
    connection, path = database
    other = OtherWriter(path)
    other.hold_lock()

    with (
        pytest.raises(OperationalError, match="database is locked"),
        transaction.atomic(using=connection.alias),
        connection.cursor() as cursor,
    ):
        cursor.execute("INSERT INTO entry (note) VALUES ('mine')")
    other.connection.execute("COMMIT")

    assert notes(connection) == ["other"]


def test_statements_outside_a_transaction_keep_the_busy_timeout(database):
    connection, path = database
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("INSERT INTO entry (note) VALUES ('first')")
    other = OtherWriter(path)
    other.hold_lock()
    committer = other.commit_after(0.2)

    # An autocommit write waits in SQLite's busy handler, as it always did.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone() == (1000,)
        cursor.execute("INSERT INTO entry (note) VALUES ('second')")
    committer.join()

    assert notes(connection) == ["first", "other", "second"]
