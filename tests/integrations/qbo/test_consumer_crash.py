"""A consumer killed mid-write-back or mid-sync: after a restart, each record is there once.

A real consumer (`arbridge worker`) talks to the sandbox over loopback HTTP.
The sandbox does the work asked of it, then holds its answer until the test
has killed the consumer: the moment when QuickBooks has written and arbridge
does not know it.
"""

import signal
import threading
import time

import pytest
from django.db import transaction
from django.db.models import F

from arbridge.core import clock
from arbridge.integrations import tasks, writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, SyncRun
from arbridge.integrations.tasks import HEARTBEAT_TIMEOUT, request_sync, sweep
from arbridge.ledger.models import Invoice
from arbridge.sandbox.qbo.demo import app_settings
from tests.integrations import test_consumer_crash as crash
from tests.integrations.qbo.fixtures import take_payment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The real consumer process of the jobs' own crash test, and its private queue.
consumer, private_queue, wait_until = crash.consumer, crash.private_queue, crash.wait_until


class Stall:
    """Let the sandbox answer the first request matching a test, once the test says so."""

    def __init__(self, app, method: str, path_end: str) -> None:
        self.app, self.method, self.path_end = app, method, path_end
        self.stalled, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            matches = not self.stalled.is_set() and (
                environ["REQUEST_METHOD"] == self.method
                and environ["PATH_INFO"].endswith(self.path_end)
            )
            if matches:
                self.stalled.set()
        if not matches:
            return self.app(environ, start_response)
        captured = {}

        def keep(status, headers, exc_info=None):
            captured["start"] = (status, headers)

        body = b"".join(self.app(environ, keep))  # the work is done here
        self.release.wait(timeout=60)
        start_response(*captured["start"])
        return [body]


@pytest.fixture
def quickbooks_env(monkeypatch, sandbox_server):
    """Point the consumer (a process of its own) at the loopback sandbox."""
    urls = app_settings(sandbox_server.url)
    monkeypatch.setenv("ARBRIDGE_QBO_API_BASE", urls["api_base"])
    monkeypatch.setenv("ARBRIDGE_QBO_TOKEN_URL", urls["token_url"])


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_payment_cut_short_by_a_dying_consumer_is_written_once(
    quickbooks_env, consumer, sandbox_server, qbo, company, sync, signum
):
    remote = company.invoice(company.customer("Globex"), "150.00")
    sync(qbo)
    # Payments go out in batch requests (outbox.py): the resend must be the same one.
    stall = Stall(company.sandbox, "POST", "/batch")
    sandbox_server.app = stall
    consumer.start()

    with transaction.atomic():
        payment = take_payment((Invoice.objects.get(), "150.00"))
        [command] = writeback.payment_succeeded(payment)
    wait_until(stall.stalled.is_set, consumer)
    consumer.stop(signum)
    stall.release.set()

    # QuickBooks wrote the payment; the consumer died before it heard so.
    assert len(company.payments_of(remote["Id"])) == 1
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.IN_FLIGHT

    wait_until(lambda: clock.now() > command.locked_until, consumer)
    consumer.start()
    assert sweep() == (1, 0)
    wait_until(
        lambda: OutboundCommand.objects.get().status == OutboundCommand.Status.DONE, consumer
    )

    [written] = company.payments_of(remote["Id"])
    ref = ExternalRef.objects.get(entity="payment")
    assert (ref.local_id, ref.remote_id) == (payment.pk, written["Id"])


def test_a_sync_cut_short_by_a_dying_consumer_finishes_with_each_record_once(
    quickbooks_env, consumer, sandbox_server, qbo, company
):
    globex = company.customer("Globex")
    remote = [company.invoice(globex, f"{100 + n}.00") for n in range(5)]
    stall = Stall(company.sandbox, "GET", "/query")
    # Customers are read; the consumer dies while QuickBooks answers for the invoices.
    stall.stalled.set()
    sandbox_server.app = stall
    consumer.start()

    with transaction.atomic():
        run = request_sync(qbo, SyncRun.Trigger.INITIAL)
    wait_until(lambda: SyncRun.objects.get().status == SyncRun.Status.RUNNING, consumer)
    stall.stalled.clear()
    wait_until(stall.stalled.is_set, consumer)
    consumer.stop(signal.SIGKILL)
    stall.release.set()

    # No heartbeat for HEARTBEAT_TIMEOUT, and the sweeper hands the run to another worker.
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=F("heartbeat_at") - HEARTBEAT_TIMEOUT)
    consumer.start()
    assert sweep() == (0, 1)
    wait_until(lambda: SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED, consumer)

    refs = ExternalRef.objects.filter(entity="invoice")
    assert sorted(refs.values_list("remote_id", flat=True)) == sorted(r["Id"] for r in remote)
    assert Invoice.objects.count() == 5
    assert SyncRun.objects.get().attempts == 2


def test_a_sync_held_up_by_its_vendor_keeps_its_heartbeat(
    monkeypatch, sandbox_server, qbo, company
):
    """Beats come from the worker's own thread, not the vendor's pace: a slow run is not dead."""
    monkeypatch.setattr(tasks, "HEARTBEAT_INTERVAL_S", 0.05)
    company.invoice(company.customer("Globex"), "100.00")
    stall = Stall(company.sandbox, "GET", "/query")
    sandbox_server.app = stall
    run = SyncRun.objects.create(partner=qbo.partner, connection=qbo)
    worker = threading.Thread(target=tasks.perform_sync, args=[run.pk])
    worker.start()
    try:
        assert stall.stalled.wait(timeout=30)
        started = SyncRun.objects.get(pk=run.pk).heartbeat_at
        deadline = time.monotonic() + 10
        while SyncRun.objects.get(pk=run.pk).heartbeat_at <= started:
            assert time.monotonic() < deadline, "no beat while QuickBooks was slow to answer"
            time.sleep(0.05)
        # Another run of the connection waits: this one is alive.
        second = SyncRun.objects.create(partner=qbo.partner, connection=qbo)
        assert tasks.claim_run(second.pk) is None
    finally:
        stall.release.set()
        worker.join(timeout=60)
    assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.SUCCEEDED
    assert Invoice.objects.count() == 1
