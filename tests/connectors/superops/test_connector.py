"""The SuperOps connector against its sandbox: what a partner's books look like in arbridge."""

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import (
    AuthError,
    Command,
    Config,
    Cursor,
    Op,
    PermanentError,
    RetryableError,
)
from arbridge.connectors.superops import Credentials, SuperOps
from arbridge.connectors.superops.connector import payment_reference
from arbridge.sandbox.common.faults import Faults
from arbridge.sandbox.superops import SUBDOMAIN, TOKEN, create_app
from tests.connectors.contract import Replica, payment_command, push_until_done
from tests.connectors.superops.conftest import ENDPOINT, Sleeps, connect


def books(sandbox, *, billing=True):
    store = sandbox.store
    person = {"firstName": "Ada", "lastName": "Ledger", "email": "ada@bluebird.example"}
    client = store.client(SUBDOMAIN, "Bluebird Dental", email="ap@bluebird.example",
                          billing=person if billing else None)  # fmt: skip
    invoice = store.invoice(
        SUBDOMAIN, client["accountId"],
        [("Managed services", 2, "150.00"), ("Backup", 1, "45.50")],
        number="INV-1001", issued=dt.date(2026, 3, 1), due=dt.date(2026, 3, 31),
    )  # fmt: skip
    return client, invoice


def test_every_call_carries_the_token_and_the_subdomain(sandbox):
    seen = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.WSGITransport(app=sandbox).handle_request(request)

    config = Config(base_url=ENDPOINT, credentials={"token": TOKEN, "subdomain": SUBDOMAIN})
    connector = SuperOps(config, httpx.Client(transport=httpx.MockTransport(spy)))
    list(connector.pull(None))
    assert seen
    for request in seen:
        assert request.method == "POST" and request.url.path == "/msp"
        assert request.headers["Authorization"] == "Bearer sandbox-superops-token"
        assert request.headers["CustomerSubDomain"] == SUBDOMAIN


def test_an_invoice_comes_with_its_lines_and_its_client_with_the_billing_contact(
    sandbox, connector
):
    client, invoice = books(sandbox)
    replica = Replica()
    replica.sync(connector)

    customer = replica.record("customer", client["accountId"])
    assert (customer.name, customer.email) == ("Bluebird Dental", "ap@bluebird.example")
    contact = replica.record("contact", client["accountId"])
    assert (contact.name, contact.email, contact.is_billing) == (
        "Ada Ledger", "ada@bluebird.example", True,
    )  # fmt: skip
    record = replica.record("invoice", invoice["invoiceId"])
    assert record.number == "INV-1001"
    assert record.customer_remote_id == client["accountId"]
    assert (record.issue_date, record.due_date) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert record.total == record.balance == Decimal("345.50")
    assert [(line.description, line.quantity, line.amount) for line in record.lines] == [
        ("Managed services", Decimal(2), Decimal("300.00")),
        ("Backup", Decimal(1), Decimal("45.50")),
    ]
    assert record.has_pdf is False  # arbridge renders SuperOps invoices' PDFs


def test_a_client_without_a_billing_contact_falls_back_to_its_primary_contact(sandbox, connector):
    client, _ = books(sandbox, billing=False)
    replica = Replica()
    replica.sync(connector)
    assert replica.record("contact", client["accountId"]) is None

    primary = {"userId": "7777", "firstName": "Pat", "lastName": "Owner", "email": "pat@x.example"}
    sandbox.store.update_client(SUBDOMAIN, client["accountId"], primaryContact=primary)
    replica.sync(connector)
    assert replica.record("contact", client["accountId"]).email == "pat@x.example"

    sandbox.store.update_client(SUBDOMAIN, client["accountId"], primaryContact=None)
    replica.sync(connector)
    assert replica.is_deleted("contact", client["accountId"])


def test_money_settled_in_superops_and_a_void_reach_arbridge_as_the_balance(sandbox, connector):
    client, invoice = books(sandbox)
    replica = Replica()
    replica.sync(connector)
    sandbox.store.record_payment(SUBDOMAIN, {
        "invoice": {"invoiceId": invoice["invoiceId"]}, "amount": "100.00",
        "paymentDate": "2026-03-05",
    })  # fmt: skip
    replica.sync(connector)
    assert replica.record("invoice", invoice["invoiceId"]).balance == Decimal("245.50")

    sandbox.store.void_invoice(SUBDOMAIN, invoice["invoiceId"])
    replica.sync(connector)
    voided = replica.record("invoice", invoice["invoiceId"])
    assert voided.voided and voided.balance == 0


def test_a_pull_after_the_first_asks_only_for_what_changed(sandbox, connector):
    client, invoice = books(sandbox)
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    client["updatedTime"] = invoice["updatedTime"] = yesterday
    replica = Replica()
    replica.sync(connector)
    assert replica.cursor.value["invoices"]["since"]
    assert replica.sync(connector) == []  # nothing changed since: nothing read
    sandbox.store.update_client(SUBDOMAIN, client["accountId"], name="Bluebird Dental Group")
    assert [
        (c.entity, c.record.name) for c in replica.sync(connector) if c.entity != "contact"
    ] == [("customer", "Bluebird Dental Group")]


def test_a_full_read_resumes_from_its_last_page(sandbox):
    client, _ = books(sandbox)
    for number in range(250):
        sandbox.store.invoice(SUBDOMAIN, client["accountId"], [("Support", 1, "10.00")],
                              number=f"N-{number}")  # fmt: skip
    connector = connect(sandbox)
    items = connector.pull(None)
    cursors = [item for item in items if isinstance(item, Cursor)]
    # clients: one page and its end; invoices: 3 pages of 100 and the end.
    assert [c.value["invoices"].get("page") for c in cursors if "invoices" in c.value] == [
        2, 3, 4, None,
    ]  # fmt: skip
    replica = Replica()
    replica.cursor = cursors[-3]  # stopped after the invoices' second page
    read = replica.sync(connect(sandbox))
    assert len([c for c in read if c.entity == "invoice"]) == 51


def test_throttling_is_waited_out_as_retry_after_asks():
    sandbox = create_app(requests_per_window=2)
    sandbox.store.client(SUBDOMAIN, "Harbor Logistics")
    sleeps = Sleeps()
    connector = connect(sandbox, sleeps)
    with pytest.raises(RetryableError) as raised:
        for _ in range(3):
            list(connector.pull(None))
    assert "429" in str(raised.value)
    assert sleeps.waits and all(wait >= 1 for wait in sleeps.waits)


def test_a_wrong_token_is_an_auth_error(sandbox):
    with pytest.raises(AuthError):
        list(connect(sandbox, token="not-the-token").pull(None))


def test_a_payment_is_recorded_on_its_invoice_with_arbridges_reference(sandbox, connector):
    _, invoice = books(sandbox)
    command = payment_command(invoice["invoiceId"], Decimal("100.00"), "payment:7:1")
    ref = push_until_done(connector, command)

    payments = sandbox.store.account(SUBDOMAIN).invoices[invoice["invoiceId"]]["payments"]
    assert [(p["paymentId"], p["amount"], p["reference"]) for p in payments] == [
        (ref.remote_id, "100.00", payment_reference("payment:7:1")),
    ]
    assert sandbox.store.account(SUBDOMAIN).invoices[invoice["invoiceId"]]["amountDue"] == "245.50"


def test_a_reversal_deletes_the_payment_once_and_again_is_harmless(sandbox, connector):
    _, invoice = books(sandbox)
    ref = connector.push(payment_command(invoice["invoiceId"], Decimal("45.50"), "payment:8:1"))
    delete = Command("delete_payment", {"remote_id": ref.remote_id}, "payment:8:delete")
    connector.push(delete)
    connector.push(delete)
    stored = sandbox.store.account(SUBDOMAIN).invoices[invoice["invoiceId"]]
    assert stored["payments"] == [] and stored["amountDue"] == "345.50"


def test_a_payment_on_a_void_invoice_is_refused(sandbox, connector):
    _, invoice = books(sandbox)
    sandbox.store.void_invoice(SUBDOMAIN, invoice["invoiceId"])
    with pytest.raises(PermanentError, match="void"):
        connector.push(payment_command(invoice["invoiceId"], Decimal("10"), "payment:9:1"))


def test_fetch_reads_records_by_id_and_a_gone_one_is_a_delete(sandbox, connector):
    client, invoice = books(sandbox)
    [read] = connector.fetch("invoice", [invoice["invoiceId"]])
    assert read.record.total == Decimal("345.50")
    sandbox.store.delete_invoice(SUBDOMAIN, invoice["invoiceId"])
    [gone] = connector.fetch("invoice", [invoice["invoiceId"]])
    assert gone.op == Op.DELETE
    [contact] = connector.fetch("contact", [client["accountId"]])
    assert contact.record.email == "ada@bluebird.example"


@pytest.mark.parametrize("subdomain", ["acme", "https://acme.superops.ai", " ACME "])
def test_the_subdomain_is_kept_bare(subdomain):
    credentials = Credentials(subdomain=subdomain, token="t")
    assert credentials.stored() == {"subdomain": "acme", "token": "t", "region": "us"}


def test_a_429_storm_ends_in_the_same_state_as_a_clean_run(sandbox):
    client, _ = books(sandbox)
    for number in range(150):
        sandbox.store.invoice(SUBDOMAIN, client["accountId"], [("Support", 1, f"{number}.10")])
    clean = Replica()
    clean.sync(connect(sandbox))
    faults = {"error_rate": 0.6, "error_kinds": ["429"], "seed": 16}
    sandbox.limiter.configure(Faults.from_json(faults))

    stormy = Replica()
    stormy.sync(connect(sandbox))

    assert stormy.state() == clean.state()
    assert sandbox.limiter.report()["subdomains"][SUBDOMAIN]["throttled"] > 0


def test_a_payment_whose_answers_time_out_is_recorded_once(sandbox):
    _, invoice = books(sandbox)
    sandbox.limiter.configure(
        Faults.from_json({"error_rate": 0.7, "error_kinds": ["timeout"], "timeout_ms": 0,
                          "seed": 3})
    )  # fmt: skip
    command = payment_command(invoice["invoiceId"], Decimal("345.50"), "payment:12:1")

    push_until_done(connect(sandbox), command)

    payments = sandbox.store.account(SUBDOMAIN).invoices[invoice["invoiceId"]]["payments"]
    assert [p["amount"] for p in payments] == ["345.50"]
