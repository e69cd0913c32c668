import datetime as dt

import pytest

from arbridge.core.models import Connection
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.integrations.tasks import (
    HEARTBEAT_TIMEOUT,
    SYNC_MAX_ATTEMPTS,
    claim_run,
    request_sync,
    sync_connection,
)


def test_a_sync_is_enqueued_when_its_transaction_commits(
    unbuilt_connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = request_sync(unbuilt_connection)
        assert SyncRun.objects.get().status == SyncRun.Status.QUEUED

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.attempts == 1
    assert run.started_at is not None
    assert run.finished_at is not None


def test_requesting_again_while_one_is_queued_reuses_it(unbuilt_connection):
    first = request_sync(unbuilt_connection, SyncRun.Trigger.WEBHOOK)
    second = request_sync(unbuilt_connection, SyncRun.Trigger.MANUAL)

    assert first == second
    assert SyncRun.objects.count() == 1


def test_an_unbuilt_connector_fails_the_run_with_a_clear_message(unbuilt_connection):
    run = request_sync(unbuilt_connection)

    sync_connection(run.pk)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message.startswith("The unbuilt connector is not available:")
    assert "tests.integrations.not_built" in run.error_message
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.SYNC_FAILED
    assert item.sync_run == run
    assert item.connection == unbuilt_connection
    assert item.partner == unbuilt_connection.partner
    assert item.reason == run.error_message


def test_repeated_failures_keep_one_open_exception(unbuilt_connection):
    first = request_sync(unbuilt_connection)
    sync_connection(first.pk)
    second = request_sync(unbuilt_connection)
    sync_connection(second.pk)

    item = ExceptionItem.objects.get()
    assert item.sync_run == second
    assert item.status == ExceptionItem.Status.OPEN


def test_a_connection_syncs_one_run_at_a_time(unbuilt_connection, clock):
    running = request_sync(unbuilt_connection)
    claim_run(running.pk)  # another worker is running it
    waiting = request_sync(unbuilt_connection)
    assert waiting != running

    sync_connection(waiting.pk)
    waiting.refresh_from_db()
    assert waiting.status == SyncRun.Status.QUEUED

    clock.shift(HEARTBEAT_TIMEOUT + dt.timedelta(seconds=1))  # that worker died
    sync_connection(waiting.pk)
    waiting.refresh_from_db()
    assert waiting.status == SyncRun.Status.FAILED


def test_a_run_that_queued_behind_another_starts_when_it_ends(unbuilt_connection):
    first = request_sync(unbuilt_connection)
    second = SyncRun.objects.create(
        partner=unbuilt_connection.partner, connection=unbuilt_connection
    )

    sync_connection(first.pk)

    second.refresh_from_db()
    assert second.status == SyncRun.Status.FAILED
    assert second.started_at is not None


def test_other_connections_sync_meanwhile(unbuilt_connection, partner, clock):
    busy = request_sync(unbuilt_connection)
    claim_run(busy.pk)
    other = Connection.objects.create(partner=partner, kind="unbuilt", name="Other Books")
    run = request_sync(other)

    sync_connection(run.pk)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.attempts == 1


def test_a_finished_run_is_not_run_again(unbuilt_connection, clock):
    run = request_sync(unbuilt_connection)
    sync_connection(run.pk)
    clock.shift(dt.timedelta(days=1))

    sync_connection(run.pk)

    run.refresh_from_db()
    assert run.attempts == 1


def test_a_run_that_keeps_dying_is_abandoned(unbuilt_connection, clock):
    run = request_sync(unbuilt_connection)
    for _ in range(SYNC_MAX_ATTEMPTS):
        claim_run(run.pk)  # a worker starts it, and dies
        clock.shift(HEARTBEAT_TIMEOUT + dt.timedelta(seconds=1))

    sync_connection(run.pk)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message == f"Abandoned after {SYNC_MAX_ATTEMPTS} attempts that never finished."


def test_a_successful_sync_records_the_time_and_settles_the_failure(
    connection, vendor, clock, django_capture_on_commit_callbacks
):
    pytest.importorskip("arbridge.integrations.sync")
    vendor.customers = [{"id": "C1", "name": "Globex", "email": "ap@globex.example"}]
    ExceptionItem.objects.create(
        partner=connection.partner,
        connection=connection,
        kind=ExceptionItem.Kind.SYNC_FAILED,
        title="Sync of Fake Books failed",
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = request_sync(connection)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.created == 1
    connection.refresh_from_db()
    assert connection.last_synced_at == run.finished_at
    assert not ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN).exists()


def test_a_vendor_failure_fails_the_run(connection, vendor, django_capture_on_commit_callbacks):
    pytest.importorskip("arbridge.integrations.sync")
    connection.credentials = {**connection.credentials, "token": "expired"}
    connection.save()

    with django_capture_on_commit_callbacks(execute=True):
        run = request_sync(connection)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "invalid token" in run.error_message
    connection.refresh_from_db()
    assert connection.last_synced_at is None
