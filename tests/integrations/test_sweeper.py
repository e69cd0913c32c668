"""The sweeper finds owed work whose job was lost and enqueues it again.

In these tests no transaction commits, so the job enqueued on commit is never
enqueued at all: exactly the job a dead consumer loses.
"""

import datetime as dt

from huey.contrib.djhuey import HUEY

from arbridge.integrations import outbox
from arbridge.integrations.models import OutboundCommand, SyncRun
from arbridge.integrations.tasks import (
    HEARTBEAT_TIMEOUT,
    claim_run,
    request_sync,
    sweep,
)
from tests.integrations.conftest import START


def enqueue(connection, key: str = "payment-1") -> OutboundCommand:
    return OutboundCommand.enqueue(connection, "create_payment", {"amount": "5.00"}, key)


def test_it_delivers_a_pending_command_whose_job_was_lost(connection, vendor, clock):
    command = enqueue(connection)

    assert sweep() == (0, 0)  # just created: its own job may yet come
    clock.shift(dt.timedelta(minutes=2))
    assert sweep() == (1, 0)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert list(vendor.writes) == ["payment-1"]


def test_it_hands_a_command_whose_worker_died_to_another(connection, vendor, clock):
    command = enqueue(connection)
    outbox.claim(command.pk)  # a worker takes it, then dies

    clock.shift(outbox.lease() - dt.timedelta(seconds=1))
    assert sweep() == (0, 0)
    clock.shift(dt.timedelta(seconds=2))
    assert sweep() == (1, 0)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert command.attempts == 2
    assert vendor.requests == ["payment-1"]


def test_it_leaves_a_command_waiting_for_its_next_attempt(connection, vendor, clock):
    vendor.fail_next(503)
    command = enqueue(connection)
    outbox.deliver(command.pk)

    clock.shift(dt.timedelta(seconds=30))
    assert sweep() == (0, 0)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.PENDING
    assert len(vendor.requests) == 1


def test_sweeping_again_delivers_nothing_twice(connection, vendor, clock):
    enqueue(connection, "payment-1")
    enqueue(connection, "payment-2")
    clock.shift(dt.timedelta(minutes=2))

    assert sweep() == (2, 0)
    assert sweep() == (0, 0)
    assert sorted(vendor.requests) == ["payment-1", "payment-2"]


def test_it_ignores_dead_and_done_commands(connection, vendor, clock):
    vendor.fail_next(400)
    dead = enqueue(connection, "payment-1")
    done = enqueue(connection, "payment-2")
    outbox.deliver(dead.pk)
    outbox.deliver(done.pk)

    clock.shift(dt.timedelta(days=1))

    assert sweep() == (0, 0)


def test_it_starts_a_queued_sync_run_whose_job_was_lost(unbuilt_connection, clock):
    run = request_sync(unbuilt_connection)

    assert sweep() == (0, 0)
    clock.shift(dt.timedelta(minutes=2))
    assert sweep() == (0, 1)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.attempts == 1


def test_it_restarts_a_sync_run_whose_heartbeat_stopped(unbuilt_connection, clock):
    run = request_sync(unbuilt_connection)
    claim_run(run.pk)  # a worker starts it, then dies

    clock.shift(HEARTBEAT_TIMEOUT)
    assert sweep() == (0, 0)
    clock.shift(dt.timedelta(seconds=1))
    assert sweep() == (0, 1)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.attempts == 2
    assert run.started_at == START + HEARTBEAT_TIMEOUT + dt.timedelta(seconds=1)


def test_the_consumer_sweeps_every_minute():
    for minute in range(60):
        due = HUEY.read_periodic(dt.datetime(2026, 3, 2, 9, minute))
        assert "sweep_periodically" in [task.name for task in due]
