"""Payments written back in QuickBooks batch requests: together when they pile up, once each."""

import datetime as dt
import time

import httpx
import pytest
from django.db import transaction
from huey.contrib.djhuey import HUEY

from arbridge.connectors.qbo.connector import BATCHING
from arbridge.core import clock
from arbridge.integrations import outbox, signals, writeback
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice
from tests.integrations import test_consumer_crash as crash
from tests.integrations.qbo.fixtures import take_payment

Status = OutboundCommand.Status
# A Huey queue of the test's own, with jobs not run inline: as in a consumer.
private_queue = crash.private_queue


@pytest.fixture
def invoices(qbo, company, sync) -> list[dict]:
    """Four invoices of Globex's in QuickBooks, synced into arbridge."""
    globex = company.customer("Globex", "ap@globex.example")
    remote = [company.invoice(globex, f"{100 + n}.00") for n in range(4)]
    sync(qbo)
    return remote


@pytest.fixture
def control(company) -> httpx.Client:
    """The sandbox's control API (/_sandbox/), for switching faults on."""
    transport = httpx.WSGITransport(app=company.sandbox)
    return httpx.Client(transport=transport, base_url="http://qbo.test")


def owe(remote: dict) -> OutboundCommand:
    """Take a payment of the invoice in full and owe its write-back, not yet delivered."""
    ref = ExternalRef.objects.get(entity="invoice", remote_id=remote["Id"])
    invoice = Invoice.objects.get(pk=ref.local_id)
    with transaction.atomic():
        payment = take_payment((invoice, str(invoice.balance)), reference=f"sbx_{remote['Id']}")
        [command] = writeback.payment_succeeded(payment)
    return command


def api_requests(company) -> int:
    return company.sandbox.limiter.report()["realms"][company.realm]["requests"]


def test_commands_piled_up_go_in_one_batch_request_and_each_is_linked(qbo, company, invoices):
    commands = [owe(remote) for remote in invoices]
    before = api_requests(company)

    outbox.deliver(commands[0].pk)

    assert api_requests(company) == before + 1
    # The other commands' own jobs find nothing left to do.
    assert outbox.deliver(commands[1].pk) is None
    assert api_requests(company) == before + 1
    for command, remote in zip(commands, invoices, strict=True):
        command.refresh_from_db()
        assert command.status == Status.DONE
        [written] = company.payments_of(remote["Id"])
        assert command.remote_id == written["Id"]
        ref = ExternalRef.objects.get(entity="payment", remote_id=written["Id"])
        assert ref.local_id == command.payload["local_id"]
    assert len({c.batch_key for c in OutboundCommand.objects.all()}) == 1


def test_a_lone_payment_goes_at_once_and_the_next_is_woken_with_what_gathered(
    qbo, company, invoices
):
    lone = owe(invoices[0])
    started = time.monotonic()
    outbox.deliver(lone.pk)
    assert time.monotonic() - started < BATCHING.spacing_s / 2
    lone.refresh_from_db()
    assert lone.status == Status.DONE
    HUEY.flush()

    # Right after it, a partial batch is not due: no worker waits for it; the connection is woken.
    second, third = owe(invoices[1]), owe(invoices[2])
    started = time.monotonic()
    assert outbox.deliver(second.pk) is None
    assert time.monotonic() - started < BATCHING.spacing_s / 2
    [wake] = HUEY.scheduled()
    assert wake.name.endswith("deliver_connection_batches") and wake.args == (qbo.pk,)
    due = lone.batched_at + dt.timedelta(seconds=BATCHING.spacing_s)
    assert abs(wake.eta.replace(tzinfo=dt.UTC) - due) < dt.timedelta(milliseconds=1)
    second.refresh_from_db()
    assert second.status == Status.PENDING and second.batch_key == ""

    # The spacing has passed (as if), and the wake-up sends what gathered, together.
    OutboundCommand.objects.filter(pk=lone.pk).update(
        batched_at=clock.now() - (due - lone.batched_at)
    )
    HUEY.execute(wake, timestamp=wake.eta)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == third.status == Status.DONE
    assert second.batch_key == third.batch_key != lone.batch_key


def test_a_full_batch_goes_at_once_however_recently_the_last_went(qbo, company, sync):
    globex = company.customer("Globex", "ap@globex.example")
    remote = [company.invoice(globex, f"{10 + n}.00") for n in range(BATCHING.max_commands + 2)]
    sync(qbo)
    lone = owe(remote[0])
    outbox.deliver(lone.pk)
    piled = [owe(r) for r in remote[1:]]
    before = api_requests(company)

    outbox.deliver(piled[-1].pk)

    # The oldest 30 go now; the last one waits for the spacing.
    assert api_requests(company) == before + 1
    statuses = [
        c.status
        for c in OutboundCommand.objects.filter(pk__in=[c.pk for c in piled]).order_by("pk")
    ]
    assert statuses == [Status.DONE] * BATCHING.max_commands + [Status.PENDING]


def test_a_batch_whose_answer_was_lost_is_sent_again_as_it_was_and_written_once(
    qbo, company, invoices, control
):
    commands = [owe(remote) for remote in invoices[:3]]
    # QuickBooks does the work, but every answer is lost on the way back.
    control.post(
        "/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["timeout"], "timeout_ms": 10}
    )
    outbox.deliver(commands[0].pk)

    keys = set()
    for command in commands:
        command.refresh_from_db()
        assert command.status == Status.PENDING
        keys.add(command.batch_key)
    assert len(keys) == 1 and "" not in keys
    control.post("/_sandbox/faults", json={"error_rate": 0})
    assert all(len(company.payments_of(remote["Id"])) == 1 for remote in invoices[:3])

    OutboundCommand.objects.update(next_attempt_at=clock.now())
    outbox.deliver(commands[2].pk)

    for command, remote in zip(commands, invoices[:3], strict=True):
        command.refresh_from_db()
        assert command.status == Status.DONE
        assert command.batch_key in keys
        [written] = company.payments_of(remote["Id"])
        assert command.remote_id == written["Id"]


def test_a_refused_payment_fails_alone_and_leaves_its_batch(qbo, company, invoices):
    good = owe(invoices[0])
    bad = owe(invoices[1])
    payload = {**bad.payload, "allocations": [{"invoice_remote_id": "999999", "amount": "101.00"}]}
    OutboundCommand.objects.filter(pk=bad.pk).update(payload=payload)

    outbox.deliver(good.pk)

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Status.DONE
    assert bad.status == Status.DEAD
    assert bad.batch_key == ""  # a retry is a new request, not a replay of this refusal
    assert ExceptionItem.objects.get(command=bad).kind == ExceptionItem.Kind.WRITE_FAILED
    assert company.payments_of(invoices[1]["Id"]) == []


def test_a_consumer_wakes_a_connection_with_a_timer_that_enqueues_its_job_once(private_queue, qbo):
    when = clock.now() + dt.timedelta(seconds=0.3)

    signals.batches_due.send(None, connection_id=qbo.pk, when=when)
    # The armed timer covers it.
    signals.batches_due.send(None, connection_id=qbo.pk, when=when + dt.timedelta(seconds=0.5))

    assert HUEY.pending_count() == 0  # no worker waits: the job is not even queued yet
    deadline = time.monotonic() + 5
    while not HUEY.pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert clock.now() >= when
    time.sleep(1)
    [job] = HUEY.pending()
    assert job.name.endswith("deliver_connection_batches") and job.args == (qbo.pk,)
