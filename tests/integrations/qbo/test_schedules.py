import datetime as dt

import pytest

from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import request_due_syncs
from tests.integrations.conftest import START


@pytest.fixture
def qbo(partner) -> Connection:
    return Connection.objects.create(
        partner=partner, kind="qbo", status=Connection.Status.CONNECTED, remote_account="1"
    )


def scheduled(connection: Connection) -> int:
    return SyncRun.objects.filter(connection=connection, trigger=SyncRun.Trigger.SCHEDULE).count()


def test_a_connection_never_synced_is_due(qbo, clock):
    [run] = request_due_syncs()

    assert (run.connection, run.trigger, run.status) == (qbo, "schedule", "queued")


def test_a_real_time_connection_still_syncs_once_a_day(qbo, clock):
    request_due_syncs()
    SyncRun.objects.update(status=SyncRun.Status.SUCCEEDED)

    clock.move_to(START + dt.timedelta(hours=23, minutes=55))
    assert request_due_syncs() == []

    clock.move_to(START + dt.timedelta(days=1))
    assert [run.connection for run in request_due_syncs()] == [qbo]
    assert scheduled(qbo) == 2


def test_any_sync_puts_the_next_scheduled_one_off(qbo, clock):
    SyncRun.objects.create(partner=qbo.partner, connection=qbo, trigger=SyncRun.Trigger.MANUAL)

    clock.move_to(START + dt.timedelta(hours=12))

    assert request_due_syncs() == []


def test_an_hourly_connector_syncs_every_hour(connection, clock):
    request_due_syncs()
    SyncRun.objects.update(status=SyncRun.Status.SUCCEEDED)

    clock.move_to(START + dt.timedelta(minutes=59))
    assert request_due_syncs() == []
    clock.move_to(START + dt.timedelta(hours=1))
    assert [run.connection for run in request_due_syncs()] == [connection]


def test_a_queued_run_is_not_asked_for_twice(qbo, clock):
    request_due_syncs()

    clock.move_to(START + dt.timedelta(days=2))
    request_due_syncs()

    assert SyncRun.objects.count() == 1


def test_connections_that_cannot_sync_are_left_alone(qbo, unbuilt_connection, clock):
    qbo.status = Connection.Status.DISCONNECTED
    qbo.save()

    assert request_due_syncs() == []
