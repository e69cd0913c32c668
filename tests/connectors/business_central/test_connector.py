"""What is particular to Business Central: pages, limits, journals, reversals, payouts."""

import json
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, Cursor, Op, PermanentError, Runtime, WebhookRequest
from arbridge.connectors.business_central.mapping import document_number, payment_lines
from arbridge.sandbox.business_central import create_app, seed
from tests.connectors.business_central.books import Books, connect
from tests.connectors.contract import Replica, payment_command


def test_it_lists_the_companies_of_the_tenants_environments(sandbox, account):
    tenant = account.split("/")[0]
    sandbox.store.add_company(tenant, "sandbox", "Acme IT (test)")

    companies = {t.name for t in connect(sandbox, account).tenants()}

    assert companies == {"Acme IT (production)", "Acme IT (test) (sandbox)"}


def test_invoices_come_with_their_lines_and_customers_with_billing_contacts(bc, books):
    customer = books.customer("Globex", "ap@globex.example")
    books.contact(customer["id"], "Hank Scorpio", "hank@globex.example")
    invoice = books.invoice(customer, "100.00", "25.50")

    replica = Replica()
    replica.sync(bc)

    record = replica.record("invoice", invoice["id"])
    assert (record.number, record.total, record.balance) == (
        "103001",
        Decimal("125.50"),
        Decimal("125.50"),
    )
    assert [line.amount for line in record.lines] == [Decimal("100.00"), Decimal("25.50")]
    billing = replica.record("contact", f"{customer['id']}:billing")
    assert (billing.email, billing.is_billing) == ("ap@globex.example", True)
    people = [
        c.record
        for (entity, _), c in replica.changes.items()
        if entity == "contact" and c.op == Op.UPSERT
    ]
    assert {(p.email, p.is_billing) for p in people} == {
        ("ap@globex.example", True),
        ("hank@globex.example", False),
    }


def test_a_draft_is_not_read_and_a_cancelled_invoice_is_archived(bc, books):
    customer = books.customer("Globex", "ap@globex.example")
    draft = books.call(
        "POST", "salesInvoices", {"customerId": customer["id"], "salesInvoiceLines": []}
    )
    posted = books.invoice(customer, "40.00")
    replica = Replica()
    replica.sync(bc)
    books.cancel(posted["id"])

    replica.sync(bc)

    assert ("invoice", draft["id"]) not in replica.changes
    assert replica.is_deleted("invoice", posted["id"])


def test_a_long_list_is_read_by_next_links_and_resumed_from_a_checkpoint(sandbox, account, bc):
    tenant, environment, company = account.split("/")
    seed(sandbox.store, tenant, environment, company, customers=3, invoices=1_500)
    items = list(bc.pull(None))
    checkpoints = [item for item in items if isinstance(item, Cursor)]
    halfway = next(
        c for c in checkpoints if c.value.get("entity") == "salesInvoices" and c.value.get("next")
    )

    assert "$skiptoken=" in halfway.value["next"]
    rest = [item for item in bc.pull(halfway) if not isinstance(item, Cursor)]
    invoices = {c.remote_id for c in items if not isinstance(c, Cursor) and c.entity == "invoice"}
    assert len(invoices) == 1_500
    assert len([c for c in rest if c.entity == "invoice"]) == 500


def test_a_429_is_waited_out_as_retry_after_asks(clock, account):
    app = create_app(clock=clock, webhook_interval=None, requests_per_window=4, window_s=60)
    account = "/".join(app.store.add_company(account.split("/")[0], name="Acme IT"))
    books = Books(app, account)
    books.invoice(books.customer("Globex", "ap@globex.example"), "10.00")
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds)

    replica = Replica()
    replica.sync(connect(app, account, runtime=Runtime(sleep=sleep, clock=clock)))

    assert books.stats()["throttled"] > 0
    assert waits and all(wait >= 1 for wait in waits)
    assert len([c for c in replica.changes if c[0] == "invoice"]) == 1


def test_a_payment_is_posted_through_the_journal_and_pays_the_invoice(bc, books):
    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "80.00")

    ref = bc.push(payment_command(invoice["id"], Decimal("80.00"), "payment:9:1"))

    assert books.read("salesInvoices", invoice["id"])["status"] == "Paid"
    assert books.payments_of(invoice["id"]) == [Decimal("80.00")]
    assert len(ref.remote_id) == 20 and books.entries(documentNumber=ref.remote_id)
    [journal] = books.list("customerPaymentJournals")
    assert journal["code"] == "ARBRIDGE"
    assert books.list(f"customerPaymentJournals({journal['id']})/customerPayments") == []


def test_a_line_left_in_the_journal_by_a_crash_is_posted_not_added_again(bc, books):
    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "80.00")
    command = payment_command(invoice["id"], Decimal("80.00"), "payment:9:1")
    # The first attempt added its line, then died before posting the journal.
    journal = bc.journals.payment_journal()
    number = document_number("ARP", command.idempotency_key)
    [line] = payment_lines(dict(command.payload), number)
    books.call("POST", f"customerPaymentJournals({journal['id']})/customerPayments", line)

    ref = bc.push(command)

    assert ref.remote_id == number
    assert books.payments_of(invoice["id"]) == [Decimal("80.00")]


def test_a_reversed_payment_gives_the_invoice_its_balance_back_once(bc, books):
    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "80.00")
    ref = bc.push(payment_command(invoice["id"], Decimal("30.00"), "payment:9:1"))
    delete = Command("delete_payment", {"remote_id": ref.remote_id, "payment_id": 9}, "delete:9")

    bc.push(delete)
    bc.push(delete)

    after = books.read("salesInvoices", invoice["id"])
    assert (after["status"], Decimal(str(after["remainingAmount"]))) == ("Open", Decimal("80.00"))
    assert books.payments_of(invoice["id"]) == []


def test_a_payout_is_a_posted_journal_with_the_fee_on_its_own_line(sandbox, account, books):
    clearing, fees = books.account_id("10400"), books.account_id("67100")
    bank = books.account_id("CHECKING", "bankAccounts")
    bc = connect(
        sandbox,
        account,
        create_deposits=True,
        clearing_account_id=clearing,
        deposit_account_id=bank,
        fee_account_id=fees,
    )
    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "100.00")
    paid = bc.push(payment_command(invoice["id"], Decimal("100.00"), "payment:9:1"))
    payout = {
        "deposit_id": 3,
        "date": "2026-03-04",
        "payout": "96.80",
        "fees": "3.20",
        "payments": [{"remote_id": paid.remote_id, "amount": "100.00"}],
    }
    command = Command("create_deposit", payout, "deposit:3")

    ref = bc.push(command)
    bc.push(command)

    lines = {
        (e["accountNumber"], Decimal(str(e["debitAmount"])) - Decimal(str(e["creditAmount"])))
        for e in books.entries(documentNumber=ref.remote_id)
    }
    assert lines == {
        ("10100", Decimal("96.80")),
        ("67100", Decimal("3.20")),
        ("10400", Decimal("-100.00")),
    }
    # The payment waited in clearing: its journal balanced there, not in the bank.
    assert {e["accountNumber"] for e in books.entries(documentNumber=paid.remote_id)} == {
        "13100",
        "10400",
    }


def test_deposits_are_off_by_default(bc):
    assert bc.preferences.create_deposits is False
    assert not bc.capabilities.native_pdf


def test_a_payment_of_a_cancelled_invoice_is_refused(bc, books):
    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "80.00")
    books.cancel(invoice["id"])

    with pytest.raises(PermanentError):
        bc.push(payment_command(invoice["id"], Decimal("80.00"), "payment:9:1"))


# -- webhooks ---------------------------------------------------------------------


def delivery(body: dict, **query: str) -> WebhookRequest:
    return WebhookRequest(headers={}, body=json.dumps(body).encode(), query=query)


def test_the_handshake_is_answered_with_the_validation_token(bc):
    answer = bc.receive(WebhookRequest(headers={}, body=b"", query={"validationToken": "abc123"}))

    assert answer.accepted and answer.answer == "abc123" and not answer.hints


def test_a_notification_with_another_client_state_is_refused(bc, account):
    company = account.split("/")[2]
    note = {
        "subscriptionId": "s",
        "resource": f"/api/v2.0/companies({company})/salesInvoices(x)",
        "changeType": "updated",
        "lastModifiedDateTime": "2026-03-02T17:00:00Z",
    }

    forged = bc.receive(delivery({"value": [{**note, "clientState": "guessed"}]}))
    good = bc.receive(delivery({"value": [{**note, "clientState": "a-secret-of-this-connection"}]}))

    assert not forged.accepted and not forged.hints
    assert good.accepted and [(h.entity, h.remote_id) for h in good.hints] == [("invoice", "x")]


class Receiver:
    """arbridge's webhook URL, answering as its view does, keeping what it accepted."""

    def __init__(self) -> None:
        self.connector = None
        self.accepted: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.connector.receive(
            WebhookRequest(headers={}, body=request.content, query=dict(request.url.params))
        )
        if not answer.accepted:
            return httpx.Response(401)
        if answer.hints:
            self.accepted.append(request.content)
        return httpx.Response(200, text=answer.answer)


@pytest.fixture
def subscribed(clock):
    receiver = Receiver()
    app = create_app(
        clock=clock,
        webhook_interval=None,
        http=httpx.Client(transport=httpx.MockTransport(receiver)),
    )
    account = "/".join(app.store.add_company(name="Acme IT"))
    bc = connect(app, account, runtime=Runtime(sleep=lambda s: None, clock=clock))
    receiver.connector = bc
    return app, Books(app, account), bc, receiver


def test_a_subscription_is_renewed_before_its_three_days_run_out(subscribed, clock):
    app, books, bc, receiver = subscribed
    first = bc.subscribe("http://arbridge.test/webhooks/business_central/7")
    made = {s["subscriptionId"]: s["expirationDateTime"] for s in books.subscriptions()}

    clock.advance(hours=12)
    assert bc.subscribe("http://arbridge.test/webhooks/business_central/7") == first
    clock.advance(hours=20)  # 32 hours in: less than two days left
    assert bc.subscribe("http://arbridge.test/webhooks/business_central/7") == first

    rows = books.subscriptions()
    assert all(row["expirationDateTime"] > made[row["subscriptionId"]] for row in rows)
    assert app.notifier.handshakes == 6  # three made, three renewed


def test_a_lapsed_subscription_sends_nothing_and_a_pull_catches_up(subscribed, clock):
    app, books, bc, receiver = subscribed
    bc.subscribe("http://arbridge.test/webhooks/business_central/7")
    customer = books.customer("Globex", "ap@globex.example")
    replica = Replica()
    replica.sync(bc)
    app.flush_webhooks()
    receiver.accepted.clear()

    clock.advance(days=4)
    missed = books.invoice(customer, "55.00")
    app.flush_webhooks()
    assert receiver.accepted == []
    replica.sync(bc)
    bc.subscribe("http://arbridge.test/webhooks/business_central/7")
    books.invoice(customer, "66.00")
    app.flush_webhooks()

    assert replica.record("invoice", missed["id"]).total == Decimal("55.00")
    assert receiver.accepted, "the renewed subscription sends again"


def test_a_collection_notification_reads_the_list_by_change(bc, books, account, clock):
    customer = books.customer("Globex", "ap@globex.example")
    before = books.invoice(customer, "10.00")
    clock.advance(minutes=10)
    after = books.invoice(customer, "20.00")
    company = account.split("/")[2]
    note = {
        "subscriptionId": "s",
        "clientState": "a-secret-of-this-connection",
        "resource": f"/api/v2.0/companies({company})/salesInvoices",
        "changeType": "collection",
        "lastModifiedDateTime": clock.now.isoformat(),
    }

    [hint] = bc.hints(json.dumps({"value": [note]}).encode())
    read = {c.remote_id for c in bc.fetch(hint.entity, [hint.remote_id])}

    assert hint.entity == "invoice" and hint.remote_id.startswith("collection:")
    assert after["id"] in read and before["id"] not in read
