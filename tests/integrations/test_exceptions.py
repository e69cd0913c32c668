import pytest

from arbridge.integrations import outbox
from arbridge.integrations.models import ExceptionItem, OutboundCommand, SyncRun
from arbridge.integrations.tasks import request_sync, retry_exception


@pytest.fixture
def dead_command(connection, vendor) -> OutboundCommand:
    vendor.fail_next(400)
    command = OutboundCommand.enqueue(connection, "create_payment", {"amount": "9.00"}, "pay-9")
    outbox.deliver(command.pk)
    return command


def test_retrying_a_failed_write_delivers_it_again(
    dead_command, vendor, alice, django_capture_on_commit_callbacks
):
    item = ExceptionItem.objects.get(command=dead_command)

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_exception(item, alice) == dead_command

    dead_command.refresh_from_db()
    assert dead_command.status == OutboundCommand.Status.DONE
    assert dead_command.attempts == 1  # a fresh set of attempts
    assert dead_command.remote_id == vendor.writes["pay-9"]["id"]
    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.RESOLVED
    assert item.resolved_by == alice


def test_retrying_twice_retries_once(
    dead_command, vendor, alice, bob, django_capture_on_commit_callbacks
):
    item = ExceptionItem.objects.get(command=dead_command)

    with django_capture_on_commit_callbacks(execute=True):
        retry_exception(item, alice)
        again = ExceptionItem.objects.get(pk=item.pk)
        assert retry_exception(again, bob) is None

    assert vendor.requests == ["pay-9", "pay-9"]  # the failure, then the retry
    item.refresh_from_db()
    assert item.resolved_by == alice


def test_a_retried_write_that_fails_again_opens_a_new_exception(
    dead_command, vendor, django_capture_on_commit_callbacks
):
    first = ExceptionItem.objects.get(command=dead_command)
    vendor.fail_next(400)

    with django_capture_on_commit_callbacks(execute=True):
        retry_exception(first)

    dead_command.refresh_from_db()
    assert dead_command.status == OutboundCommand.Status.DEAD
    items = ExceptionItem.objects.filter(command=dead_command)
    assert [item.status for item in items] == ["open", "resolved"]


def test_resolving_leaves_the_command_dead(dead_command, vendor, bob):
    item = ExceptionItem.objects.get(command=dead_command)

    assert item.resolve(bob) is True
    assert item.resolve(bob) is False

    item.refresh_from_db()
    assert (item.status, item.resolved_by) == (ExceptionItem.Status.RESOLVED, bob)
    dead_command.refresh_from_db()
    assert dead_command.status == OutboundCommand.Status.DEAD
    assert vendor.requests == ["pay-9"]


def test_a_resolved_exception_is_not_resolved_again_by_someone_else(dead_command, alice, bob):
    item = ExceptionItem.objects.get(command=dead_command)
    stale_copy = ExceptionItem.objects.get(pk=item.pk)
    item.resolve(alice)

    assert stale_copy.resolve(bob) is False

    item.refresh_from_db()
    assert item.resolved_by == alice


def test_retrying_a_sync_failure_requests_a_manual_sync(
    unbuilt_connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_sync(unbuilt_connection, SyncRun.Trigger.SCHEDULE)
    first = ExceptionItem.objects.get(kind=ExceptionItem.Kind.SYNC_FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        run = retry_exception(first)

    assert run.trigger == SyncRun.Trigger.MANUAL
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED  # the connector is still not built
    first.refresh_from_db()
    assert first.status == ExceptionItem.Status.RESOLVED
    second = ExceptionItem.objects.get(status=ExceptionItem.Status.OPEN)
    assert second.sync_run == run


def test_an_exception_with_nothing_behind_it_cannot_be_retried(partner):
    item = ExceptionItem.objects.create(
        partner=partner, kind=ExceptionItem.Kind.OTHER, title="Check by hand"
    )

    with pytest.raises(ValueError, match="nothing to retry"):
        retry_exception(item)

    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.OPEN
