"""A QuickBooks sandbox on loopback HTTP, a company in it, and Acme connected to it.

The sandbox serves arbridge's jobs over real HTTP, as Intuit would; its
webhooks are delivered to Django in this thread, so they land in the test's
transaction. Each test gets a fresh sandbox and a company id of its own, so
that the rate limit (500 requests a minute per company) is never shared.
Test modules outside this package import the fixtures they use from here.
"""

import itertools
import os
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from authlib.oauth2.rfc6749 import OAuth2Token
from django.test import Client

from arbridge.core.models import Connection, Partner
from arbridge.integrations.models import ExternalRef, SyncRun
from arbridge.integrations.tasks import perform_sync, request_sync
from arbridge.ledger.models import Deposit, DepositLine, Invoice, Payment
from arbridge.sandbox.qbo import QuickBooksSandbox, create_app
from arbridge.sandbox.qbo.demo import app_settings
from tests.connectors.qbo.books import Books
from tests.loopback import Loopback

REALMS = itertools.count(1)


class Receiver(httpx.BaseTransport):
    """Hand the sandbox's webhooks to Django's test client, keeping each delivery.

    The view runs in this thread, in the test's transaction.
    """

    def __init__(self) -> None:
        self.client = Client()
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.holding = False  # keep deliveries without passing them on, to replay later

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name not in ("host", "content-length", "content-type")
        }
        self.deliveries.append((request.read(), headers))
        if self.holding:
            return httpx.Response(200)
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.read(),
            content_type=request.headers.get("content-type", ""),
            headers=headers,
        )
        return httpx.Response(response.status_code, content=response.content)


@pytest.fixture(scope="session")
def sandbox_server():
    server = Loopback()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def webhook_format() -> str:
    return "cloudevents"


@pytest.fixture
def sandbox(sandbox_server, settings, receiver, webhook_format) -> QuickBooksSandbox:
    """A fresh sandbox, posting its webhooks to arbridge's endpoint when flushed."""
    app = create_app(
        webhook_url="http://testserver/webhooks/qbo",
        webhook_format=webhook_format,
        webhook_interval=None,
        http=httpx.Client(transport=receiver),
    )
    sandbox_server.app = app
    urls = app_settings(sandbox_server.url)
    settings.QBO_AUTH_URL, settings.QBO_TOKEN_URL = urls["auth_url"], urls["token_url"]
    settings.QBO_REVOKE_URL, settings.QBO_API_BASE = urls["revoke_url"], urls["api_base"]
    return app


@pytest.fixture
def company(sandbox) -> Books:
    realm = sandbox.store.add_realm(f"93{os.getpid():07d}{next(REALMS):05d}", "Acme IT Books")
    return Books(sandbox, realm)


def connect(partner: Partner, company: Books, role: Connection.Role) -> Connection:
    """Return the partner's connection to the company, holding a token that does not expire."""
    token = company.sandbox.store.issue_token(company.realm, ttl=None)
    return Connection.objects.create(
        partner=partner,
        kind="qbo",
        role=role,
        status=Connection.Status.CONNECTED,
        remote_account=company.realm,
        credentials={"token": dict(OAuth2Token(token))},
    )


@pytest.fixture
def qbo(partner, company) -> Connection:
    """Acme's primary connection to the company."""
    return connect(partner, company, Connection.Role.PRIMARY)


@pytest.fixture
def quickbooks(partner, company) -> Connection:
    """Acme's QuickBooks Online, secondary to its PSA."""
    return connect(partner, company, Connection.Role.SECONDARY)


@pytest.fixture
def sync() -> Callable[[Connection], SyncRun]:
    """Return a function that syncs a connection now, as its job would."""

    def sync(connection: Connection) -> SyncRun:
        owed = request_sync(connection)
        # Where transactions commit (live_server's tests) the job already ran it.
        run = perform_sync(owed.pk) or SyncRun.objects.get(pk=owed.pk)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        return run

    return sync


@pytest.fixture
def deliver(sandbox, django_capture_on_commit_callbacks) -> Callable[[], int]:
    """Return a function that sends the sandbox's pending webhooks and runs their jobs."""

    def deliver() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return sandbox.flush_webhooks()

    return deliver


# -- money moving in arbridge, as the payments issue will move it -------------------------


def bill_globex(
    company: Books, connection: Connection, sync: Callable[[Connection], SyncRun]
) -> dict:
    """Bill Globex two invoices in QuickBooks, 100.00 + 50.00 and 80.00, and sync them in."""
    globex = company.customer("Globex", "ap@globex.example")
    first = company.invoice(globex, "100.00", "50.00")
    second = company.invoice(globex, "80.00")
    sync(connection)
    return {"customer": globex, "first": first, "second": second}


def local(remote: dict) -> Invoice:
    """Return arbridge's invoice synced from a QuickBooks one."""
    ref = ExternalRef.objects.get(entity="invoice", remote_id=remote["Id"])
    return Invoice.objects.get(pk=ref.local_id)


def take_payment(*paid: tuple[Invoice, str], reference: str = "sbx_pay_1") -> Payment:
    """Take a card payment in arbridge for some invoices and let it succeed."""
    first = paid[0][0]
    payment = Payment.objects.create(
        partner_id=first.partner_id,
        customer=first.customer,
        amount=sum((Decimal(amount) for _, amount in paid), Decimal(0)),
        method=Payment.Method.CARD,
        processor_reference=reference,
    )
    for invoice, amount in paid:
        payment.allocate(invoice, Decimal(amount))
    payment.set_status(Payment.Status.SUCCEEDED)
    return payment


def record_payout(payments: list[Payment], fees: str) -> Deposit:
    """Record the processor's payout of some payments, less its fees."""
    first = payments[0]
    gross = sum((p.amount for p in payments), Decimal(0))
    deposit = Deposit.objects.create(
        partner_id=first.partner_id,
        amount=gross - Decimal(fees),
        currency=first.currency,
        processor_reference="sbx_po_1",
    )
    for payment in payments:
        DepositLine.objects.create(
            partner_id=first.partner_id, deposit=deposit, payment=payment, amount=payment.amount
        )
    DepositLine.objects.create(
        partner_id=first.partner_id,
        deposit=deposit,
        kind=DepositLine.Kind.FEE,
        amount=-Decimal(fees),
        description="Processing fees",
    )
    return deposit
