"""The embedded SQLite backend queues the process's writers on one lock.

Each contending connection here has SQLite's busy timeout at 0, so SQLite
refuses it at once if it finds the write lock taken: a write that waits and
then succeeds was queued by arbridge.core.sqlite_backend, not by SQLite.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from arbridge.core.models import Partner
from arbridge.core.sqlite_backend.base import WRITE_LOCK

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connections["default"].vendor != "sqlite", reason="the backend is SQLite's only"
    ),
]

HOLD_SECONDS = 0.3


def no_busy_wait() -> None:
    """Make SQLite refuse this thread's connection at once when its lock is taken."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 0")


def in_thread(target) -> tuple[threading.Thread, list[BaseException]]:
    """Start TARGET in a thread with its own connection; collect what it raises."""
    errors: list[BaseException] = []

    def run():
        try:
            target()
        except BaseException as e:  # reported by the test, not lost in the thread
            errors.append(e)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def lock_is_free() -> bool:
    """Whether another thread could take the write lock now."""
    result: list[bool] = []

    def probe():
        if WRITE_LOCK.acquire(blocking=False):
            WRITE_LOCK.release()
            result.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(5)
    return result == [True]


@pytest.mark.parametrize("second_in_atomic", [True, False], ids=["atomic", "autocommit"])
def test_two_writers_at_once_both_complete_one_after_the_other(second_in_atomic):
    first_wrote = threading.Event()
    committed: list[str] = []

    def first():
        no_busy_wait()
        with transaction.atomic():
            Partner.objects.create(name="First")
            first_wrote.set()
            time.sleep(HOLD_SECONDS)
        committed.append("First")

    def second():
        no_busy_wait()
        first_wrote.wait(5)
        if second_in_atomic:
            with transaction.atomic():
                Partner.objects.create(name="Second")
        else:
            Partner.objects.create(name="Second")
        committed.append("Second")

    started = time.monotonic()
    threads = [in_thread(first), in_thread(second)]
    for thread, _ in threads:
        thread.join(10)

    assert [e for _, errors in threads for e in errors] == []
    assert committed == ["First", "Second"]
    assert time.monotonic() - started >= HOLD_SECONDS
    assert sorted(Partner.objects.values_list("name", flat=True)) == ["First", "Second"]
    assert lock_is_free()


def test_a_second_connection_in_the_holding_thread_is_not_blocked_by_the_lock():
    """Only SQLite refuses it: the lock is reentrant, so nothing waits forever."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 0")
        with transaction.atomic():
            Partner.objects.create(name="Holder")
            started = time.monotonic()
            with pytest.raises(OperationalError, match="locked"), other.cursor() as cursor:
                cursor.execute("BEGIN IMMEDIATE")
            assert time.monotonic() - started < 1
    finally:
        other.close()
    assert list(Partner.objects.values_list("name", flat=True)) == ["Holder"]
    assert lock_is_free()


def test_a_lock_held_too_long_leaves_the_write_to_sqlite(monkeypatch, caplog):
    """A lock never given back (its thread died mid-transaction) slows writes, never stops them."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        with WRITE_LOCK:
            taken.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    try:
        started = time.monotonic()
        Partner.objects.create(name="Late")
        assert time.monotonic() - started >= 0.2
    finally:
        done.set()
        holder.join(5)
    assert Partner.objects.filter(name="Late").exists()
    assert "leaving it to SQLite's busy timeout" in caplog.text
