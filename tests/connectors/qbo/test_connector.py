"""The QuickBooks Online connector against the sandbox: what is particular to QuickBooks.

What every connector must do is in tests/connectors/contract.py (run for
QuickBooks in test_contract.py); here are query pages of 1,000, CDC windows and
their 30 days, PDFs, accounts, and the write-back of payments and deposits.
"""

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import (
    Account,
    Change,
    Command,
    Cursor,
    Op,
    PermanentError,
    Rejected,
)
from arbridge.connectors.qbo.client import StaleObject
from tests.connectors.qbo.books import connect

T0 = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


def pull(qbo, cursor=None) -> tuple[list[Change], list[Cursor]]:
    changes, cursors = [], []
    for item in qbo.pull(cursor):
        assert not isinstance(item, Rejected), item.reason
        (cursors if isinstance(item, Cursor) else changes).append(item)
    return changes, cursors


def latest(changes: list[Change]) -> dict[tuple[str, str], Change]:
    return {(change.entity, change.remote_id): change for change in changes}


def read_ids(changes: list[Change], entity: str) -> set[str]:
    return {change.remote_id for change in changes if change.entity == entity}


def bulk_invoices(sandbox, realm: str, customer: dict, count: int) -> None:
    """Bill a customer `count` times, straight into the sandbox's store.

    Through the API, Intuit's throttle would make a bookkeeper wait minutes.
    """
    line = {
        "Amount": Decimal("45.00"),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"Qty": 1, "UnitPrice": Decimal("45.00")},
    }
    for _ in range(count):
        sandbox.store.create(
            realm, "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
        )


def payment_command(invoice: dict, amount: str, key: str = "payment:41:1") -> Command:
    return Command(
        "create_payment",
        {
            "entity": "payment",
            "local_id": 41,
            "payment_id": 41,
            "amount": amount,
            "currency": "USD",
            "date": "2026-03-02",
            "reference": "Visa 4242",
            "customer_remote_id": invoice["CustomerRef"]["value"],
            "allocations": [{"invoice_remote_id": invoice["Id"], "amount": amount}],
        },
        key,
    )


# -- full sync ----------------------------------------------------------------------


def test_a_full_sync_reads_customers_invoices_and_payments(books, qbo):
    net30 = books.find("Term", Name="Net 30")[0]
    bluebird = books.customer(
        "Bluebird Dental",
        "ap@bluebird.example",
        BillAddr={"City": "Austin", "CountrySubDivisionCode": "TX", "Country": "USA"},
    )
    invoice = books.invoice(
        bluebird,
        "100.00",
        "50.00",
        DocNumber="INV-7",
        TxnDate="2026-03-02",
        SalesTermRef={"value": net30["Id"]},
    )
    payment = books.pay(invoice, "30.00", PaymentRefNum="CHK 1042")

    changes, cursors = pull(qbo)

    records = latest(changes)
    customer = records["customer", bluebird["Id"]].record
    assert (customer.name, customer.email, customer.billing_state) == (
        "Bluebird Dental",
        "ap@bluebird.example",
        "TX",
    )
    assert records["contact", f"{bluebird['Id']}-billing"].record.email == "ap@bluebird.example"
    synced = records["invoice", invoice["Id"]].record
    assert (synced.number, synced.customer_remote_id) == ("INV-7", bluebird["Id"])
    assert (synced.terms, synced.due_date) == ("Net 30", dt.date(2026, 4, 1))
    assert (synced.total, synced.balance) == (Decimal("150.00"), Decimal("120.00"))
    assert [line.amount for line in synced.lines] == [Decimal("100.00"), Decimal("50.00")]
    received = records["payment", payment["Id"]].record
    assert (received.amount, received.reference) == (Decimal("30.00"), "CHK 1042")
    assert [(a.invoice_remote_id, a.amount) for a in received.allocations] == [
        (invoice["Id"], Decimal("30.00"))
    ]
    assert cursors[-1].value.keys() == {"since"}


def test_a_full_sync_reads_a_page_of_1000_per_request_and_checkpoints_each(
    sandbox, realm, books, qbo, time_machine
):
    time_machine.move_to(T0, tick=False)
    bulk_invoices(sandbox, realm, books.customer("Bluebird Dental"), 2500)
    before = books.requests()

    changes, cursors = pull(qbo)

    assert len(read_ids(changes, "invoice")) == 2500
    # Terms, customers and payments: a page each; invoices: 1000 + 1000 + 500.
    assert books.requests() - before == 6
    assert [c.value.get("entity") for c in cursors] == [
        "Term",
        "Customer",
        "Invoice",
        "Invoice",
        "Invoice",
        "Payment",
        None,
    ]
    # Changes made while the sync ran are read again by the next one.
    assert dt.datetime.fromisoformat(cursors[-1].value["since"]) < T0


def test_a_full_sync_resumes_after_its_last_checkpoint(sandbox, realm, books, qbo):
    bulk_invoices(sandbox, realm, books.customer("Bluebird Dental"), 2500)
    read = []
    for item in qbo.pull(None):
        if not isinstance(item, Cursor):
            read.append(item)
        elif len(read_ids(read, "invoice")) == 2000:
            checkpoint = item
            break  # the worker dies here

    resumed, cursors = pull(connect(sandbox, realm), checkpoint)

    assert not read_ids(read, "invoice") & read_ids(resumed, "invoice")
    assert len(read_ids(read, "invoice") | read_ids(resumed, "invoice")) == 2500
    assert cursors[-1].value.keys() == {"since"}


# -- changes since --------------------------------------------------------------------


def test_changes_since_the_last_sync_come_from_cdc(books, qbo):
    bluebird = books.customer("Bluebird Dental", "ap@bluebird.example")
    harbor = books.customer("Harbor Logistics", "ap@harbor.example")
    voided = books.invoice(bluebird, "100.00")
    deleted = books.invoice(bluebird, "200.00")
    paid = books.invoice(harbor, "300.00")
    refunded = books.pay(paid, "50.00")
    _, cursors = pull(qbo)

    books.void("Invoice", voided["Id"])
    books.delete("Invoice", deleted["Id"])
    books.delete("Payment", refunded["Id"])
    partial = books.pay(paid, "120.00")
    books.update("Customer", bluebird["Id"], DisplayName="Bluebird Dental Group")
    books.update("Customer", harbor["Id"], Active=False)
    changes, later = pull(qbo, cursors[-1])

    records = latest(changes)
    assert records["customer", bluebird["Id"]].record.name == "Bluebird Dental Group"
    assert records["customer", harbor["Id"]].op == Op.DELETE
    assert records["contact", f"{harbor['Id']}-billing"].op == Op.DELETE
    assert records["invoice", voided["Id"]].record.voided
    assert records["invoice", deleted["Id"]].op == Op.DELETE
    assert records["invoice", paid["Id"]].record.balance == Decimal("180.00")
    assert records["payment", refunded["Id"]].op == Op.DELETE
    assert records["payment", partial["Id"]].record.allocations[0].amount == Decimal("120.00")
    # Customers before the invoices that name them, invoices before their payments.
    order = {"customer": 0, "contact": 0, "invoice": 1, "payment": 2}
    ranks = [order[change.entity] for change in changes]
    assert ranks == sorted(ranks)
    assert [cursor.value.keys() for cursor in later] == [{"since"}]


def test_a_cursor_older_than_30_days_starts_a_full_sync(books, qbo, time_machine):
    time_machine.move_to(T0, tick=False)
    bluebird = books.customer("Bluebird Dental", "ap@bluebird.example")
    _, cursors = pull(qbo)

    time_machine.shift(dt.timedelta(days=29))
    books.update("Customer", bluebird["Id"], DisplayName="Bluebird Dental Group")
    changes, recent = pull(qbo, cursors[-1])
    assert all("entity" not in cursor.value for cursor in recent)
    assert latest(changes)["customer", bluebird["Id"]].record.name == "Bluebird Dental Group"

    time_machine.shift(dt.timedelta(days=2))
    books.update("Customer", bluebird["Id"], DisplayName="Bluebird Dental PLLC")
    # The access token expired a month ago: the connector refreshes it on the way.
    changes, full = pull(qbo, cursors[-1])
    assert [cursor.value.get("entity") for cursor in full][:2] == ["Term", "Customer"]
    assert latest(changes)["customer", bluebird["Id"]].record.name == "Bluebird Dental PLLC"


def test_a_full_cdc_response_is_read_in_two_windows(sandbox, realm, books, qbo, time_machine):
    time_machine.move_to(T0, tick=False)
    bluebird = books.customer("Bluebird Dental")
    _, cursors = pull(qbo)
    time_machine.shift(dt.timedelta(minutes=10))
    bulk_invoices(sandbox, realm, bluebird, 600)
    time_machine.shift(dt.timedelta(minutes=10))
    bulk_invoices(sandbox, realm, bluebird, 600)
    time_machine.shift(dt.timedelta(minutes=10))

    changes, windows = pull(qbo, cursors[-1])

    assert len(read_ids(changes, "invoice")) == 1200
    assert len(windows) == 2
    assert all(window.value.keys() == {"since"} for window in windows)


def test_more_changes_at_one_instant_than_cdc_holds_are_read_by_a_full_sync(
    sandbox, realm, books, qbo, time_machine
):
    time_machine.move_to(T0, tick=False)
    bluebird = books.customer("Bluebird Dental")
    _, cursors = pull(qbo)
    time_machine.shift(dt.timedelta(minutes=10))
    bulk_invoices(sandbox, realm, bluebird, 1100)

    changes, later = pull(qbo, cursors[-1])

    assert len(read_ids(changes, "invoice")) == 1100
    assert any(cursor.value.get("entity") == "Invoice" for cursor in later)
    assert later[-1].value.keys() == {"since"}


# -- webhook hints ------------------------------------------------------------------------


def test_hinted_objects_are_read_again_in_one_query(books, qbo):
    bluebird = books.customer("Bluebird Dental", "ap@bluebird.example")
    harbor = books.customer("Harbor Logistics")
    first, second = books.invoice(bluebird, "100.00"), books.invoice(bluebird, "200.00")
    gone = books.invoice(bluebird, "300.00")
    books.delete("Invoice", gone["Id"])
    books.update("Customer", harbor["Id"], Active=False)
    qbo.terms()
    before = books.requests()

    invoices = latest(qbo.fetch("Invoice", [first["Id"], second["Id"], gone["Id"]]))
    customers = latest(qbo.fetch("customer", [bluebird["Id"], harbor["Id"]]))

    assert books.requests() - before == 2
    assert invoices["invoice", second["Id"]].record.total == Decimal("200.00")
    assert invoices["invoice", gone["Id"]].op == Op.DELETE
    assert customers["customer", bluebird["Id"]].op == Op.UPSERT
    assert customers["customer", harbor["Id"]].op == Op.DELETE


def test_hints_for_entities_arbridge_does_not_sync_read_nothing(books, qbo):
    before = books.requests()

    assert list(qbo.fetch("Estimate", ["5"])) == []
    assert books.requests() == before


# -- PDFs and accounts ------------------------------------------------------------------


def test_an_invoice_pdf_is_quickbooks_own(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "100.00")

    assert qbo.pdf(invoice["Id"]).startswith(b"%PDF")


def test_accounts_list_what_the_preferences_offer(books, qbo):
    checking = books.account("Business Checking", "Bank", "Checking")
    books.account("Old Savings", "Bank", "Savings")
    books.update("Account", books.find("Account", Name="Old Savings")[0]["Id"], Active=False)

    accounts = {account.name: account for account in qbo.accounts()}

    assert accounts["Business Checking"] == Account(
        id=checking["Id"], name="Business Checking", type="Bank", subtype="Checking"
    )
    assert accounts["Undeposited Funds"].subtype == "UndepositedFunds"
    assert "Old Savings" not in accounts


# -- writing payments back --------------------------------------------------------------


def test_a_payment_taken_in_arbridge_is_written_once_per_key(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")

    first = qbo.push(payment_command(invoice, "150.00"))
    again = qbo.push(payment_command(invoice, "150.00"))

    assert first == again
    [payment] = books.find("Payment", CustomerRef=invoice["CustomerRef"]["value"])
    assert payment["Id"] == first.remote_id
    assert payment["Line"] == [
        {"Amount": Decimal("150.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    ]
    undeposited = books.find("Account", AccountSubType="UndepositedFunds")[0]
    assert payment["DepositToAccountRef"]["value"] == undeposited["Id"]
    assert books.read("Invoice", invoice["Id"])["Balance"] == 0


def test_a_long_idempotency_key_still_writes_once(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")
    key = "payment:" + "0" * 100

    assert qbo.push(payment_command(invoice, "50.00", key)) == qbo.push(
        payment_command(invoice, "50.00", key)
    )
    assert len(books.find("Payment", CustomerRef=invoice["CustomerRef"]["value"])) == 1


def test_a_payment_quickbooks_refuses_is_a_permanent_error(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")
    books.delete("Invoice", invoice["Id"])

    with pytest.raises(PermanentError, match="Invalid Reference"):
        qbo.push(payment_command(invoice, "150.00"))


def test_a_refund_deletes_the_payment_and_a_second_delete_is_done_too(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")
    written = qbo.push(payment_command(invoice, "150.00"))
    refund = Command("delete_payment", {"remote_id": written.remote_id}, "refund:41:1")

    assert qbo.push(refund).remote_id == written.remote_id
    assert qbo.push(refund).remote_id == written.remote_id
    assert books.find("Payment", CustomerRef=invoice["CustomerRef"]["value"]) == []
    assert books.read("Invoice", invoice["Id"])["Balance"] == Decimal("150.00")


class Meanwhile(httpx.BaseTransport):
    """QuickBooks, where a bookkeeper edits the payment just before each of our deletes lands."""

    def __init__(self, app, books, edits: int) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.books = books
        self.edits = edits
        self.deletes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("operation") == "delete":
            self.deletes += 1
            if self.deletes <= self.edits:
                id = request.read().decode().split('"Id":"')[1].split('"')[0]
                self.books.update("Payment", id, PrivateNote=f"checked ({self.deletes})")
        return self.inner.handle_request(request)


def test_a_payment_changed_meanwhile_is_read_again_and_deleted(sandbox, realm, books):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")
    meanwhile = Meanwhile(sandbox, books, edits=1)
    qbo = connect(sandbox, realm, transport=meanwhile)
    written = qbo.push(payment_command(invoice, "150.00"))

    qbo.push(Command("delete_payment", {"remote_id": written.remote_id}, "refund:41:1"))

    assert meanwhile.deletes == 2
    assert books.find("Payment", CustomerRef=invoice["CustomerRef"]["value"]) == []


def test_a_payment_that_keeps_changing_is_left_for_a_person(sandbox, realm, books):
    invoice = books.invoice(books.customer("Bluebird Dental"), "150.00")
    meanwhile = Meanwhile(sandbox, books, edits=10)
    qbo = connect(sandbox, realm, transport=meanwhile)
    written = qbo.push(payment_command(invoice, "150.00"))

    with pytest.raises(StaleObject):
        qbo.push(Command("delete_payment", {"remote_id": written.remote_id}, "refund:41:1"))
    assert meanwhile.deletes == 3
    assert len(books.find("Payment", CustomerRef=invoice["CustomerRef"]["value"])) == 1


# -- deposits ---------------------------------------------------------------------------


@pytest.fixture
def payout(books, qbo) -> dict:
    """Two payments taken in arbridge and written back, and the accounts a payout needs."""
    bluebird = books.customer("Bluebird Dental")
    first, second = books.invoice(bluebird, "100.00"), books.invoice(bluebird, "50.00")
    payments = [
        qbo.push(payment_command(first, "100.00", "payment:41:1")),
        qbo.push(payment_command(second, "50.00", "payment:42:1")),
    ]
    return {
        "bank": books.account("Business Checking", "Bank", "Checking"),
        "fees": books.account("Merchant Fees", "Expense", "BankCharges"),
        "payload": {
            "deposit_id": 7,
            "date": "2026-03-04",
            "currency": "USD",
            "payments": [
                {"remote_id": payments[0].remote_id, "amount": "100.00"},
                {"remote_id": payments[1].remote_id, "amount": "50.00"},
            ],
            "fees": "4.65",
            "payout": "145.35",
        },
    }


def test_a_payout_becomes_a_deposit_of_its_payments_less_fees(books, qbo, payout):
    payload = {
        **payout["payload"],
        "deposit_account_id": payout["bank"]["Id"],
        "fee_account_id": payout["fees"]["Id"],
    }

    written = qbo.push(Command("create_deposit", payload, "payout:7:1"))
    again = qbo.push(Command("create_deposit", payload, "payout:7:1"))

    assert written == again
    deposit = books.read("Deposit", written.remote_id)
    assert deposit["TotalAmt"] == Decimal("145.35")
    assert sum(line["Amount"] for line in deposit["Line"]) == Decimal("145.35")
    [fee] = [line for line in deposit["Line"] if "DepositLineDetail" in line]
    assert fee["Amount"] == Decimal("-4.65")
    assert fee["DepositLineDetail"]["AccountRef"]["value"] == payout["fees"]["Id"]
    assert books.read("Account", payout["bank"]["Id"])["CurrentBalance"] == Decimal("145.35")
    undeposited = books.find("Account", AccountSubType="UndepositedFunds")[0]
    assert undeposited["CurrentBalance"] == 0


def test_a_deposit_goes_to_the_preferred_accounts(sandbox, realm, books, payout):
    qbo = connect(
        sandbox,
        realm,
        deposit_account_id=payout["bank"]["Id"],
        fee_account_id=payout["fees"]["Id"],
        create_deposits=True,
    )

    written = qbo.push(Command("create_deposit", payout["payload"], "payout:7:1"))

    deposit = books.read("Deposit", written.remote_id)
    assert deposit["DepositToAccountRef"]["value"] == payout["bank"]["Id"]


def test_a_deposit_that_does_not_add_up_to_the_payout_is_not_sent(books, qbo, payout):
    payload = {
        **payout["payload"],
        "payout": "150.00",
        "deposit_account_id": payout["bank"]["Id"],
        "fee_account_id": payout["fees"]["Id"],
    }

    with pytest.raises(PermanentError, match="add up"):
        qbo.push(Command("create_deposit", payload, "payout:7:1"))
    assert books.query("select * from Deposit") == []


def test_an_expired_access_token_is_refreshed(books, qbo):
    books.customer("Bluebird Dental")
    books.faults(expire_tokens=True)

    changes, _ = pull(qbo)

    assert read_ids(changes, "customer")


def test_a_command_missing_what_it_needs_is_a_permanent_error(qbo):
    with pytest.raises(PermanentError, match="remote_id"):
        qbo.push(Command("delete_payment", {}, "refund:41:1"))
