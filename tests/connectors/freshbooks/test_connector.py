"""The FreshBooks connector against its sandbox: what a partner's books look like in arbridge."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.connectors.base import Command, Cursor, PermanentError, RetryableError
from arbridge.connectors.freshbooks.client import parse_stamp, stamp
from arbridge.sandbox.freshbooks import seed
from arbridge.sandbox.freshbooks.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.contract import Replica, payment_command
from tests.connectors.freshbooks.books import MemoryTokenStore, connect


def changes(connector, cursor=None):
    return [item for item in connector.pull(cursor) if not isinstance(item, Cursor)]


def test_a_full_sync_brings_invoices_with_lines_and_billing_contacts(freshbooks, books):
    client = books.client(
        "Cedar Law",
        "ap@cedar.example",
        fname="Ada",
        lname="Park",
        p_province="WA",
        p_country="United States",
        contacts=[
            {"fname": "Pat", "lname": "Lee", "email": "pat@cedar.example"},
            {"fname": "No", "lname": "Email", "email": ""},
        ],
    )
    invoice = books.invoice(client, "100.00", "50.50", notes="March")

    replica = Replica()
    replica.sync(freshbooks)

    customer = replica.record("customer", str(client["id"]))
    assert (customer.name, customer.billing_state, customer.billing_country) == (
        "Cedar Law",
        "WA",
        "US",
    )
    contacts = sorted(
        c.record.email for c in replica.changes.values() if c.entity == "contact" and c.record
    )
    assert contacts == ["ap@cedar.example", "pat@cedar.example"]
    record = replica.record("invoice", str(invoice["id"]))
    assert (record.number, record.total, record.balance) == (
        invoice["invoice_number"],
        Decimal("150.50"),
        Decimal("150.50"),
    )
    assert [line.amount for line in record.lines] == [Decimal("100.00"), Decimal("50.50")]
    assert record.due_date.isoformat() == "2026-03-31" and record.memo == "March"


def test_payments_and_credits_made_in_freshbooks_reduce_the_balance(freshbooks, books):
    invoice = books.invoice(books.client("Globex", "ap@globex.example"), "300.00")
    paid = books.pay(invoice, "100.00")
    credited = books.credit(invoice, "50.00")

    replica = Replica()
    replica.sync(freshbooks)

    record = replica.record("invoice", str(invoice["id"]))
    payment = replica.record("payment", str(paid["id"]))
    credit = replica.record("credit", str(credited["id"]))
    assert record.balance == Decimal("150.00")
    assert [(a.invoice_remote_id, a.amount) for a in payment.allocations] == [
        (str(invoice["id"]), Decimal("100.00"))
    ]
    assert (credit.invoice_remote_id, credit.amount) == (str(invoice["id"]), Decimal("50.00"))
    assert replica.record("payment", str(credited["id"])) is None


def test_a_payment_deleted_in_freshbooks_is_deleted_in_arbridge(freshbooks, books, clock):
    invoice = books.invoice(books.client("Globex"), "80.00")
    paid = books.pay(invoice, "80.00")
    replica = Replica()
    replica.sync(freshbooks)
    clock.advance(minutes=5)

    books.delete_payment(paid["id"])
    replica.sync(freshbooks)

    assert replica.is_deleted("payment", str(paid["id"]))
    assert replica.record("invoice", str(invoice["id"])).balance == Decimal("80.00")


def test_drafts_are_not_read_and_deleted_invoices_are_not_read_in_full(freshbooks, books):
    client = books.client("Globex")
    draft = books.invoice(client, "10.00", status=1)
    gone = books.invoice(client, "20.00")
    books.delete_invoice(gone["id"])

    replica = Replica()
    replica.sync(freshbooks)

    assert ("invoice", str(draft["id"])) not in replica.changes
    assert ("invoice", str(gone["id"])) not in replica.changes


def test_a_pull_from_the_cursor_asks_only_for_what_changed_since(freshbooks, books, clock):
    client = books.client("Globex")
    books.invoice(client, "10.00")
    clock.advance(minutes=5)  # the next pass re-reads the minute before this one began
    replica = Replica()
    replica.sync(freshbooks)
    clock.advance(minutes=10)
    changed = books.invoice(client, "25.00")

    read = replica.sync(freshbooks)

    assert [(c.entity, c.remote_id) for c in read] == [("invoice", str(changed["id"]))]


def test_pages_of_100_with_a_checkpoint_after_each_resume_where_they_stopped(
    sandbox, account, freshbooks, books
):
    seed(sandbox.store, account, customers=3, invoices=250, paid_share=0)
    items = list(freshbooks.pull(None))
    invoices = [i for i in items if getattr(i, "entity", "") == "invoice"]
    checkpoints = [i for i in items if isinstance(i, Cursor)]
    middle = next(
        c for c in checkpoints if c.value.get("entity") == "invoices" and c.value["page"] == 3
    )

    resumed = [i for i in freshbooks.pull(middle) if getattr(i, "entity", "") == "invoice"]

    assert len(invoices) == 250
    assert len(resumed) == 50  # page 3 and on
    assert {c.remote_id for c in resumed} <= {c.remote_id for c in invoices}


def test_the_rate_limit_s_429_is_waited_out_and_the_sync_ends_whole(account, sandbox, books):
    seed(sandbox.store, account, customers=5, invoices=420, paid_share=0.3)
    sandbox.limiter.per_window = 3  # three calls a minute for this test
    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        sandbox.store.skew += dt.timedelta(seconds=seconds)

    connector = connect(sandbox, account)
    connector.client.sleep = sleep
    replica = Replica()
    replica.sync(connector)

    invoices = [k for k in replica.changes if k[0] == "invoice"]
    assert len(invoices) == 420
    assert slept and all(s >= 1 for s in slept)  # Retry-After, waited
    assert books.stats()["throttled"] > 0


def test_a_storm_of_429s_ends_in_the_state_of_a_clean_run(account, sandbox, books):
    seed(sandbox.store, account, customers=4, invoices=230, paid_share=0.3, credited_share=0.2)
    clean = Replica()
    clean.sync(connect(sandbox, account))

    books.faults(error_rate=0.6, error_kinds=["429"], seed=7)
    stormy = Replica()
    stormy.sync(connect(sandbox, account))

    assert books.stats()["throttled"] > 10
    assert stormy.state() == clean.state()


def test_a_refresh_token_works_once_and_the_new_one_is_saved_before_use(sandbox, account, books):
    store = MemoryTokenStore()
    connector = connect(sandbox, account, store=store)
    used = store.token["refresh_token"]
    books.control.post("/_sandbox/faults", json={"expire_tokens": True}).raise_for_status()

    assert changes(connector) == []  # the expired access token is refreshed on the way

    assert sandbox.store.auth.refreshes == 1
    assert store.saved[-1]["refresh_token"] not in ("", used)
    again = books.control.post(
        "/auth/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": used,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_the_account_is_picked_from_the_businesses_the_consent_reaches(sandbox, account):
    other = sandbox.store.add_account(name="Acme Holdings")
    connector = connect(sandbox, account)

    reached = {t.id: t.name for t in connector.tenants()}

    assert reached == {account: "Acme IT"}
    assert other not in reached


def test_a_payment_of_two_invoices_is_two_freshbooks_payments_and_deleted_together(
    freshbooks, books
):
    client = books.client("Globex")
    first, second = books.invoice(client, "40.00"), books.invoice(client, "60.00")
    command = Command(
        "create_payment",
        {
            "payment_id": "p9",
            "amount": "100.00",
            "currency": "USD",
            "date": "2026-03-02",
            "method": "card",
            "reference": "Visa 4242",
            "allocations": [
                {"invoice_remote_id": str(first["id"]), "amount": "40.00"},
                {"invoice_remote_id": str(second["id"]), "amount": "60.00"},
            ],
        },
        "payment:9:1",
    )

    ref = freshbooks.push(command)
    again = freshbooks.push(command)

    assert ref == again and len(ref.remote_id.split(",")) == 2
    [paid] = books.payments_of(first["id"])
    assert (paid["type"], paid["amount"]["amount"]) == ("Credit Card", "40.00")
    assert "Visa 4242" in paid["note"]
    assert books.read_invoice(second["id"])["outstanding"]["amount"] == "0.00"

    freshbooks.push(Command("delete_payment", {"remote_id": ref.remote_id}, "delete:9"))
    freshbooks.push(Command("delete_payment", {"remote_id": ref.remote_id}, "delete:9"))

    assert books.payments_of(first["id"]) == books.payments_of(second["id"]) == []
    assert books.read_invoice(first["id"])["outstanding"]["amount"] == "40.00"


def test_deposits_are_not_a_command_freshbooks_takes(freshbooks):
    with pytest.raises(PermanentError):
        freshbooks.push(Command("create_deposit", {"deposit_id": 1}, "deposit:1"))


def test_a_sandbox_down_for_good_is_retryable(freshbooks, books):
    books.invoice(books.client("Globex"), "5.00")
    books.faults(error_rate=1.0, error_kinds=["503"])

    with pytest.raises(RetryableError):
        freshbooks.push(payment_command("1", Decimal("5"), "k"))


def test_freshbooks_times_are_us_eastern():
    moment = parse_stamp("2026-03-02 12:00:00")

    assert moment.isoformat() == "2026-03-02T17:00:00+00:00"
    assert stamp(moment) == "2026-03-02 12:00:00"


def test_a_refusal_reads_in_freshbooks_own_words(freshbooks, books):
    invoice = books.invoice(books.client("Globex"), "20.00")
    books.delete_invoice(invoice["id"])

    with pytest.raises(PermanentError) as refused:
        freshbooks.push(payment_command(str(invoice["id"]), Decimal("20.00"), "p:1"))

    assert refused.value.status == 422
    assert "A payment needs a live invoice that was sent. (invoiceid)" in str(refused.value)


class FlakyTokenStore(MemoryTokenStore):
    """A token store whose next save fails once, as a database that is briefly away."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    def save(self, token):
        if self.fail_next:
            self.fail_next = False
            raise OSError("the database is away")
        super().save(token)


def test_a_rotated_token_that_could_not_be_saved_is_not_used_and_not_lost(sandbox, account, books):
    store = FlakyTokenStore()
    connector = connect(sandbox, account, store=store)
    books.invoice(books.client("Globex"), "10.00")
    books.control.post("/_sandbox/faults", json={"expire_tokens": True}).raise_for_status()
    store.fail_next = True

    # Refreshed, but the new refresh token could not be stored, so it is not used:
    # the call is retried, the kept token stored first, then used.
    read = changes(connector)

    assert not store.fail_next  # the failed save happened
    assert sandbox.store.auth.refreshes == 1  # the single-use token was spent once, not lost
    assert [c.entity for c in read].count("invoice") == 1
    assert (
        store.token == store.saved[-1] and store.token["access_token"] in sandbox.store.auth.access
    )
