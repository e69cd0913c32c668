"""The Xero connector against its sandbox: what a partner's books look like in arbridge."""

from decimal import Decimal

import pytest

from arbridge.connectors.base import Command, Config, Cursor, Op, PermanentError, RetryableError
from arbridge.connectors.xero import XeroConnector
from arbridge.connectors.xero.client import RateLimited
from arbridge.sandbox.xero import create_app, seed
from tests.connectors.contract import Replica, payment_command
from tests.connectors.xero.books import ROOT, MemoryTokenStore, connect


def synced(connector) -> Replica:
    replica = Replica()
    replica.sync(connector)
    return replica


# -- reading ----------------------------------------------------------------------------


def test_invoices_are_read_with_their_lines_and_only_sales(books, xero):
    client = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(client, "100.00", "25.50")
    bill = books.invoice(client, "40.00", Type="ACCPAY")
    draft = books.invoice(client, "70.00", Status="DRAFT")

    replica = synced(xero)

    record = replica.record("invoice", invoice["InvoiceID"])
    assert record.number == invoice["InvoiceNumber"]
    assert record.customer_remote_id == client["ContactID"]
    assert record.total == record.balance == Decimal("125.50")
    assert [line.amount for line in record.lines] == [Decimal("100.00"), Decimal("25.50")]
    assert record.lines[0].description == "Managed services, line 1"
    assert str(record.issue_date) == "2026-03-01" and str(record.due_date) == "2026-03-31"
    assert not record.has_pdf
    assert replica.record("invoice", bill["InvoiceID"]) is None
    assert replica.record("invoice", draft["InvoiceID"]) is None


def test_billing_contacts_are_the_primary_person_and_those_included_in_emails(books, xero):
    persons = [
        {
            "FirstName": "Pat",
            "LastName": "Owner",
            "EmailAddress": "pat@cedar.example",
            "IncludeInEmails": True,
        },
        {
            "FirstName": "Sam",
            "LastName": "Tech",
            "EmailAddress": "sam@cedar.example",
            "IncludeInEmails": False,
        },
    ]
    client = books.contact(
        "Cedar Law",
        "ap@cedar.example",
        FirstName="Alex",
        LastName="Books",
        ContactPersons=persons,
        Addresses=[{"AddressType": "POBOX", "Region": "OR", "Country": "United States"}],
    )
    id = client["ContactID"]

    replica = synced(xero)

    customer = replica.record("customer", id)
    assert (customer.name, customer.email) == ("Cedar Law", "ap@cedar.example")
    assert (customer.billing_state, customer.billing_country) == ("OR", "US")
    contacts = {
        key[1]: record.email
        for key, (op, record) in replica.state().items()
        if key[0] == "contact" and op == Op.UPSERT
    }
    assert contacts == {f"{id}:primary": "ap@cedar.example", f"{id}:0": "pat@cedar.example"}
    assert replica.record("contact", f"{id}:primary").name == "Alex Books"


def test_credit_notes_and_payments_in_xero_reduce_balances(books, xero):
    client = books.contact("Harbor Logistics", "ap@harbor.example")
    invoice = books.invoice(client, "300.00")
    note = books.credit(invoice, "50.00")
    payment = books.pay(invoice, "100.00")

    replica = synced(xero)

    assert replica.record("invoice", invoice["InvoiceID"]).balance == Decimal("150.00")
    allocation = note["Allocations"][0]["AllocationID"]
    credit = replica.record("credit", allocation)
    assert (credit.invoice_remote_id, credit.amount) == (invoice["InvoiceID"], Decimal("50.00"))
    assert credit.reference == note["CreditNoteNumber"]
    paid = replica.record("payment", payment["PaymentID"])
    assert paid.amount == Decimal("100.00")
    assert paid.allocations[0].invoice_remote_id == invoice["InvoiceID"]
    assert paid.customer_remote_id == client["ContactID"]


def test_a_payment_deleted_in_xero_is_read_as_deleted(books, xero):
    invoice = books.invoice(books.contact("Atlas Freight"), "80.00")
    payment = books.pay(invoice, "80.00")
    replica = synced(xero)
    assert replica.record("invoice", invoice["InvoiceID"]).balance == 0

    books.update("Payments", payment["PaymentID"], Status="DELETED")
    replica.sync(xero)

    assert replica.is_deleted("payment", payment["PaymentID"])
    assert replica.record("invoice", invoice["InvoiceID"]).balance == Decimal("80.00")


def test_a_later_pull_reads_only_what_changed(sandbox, books, tenant, xero, clock):
    seed(sandbox.store, tenant, customers=5, invoices=250, lines_per_invoice=2)
    clock.advance(minutes=2)  # the pass re-reads its first minute
    replica = synced(xero)
    assert sum(1 for key in replica.changes if key[0] == "invoice") == 250
    clock.advance(minutes=10)
    changed = books.invoice(books.contact("Pioneer Realty"), "60.00")
    before = books.stats()["requests"]

    read = Replica()
    read.cursor = replica.cursor
    read.sync(xero)

    assert {key for key in read.changes if key[0] == "invoice"} == {
        ("invoice", changed["InvoiceID"])
    }
    assert books.stats()["requests"] - before == 4  # a page of each list


def test_the_organisation_is_picked_from_the_connections(sandbox, tenant):
    other = sandbox.store.add_org(name="Other MSP client")
    connector = connect(sandbox, tenant)
    unpicked = XeroConnector(Config(base_url=ROOT), connector.http)

    assert [t.id for t in unpicked.tenants()] == [tenant]
    with pytest.raises(PermanentError):
        list(unpicked.pull(None))
    stranger = XeroConnector(Config(base_url=ROOT, remote_account=other), connector.http)
    with pytest.raises(PermanentError):
        list(stranger.pull(None))


def test_accounts_are_the_active_ones_payments_marked(xero):
    accounts = {account.code: account for account in xero.accounts()}

    assert {"090", "091", "615"} <= set(accounts)
    assert accounts["200"].type == "REVENUE"
    assert accounts["090"].type == "BANK"


# -- tokens and limits ----------------------------------------------------------------


def test_a_token_that_expires_mid_sync_is_refreshed_and_saved_before_use(sandbox, books, tenant):
    seed(sandbox.store, tenant, customers=3, invoices=250)
    store = MemoryTokenStore()
    connector = connect(sandbox, tenant, store=store)
    first = store.token

    replica, pages = Replica(), 0
    for item in connector.pull(None):
        replica.apply([item])
        if isinstance(item, Cursor):
            pages += 1
            if pages == 2:
                books.faults(expire_tokens=True)

    assert sum(1 for key in replica.changes if key[0] == "invoice") == 250
    assert sandbox.store.auth.refreshes == 1
    assert len(store.saved) == 2
    rotated = store.saved[-1]
    assert rotated["refresh_token"] != first["refresh_token"]
    # The token in use is the one saved: the sandbox takes it.
    assert sandbox.store.auth.grant_of(rotated["access_token"]) is not None


def test_a_daily_limit_storm_pauses_the_sync_and_it_resumes_where_it_stopped(clock):
    sandbox = create_app(clock=clock, requests_per_day=5, concurrent_requests=100)
    tenant = sandbox.store.add_org(name="Acme IT")
    seed(sandbox.store, tenant, customers=150, invoices=420, paid_share=0, credited_share=0)
    connector = connect(sandbox, tenant)
    replica = Replica()

    # 5 calls: two pages of contacts, three of invoices; then every call is refused.
    for _ in range(3):
        with pytest.raises(RateLimited) as refused:
            for item in connector.pull(replica.cursor):
                replica.apply([item])
        assert refused.value.problem == "day"
        assert refused.value.retry_after > 3600
    assert replica.cursor.value["entity"] == "Invoices" and replica.cursor.value["page"] == 4
    held = sum(1 for key in replica.changes if key[0] == "invoice")
    assert held == 300

    clock.advance(days=1)
    replica.sync(connector)

    assert sum(1 for key in replica.changes if key[0] == "invoice") == 420
    assert sum(1 for key in replica.changes if key[0] == "customer") == 150
    stats = sandbox.limiter.stats[tenant]
    # Every page was read once: 2 of contacts, 5 of invoices, 1 of credit notes, 1 of payments.
    assert stats.requests - stats.throttled == 9


def test_a_minute_limit_429_is_waited_out(clock):
    sandbox = create_app(clock=clock, requests_per_minute=2, concurrent_requests=100)
    tenant = sandbox.store.add_org(name="Acme IT")
    seed(sandbox.store, tenant, customers=3, invoices=120)
    connector = connect(sandbox, tenant)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock.advance(seconds=seconds)

    connector.client.sleep = sleep
    replica = synced(connector)

    assert sum(1 for key in replica.changes if key[0] == "invoice") == 120
    assert waits and all(wait >= 1 for wait in waits)


# -- writing ----------------------------------------------------------------------------


def deposits_on(sandbox, tenant):
    return connect(
        sandbox,
        tenant,
        clearing_account_code="615",
        bank_account_code="090",
        fee_account_code="404",
        create_deposits=True,
    )


def test_payments_go_to_the_clearing_account_when_deposits_are_on(sandbox, books, tenant, xero):
    invoice = books.invoice(books.contact("Summit Clinics"), "100.00")

    off = xero.push(payment_command(invoice["InvoiceID"], Decimal("40.00"), "p:1"))
    on = deposits_on(sandbox, tenant).push(
        payment_command(invoice["InvoiceID"], Decimal("60.00"), "p:2")
    )

    assert books.read("Payments", off.remote_id)["Account"]["Code"] == "090"
    assert books.read("Payments", on.remote_id)["Account"]["Code"] == "615"
    assert books.read("Invoices", invoice["InvoiceID"])["Status"] == "PAID"


def test_a_write_back_repeated_with_its_key_writes_once(books, xero):
    invoice = books.invoice(books.contact("Lakeside Vets"), "100.00")
    command = payment_command(invoice["InvoiceID"], Decimal("100.00"), "payment:7:1")

    first, again = xero.push(command), xero.push(command)

    assert first == again
    assert len(books.payments_of(invoice["InvoiceID"])) == 1


def test_a_payment_of_two_invoices_is_two_xero_payments_deleted_together(books, xero):
    client = books.contact("Orchard Schools")
    a, b = books.invoice(client, "10.00"), books.invoice(client, "20.00")
    command = Command(
        "create_payment",
        {
            "payment_id": "9",
            "amount": "30.00",
            "date": "2026-03-02",
            "reference": "ACH",
            "allocations": [
                {"invoice_remote_id": a["InvoiceID"], "amount": "10.00"},
                {"invoice_remote_id": b["InvoiceID"], "amount": "20.00"},
            ],
        },
        "payment:9:1",
    )

    ref = xero.push(command)
    assert len(ref.remote_id.split(",")) == 2
    assert books.read("Invoices", b["InvoiceID"])["AmountDue"] == 0

    delete = Command("delete_payment", {"remote_id": ref.remote_id}, "delete:9")
    xero.push(delete)
    xero.push(delete)  # again: already deleted is deleted

    assert books.payments_of(a["InvoiceID"]) == books.payments_of(b["InvoiceID"]) == []
    assert books.read("Invoices", b["InvoiceID"])["AmountDue"] == Decimal("20.00")


def test_a_payment_over_what_is_due_is_refused(books, xero):
    invoice = books.invoice(books.contact("Beacon CPA"), "50.00")

    with pytest.raises(PermanentError, match="exceeds"):
        xero.push(payment_command(invoice["InvoiceID"], Decimal("60.00"), "p:over"))


def payout(payments, payout, fees, key="payout:1"):
    body = {
        "deposit_id": "po_1",
        "date": "2026-03-04",
        "payout": payout,
        "fees": fees,
        "payments": [{"remote_id": ref.remote_id, "amount": amount} for ref, amount in payments],
    }
    return Command("create_deposit", body, key)


def test_a_payout_is_a_transfer_and_a_fee_spend_summing_to_it(sandbox, books, tenant):
    connector = deposits_on(sandbox, tenant)
    client = books.contact("Northwind Traders")
    paid = []
    for n, amount in enumerate(("100.00", "250.00")):
        invoice = books.invoice(client, amount)
        command = payment_command(invoice["InvoiceID"], Decimal(amount), f"p:{n}")
        paid.append((connector.push(command), amount))
    command = payout(paid, "339.55", "10.45")

    ref = connector.push(command)
    assert connector.push(command) == ref  # repeated: nothing more written

    transfer = books.read("BankTransfers", ref.remote_id)
    spend = books.read("BankTransactions", ref.remote_version)
    assert (transfer["FromBankAccount"]["Code"], transfer["ToBankAccount"]["Code"]) == (
        "615",
        "090",
    )
    assert transfer["Amount"] == Decimal("339.55")
    assert (spend["Type"], spend["BankAccount"]["Code"]) == ("SPEND", "615")
    assert spend["LineItems"][0]["AccountCode"] == "404"
    assert transfer["Amount"] + spend["Total"] == Decimal("350.00")
    assert sandbox.store.balance(tenant, "615") == 0
    assert sandbox.store.balance(tenant, "090") == Decimal("339.55")
    assert len(books.list("BankTransfers")) == 1 and len(books.list("BankTransactions")) == 1


def test_a_payout_that_does_not_add_up_writes_nothing(sandbox, books, tenant):
    connector = deposits_on(sandbox, tenant)
    invoice = books.invoice(books.contact("Cedar Law"), "100.00")
    paid = connector.push(payment_command(invoice["InvoiceID"], Decimal("100.00"), "p:1"))

    with pytest.raises(PermanentError, match="add up"):
        connector.push(payout([(paid, "100.00")], "97.00", "2.00"))

    assert books.list("BankTransfers") == [] and books.list("BankTransactions") == []


def test_writes_fail_retryably_while_xero_fails(books, xero):
    invoice = books.invoice(books.contact("Bluebird Dental"), "100.00")
    books.faults(error_rate=1.0, error_kinds=["503"])

    with pytest.raises(RetryableError):
        xero.push(payment_command(invoice["InvoiceID"], Decimal("100.00"), "p:503"))


class FlakyStore(MemoryTokenStore):
    """A token store that fails to save this many times, when told to."""

    failures = 0

    def save(self, token):
        if self.failures:
            self.failures -= 1
            raise OSError("the database is away")
        super().save(token)


def test_a_rotated_token_that_could_not_be_saved_is_not_used_until_it_is(sandbox, books, tenant):
    books.invoice(books.contact("Bluebird Dental"), "10.00")
    store = FlakyStore()
    connector = connect(sandbox, tenant, store=store)
    books.faults(expire_tokens=True)
    store.failures = 4  # more than a request's retries
    sent = sandbox.limiter.stats[tenant].requests

    with pytest.raises(RetryableError, match="could not be stored"):
        list(connector.pull(None))
    assert len(store.saved) == 1  # only the first token: the rotated one was not used
    # Nothing was sent with it: the sandbox refused only the expired token (401s go uncounted).
    assert sandbox.limiter.stats[tenant].requests == sent

    replica = synced(connector)

    assert sandbox.store.auth.refreshes == 1  # kept and saved, not refreshed again
    assert len(store.saved) == 2
    assert sum(1 for key in replica.changes if key[0] == "invoice") == 1
