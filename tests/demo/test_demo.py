"""The demo partner: seeded once, and billed through its three connectors from the sandboxes."""

import threading
import time

import pytest
from django.contrib.auth import authenticate
from werkzeug.serving import make_server

from arbridge import server
from arbridge.autopay.models import Enrollment
from arbridge.collections.models import Reminder
from arbridge.core.models import ApiKey, Connection, Membership, Partner
from arbridge.demo import partner as demo
from arbridge.integrations import connect, registry, sync_tool
from arbridge.integrations.models import (
    ExceptionItem,
    ExternalRef,
    IntegrationPreferences,
    SyncRun,
)
from arbridge.ledger.models import Customer, Invoice, Payment
from arbridge.metrics import demo as metrics_demo


@pytest.fixture
def served(settings):
    """Serve arbridge and its sandboxes on loopback, at settings.BASE_URL, as the demo does."""
    web = make_server("127.0.0.1", 0, server.build_app(), threaded=True)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    settings.BASE_URL = f"http://127.0.0.1:{web.port}"
    # Limiters of this test's own: the demo's tenants repeat across tests.
    connect.limiter.cache_clear()
    yield settings.BASE_URL
    connect.limiter.cache_clear()
    web.shutdown()


def wait_for_first_polls(connections, timeout: float = 30.0) -> None:
    """Wait until the demo PC of each polled connection (its own thread) has polled once."""
    deadline = time.monotonic() + timeout
    for connection in connections:
        if not registry.is_polled(connection.kind):
            continue
        while connection.sync_runs.filter(status=SyncRun.Status.SUCCEEDED).count() == 0:
            assert time.monotonic() < deadline, f"{connection.kind}'s demo PC never polled"
            time.sleep(0.1)


def test_it_seeds_northwind_once_with_three_connections_waiting_for_their_sandboxes(db):
    partner = demo.seed()
    assert demo.seed() == partner
    assert Partner.objects.count() == 1

    assert partner.name == "Northwind MSP"
    assert Membership.objects.get(partner=partner).role == Membership.Role.OWNER
    connections = Connection.objects.for_partner(partner)
    assert {(c.role, c.kind, c.status) for c in connections} == {
        ("primary", "halopsa", "pending"),
        ("secondary", "qbo", "pending"),
        ("tertiary", "connectwise", "pending"),
        (None, "xero", "pending"),
        (None, "zoho_books", "pending"),
        (None, "freshbooks", "pending"),
        (None, "datagate", "pending"),
        (None, "business_central", "pending"),
        (None, "netsuite", "pending"),
        (None, "qbd", "pending"),
        (None, "superops", "pending"),
        (None, "sage_intacct", "pending"),
    }
    # Everything billed arrives through the connectors.
    assert not Invoice.objects.exists()


def test_starting_bills_northwind_through_all_three_connectors(transactional_db, served):
    demo.start()

    partner = Partner.objects.get(slug=demo.PARTNER_SLUG)
    connections = Connection.objects.for_partner(partner)
    assert {c.kind: c.status for c in connections} == {
        "qbo": "connected",
        "halopsa": "connected",
        "connectwise": "connected",
        "xero": "connected",
        "zoho_books": "connected",
        "freshbooks": "connected",
        "datagate": "connected",
        "business_central": "connected",
        "netsuite": "connected",
        "qbd": "connected",
        "superops": "connected",
        "sage_intacct": "connected",
    }
    wait_for_first_polls(connections)
    for connection in connections:
        [run] = connection.sync_runs.all()
        assert (run.trigger, run.status) == (SyncRun.Trigger.INITIAL, SyncRun.Status.SUCCEEDED)
        if connection.kind == "datagate":
            continue  # read from the files a person uploads: nothing to hold
        oauth = connection.kind in ("qbo", "xero", "zoho_books", "freshbooks", "business_central")
        polled = registry.is_polled(connection.kind)
        assert connection.credentials[
            "token" if oauth else "password_hash" if polled else "base_url"
        ]

    invoices = Invoice.objects.for_partner(partner)
    assert 250 <= invoices.count() <= 600  # "a few hundred"
    for kind in ("qbo", "halopsa", "connectwise", "xero", "zoho_books", "freshbooks"):
        assert ExternalRef.objects.filter(connection__kind=kind, entity="invoice").count() >= 30
    halo_billed = invoices.filter(connection__kind="halopsa").prefetch_related("lines")
    for invoice in halo_billed:
        assert sum(line.amount for line in invoice.lines.all()) == invoice.total
    assert Customer.objects.for_partner(partner).filter(contacts__is_billing=True).exists()
    assert Payment.objects.for_partner(partner).filter(origin=Payment.Origin.EXTERNAL).exists()

    # Billed in QuickBooks and in a PSA, with the same number and total: one invoice, two refs.
    shared = [
        invoice
        for invoice in invoices
        if ExternalRef.objects.filter(entity="invoice", local_id=invoice.pk).count() == 2
    ]
    assert len(shared) == 6
    # Billed again in ConnectWise for another amount: left for a person to resolve.
    open_exceptions = ExceptionItem.objects.for_partner(partner).filter(status="open")
    assert [e.kind for e in open_exceptions] == [ExceptionItem.Kind.DUPLICATE_NUMBER]

    # The Sync Tool in use, closed ConnectWise invoices waiting for QuickBooks.
    assert IntegrationPreferences.objects.get(partner=partner).sync_tool_in_use
    waiting = {invoice.number for invoice in sync_tool.waiting_invoices(partner.pk)}
    assert waiting == {"CW-8101", "CW-8102", "CW-8103", "CW-8104"}

    # Its history: a year of figures, auto pay, and the reminders its overdue invoices had.
    demo.use_sandbox_processor(partner)
    demo.seed_histories(partner)
    assert Enrollment.objects.for_partner(partner).filter(status="active").count() == 5
    reminders = Reminder.objects.for_partner(partner).count()
    history = invoices.filter(number__startswith=metrics_demo.PREFIX).count()
    assert reminders > 0 and history > 100
    demo.seed_histories(partner)
    assert Reminder.objects.for_partner(partner).count() == reminders
    assert invoices.filter(number__startswith=metrics_demo.PREFIX).count() == history


def test_each_start_keeps_the_password_and_issues_a_new_key(db):
    first = demo.start()
    second = demo.start()

    assert second.password == first.password
    assert authenticate(username=second.username, password=second.password) is not None
    assert ApiKey.objects.authenticate(first.api_key) is None
    key = ApiKey.objects.authenticate(second.api_key)
    assert key.partner.name == "Northwind MSP"
    assert key.can_write  # the demo's key tries the whole API, syncs included
