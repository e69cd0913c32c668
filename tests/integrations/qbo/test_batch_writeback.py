"""Payments written back in QuickBooks batch requests: together when they pile up, once each."""

import time

import httpx
import pytest
from django.db import transaction

from arbridge.connectors.qbo.connector import BATCHING
from arbridge.core import clock
from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice
from tests.integrations.qbo.fixtures import take_payment

Status = OutboundCommand.Status


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


def test_a_lone_payment_goes_at_once_and_the_next_waits_to_gather_more(qbo, company, invoices):
    lone = owe(invoices[0])
    started = time.monotonic()
    outbox.deliver(lone.pk)
    assert time.monotonic() - started < BATCHING.spacing_s / 2
    lone.refresh_from_db()
    assert lone.status == Status.DONE

    # Right after it, a partial batch waits out the spacing, gathering what arrives.
    second, third = owe(invoices[1]), owe(invoices[2])
    started = time.monotonic()
    outbox.deliver(second.pk)
    assert time.monotonic() - started > BATCHING.spacing_s / 2
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == third.status == Status.DONE
    assert second.batch_key == third.batch_key != lone.batch_key


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
