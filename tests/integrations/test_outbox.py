import datetime as dt

from arbridge.integrations import outbox
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from tests.integrations.conftest import START

PAYMENT = {"entity": "payment", "local_id": 7, "amount": "125.00", "currency": "USD"}


def enqueue(connection, key: str = "payment-7-create") -> OutboundCommand:
    return OutboundCommand.enqueue(connection, "create_payment", PAYMENT, key)


def test_it_delivers_a_command_once_its_transaction_commits(
    connection, vendor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        command = enqueue(connection)
        assert vendor.requests == []

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert vendor.writes["payment-7-create"]["payload"] == PAYMENT
    assert command.remote_id == vendor.writes["payment-7-create"]["id"]
    assert command.attempts == 1


def test_it_links_the_local_row_to_the_remote_record(connection, vendor):
    command = enqueue(connection)
    outbox.deliver(command.pk)

    command.refresh_from_db()
    ref = ExternalRef.objects.get(connection=connection, entity="payment")
    assert ref.local_id == 7
    assert ref.remote_id == command.remote_id
    assert ref.partner_id == connection.partner_id


def test_enqueuing_a_key_again_records_one_command(connection, vendor):
    first = enqueue(connection)
    second = enqueue(connection)

    assert first.pk == second.pk
    assert OutboundCommand.objects.count() == 1


def test_a_command_is_pushed_with_its_idempotency_key(connection, vendor):
    command = enqueue(connection)
    outbox.deliver(command.pk)
    outbox.deliver(command.pk)

    assert vendor.requests == ["payment-7-create"]


def test_a_retryable_failure_waits_longer_each_time(connection, vendor, clock):
    vendor.fail_next(503, times=3)
    command = enqueue(connection)

    outbox.deliver(command.pk)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.PENDING
    assert command.attempts == 1
    assert command.next_attempt_at == START + dt.timedelta(minutes=1)
    assert "503" in command.last_error

    clock.shift(dt.timedelta(minutes=1))
    outbox.deliver(command.pk)
    command.refresh_from_db()
    assert command.next_attempt_at == START + dt.timedelta(minutes=1 + 2)

    clock.shift(dt.timedelta(minutes=2))
    outbox.deliver(command.pk)
    command.refresh_from_db()
    assert command.next_attempt_at == START + dt.timedelta(minutes=1 + 2 + 4)
    assert command.attempts == 3


def test_it_is_not_pushed_again_before_its_next_attempt(connection, vendor, clock):
    vendor.fail_next(503)
    command = enqueue(connection)
    outbox.deliver(command.pk)

    clock.shift(dt.timedelta(seconds=59))
    assert outbox.deliver(command.pk) is None
    assert len(vendor.requests) == 1

    clock.shift(dt.timedelta(seconds=1))
    outbox.deliver(command.pk)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert command.last_error == ""


def test_it_waits_as_long_as_the_vendor_asks(connection, vendor, clock):
    vendor.fail_next(429, retry_after=600)
    command = enqueue(connection)

    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.PENDING
    assert command.next_attempt_at == START + dt.timedelta(minutes=10)


def test_a_lost_response_is_retried_without_writing_twice(connection, vendor, clock):
    vendor.lose_next_response()
    command = enqueue(connection)

    outbox.deliver(command.pk)
    clock.shift(dt.timedelta(minutes=1))
    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert vendor.requests == ["payment-7-create", "payment-7-create"]
    assert len(vendor.writes) == 1
    assert command.remote_id == vendor.writes["payment-7-create"]["id"]


def test_a_permanent_failure_is_a_dead_letter_and_an_exception(connection, vendor):
    vendor.fail_next(400)
    command = enqueue(connection)

    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DEAD
    assert "failure 400" in command.last_error
    item = ExceptionItem.objects.get(command=command)
    assert item.kind == ExceptionItem.Kind.WRITE_FAILED
    assert item.status == ExceptionItem.Status.OPEN
    assert item.connection == connection
    assert item.partner == connection.partner
    assert (item.entity, item.local_id) == ("payment", 7)
    assert "failure 400" in item.reason
    assert vendor.writes == {}


def test_rejected_credentials_are_a_dead_letter(connection, vendor):
    connection.credentials = {**connection.credentials, "token": "expired"}
    connection.save()
    command = enqueue(connection)

    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DEAD
    assert "invalid token" in command.last_error


def test_it_gives_up_after_the_last_attempt(connection, vendor, clock):
    vendor.fail_next(503, times=OutboundCommand.MAX_ATTEMPTS)
    command = enqueue(connection)

    for _ in range(OutboundCommand.MAX_ATTEMPTS):
        outbox.deliver(command.pk)
        clock.shift(dt.timedelta(hours=1))

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DEAD
    assert command.attempts == OutboundCommand.MAX_ATTEMPTS
    assert command.last_error.startswith(f"Gave up after {OutboundCommand.MAX_ATTEMPTS} attempts")
    assert ExceptionItem.objects.filter(command=command).count() == 1
    assert len(vendor.requests) == OutboundCommand.MAX_ATTEMPTS


def test_a_command_for_an_unbuilt_connector_is_a_dead_letter(unbuilt_connection):
    command = OutboundCommand.enqueue(unbuilt_connection, "create_payment", PAYMENT, "key-1")

    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DEAD
    assert "connector is not available" in command.last_error
    assert ExceptionItem.objects.filter(command=command).exists()


def test_a_command_taken_by_another_worker_is_left_to_it(connection, vendor, clock):
    command = enqueue(connection)
    assert outbox.claim(command.pk) is not None  # a worker takes it, then dies

    assert outbox.deliver(command.pk) is None
    assert vendor.requests == []

    clock.shift(outbox.lease() + dt.timedelta(seconds=1))
    outbox.deliver(command.pk)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert command.attempts == 2
    assert len(vendor.writes) == 1


def test_a_done_command_is_not_delivered_again(connection, vendor, clock):
    command = enqueue(connection)
    outbox.deliver(command.pk)

    clock.shift(dt.timedelta(days=1))

    assert outbox.deliver(command.pk) is None
    assert len(vendor.requests) == 1
