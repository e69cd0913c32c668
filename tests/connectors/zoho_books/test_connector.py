"""What is particular to Zoho Books: data centres, organization_id, limits, reads, writes."""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import (
    AuthError,
    Command,
    Config,
    ContactRecord,
    CreditRecord,
    Cursor,
    PaymentRecord,
    PermanentError,
    RetryableError,
    Runtime,
)
from arbridge.connectors.ratelimit import InProcessLimiter
from arbridge.connectors.zoho_books import ZohoBooks
from arbridge.connectors.zoho_books.client import RateLimited
from arbridge.connectors.zoho_books.connector import LIMITS, daily_limits
from arbridge.connectors.zoho_books.datacentres import DATA_CENTRES, from_callback
from arbridge.sandbox.zoho_books import create_app, seed
from tests.connectors.contract import Replica, payment_command, push_until_done
from tests.connectors.zoho_books.books import ROOT, Books, MemoryTokenStore, connect, data_centres


class Recorder(httpx.BaseTransport):
    """The sandbox's transport, keeping every request sent through it."""

    def __init__(self, app) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)


# -- data centres and organization_id ----------------------------------------------


def test_an_organization_in_the_eu_is_reached_at_the_eu_data_centre(sandbox):
    organization = sandbox.store.add_org(name="Brussels IT", location="eu")
    books = Books(sandbox, organization)
    books.invoice(books.contact("Atomium Dental", "ap@atomium.example")["contact_id"], "90.00")
    recorder = Recorder(sandbox)

    zoho = connect(sandbox, organization, transport=recorder)
    replica = Replica()
    replica.sync(zoho)

    assert zoho.api_domain == f"{ROOT}/eu"
    assert {r.url.path.split("/")[1] for r in recorder.requests} == {"eu"}
    assert [c.record.total for c in replica.changes.values() if c.entity == "invoice"] == [
        Decimal("90.00")
    ]


def test_a_token_from_one_data_centre_is_refused_by_another(sandbox):
    organization = sandbox.store.add_org(location="eu")
    zoho = connect(sandbox, organization)
    elsewhere = ZohoBooks(Config(base_url=ROOT, remote_account=organization), zoho.client.http)

    with pytest.raises(AuthError):
        list(elsewhere.pull(None))


def test_an_accounts_server_zoho_does_not_run_is_refused():
    forged = {"location": "eu", "accounts-server": "https://accounts.zoho.eu.evil.example"}

    with pytest.raises(AuthError):
        from_callback(forged)
    assert (
        from_callback({"location": "eu", "accounts-server": "https://accounts.zoho.eu"})
        == (DATA_CENTRES["eu"])
    )
    assert from_callback({}) == DATA_CENTRES["us"]
    assert from_callback({"location": "in"}, data_centres()).accounts_server == f"{ROOT}/in"


def test_every_call_names_the_organization(sandbox, organization, books):
    books.invoice(books.contact("Bluebird Dental", "ap@bluebird.example")["contact_id"], "100")
    recorder = Recorder(sandbox)
    zoho = connect(sandbox, organization, transport=recorder)

    Replica().sync(zoho)
    zoho.push(payment_command(books_invoice_id(books), Decimal("10"), "p:1"))

    api = [r for r in recorder.requests if "/books/v3/" in r.url.path]
    assert api and all(
        r.url.params.get("organization_id") == organization
        for r in api
        if not r.url.path.endswith("/organizations")
    )


def reconnected(zoho: ZohoBooks, runtime: Runtime, **preferences) -> ZohoBooks:
    """Return a connector to the same organization, through the same client, on this runtime."""
    config = Config(
        base_url=ROOT,
        credentials={"api_domain": zoho.api_domain},
        remote_account=zoho.organization_id,
        preferences=preferences,
    )
    return ZohoBooks(config, zoho.client.http, runtime)


def knowing(zoho: ZohoBooks, replica: Replica, clock) -> ZohoBooks:
    """Return a connector told what the replica holds, as the host tells it what arbridge does."""

    def held(entity: str) -> list[str]:
        return [i for (e, i), change in replica.changes.items() if e == entity and change.record]

    return reconnected(zoho, Runtime(clock=clock, known=held))


def books_invoice_id(books: Books) -> str:
    return next(iter(books.app.store.org(books.organization_id).invoices))


# -- what is read -------------------------------------------------------------------


def test_invoices_arrive_with_their_lines_and_billing_contact_only(books, zoho):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    books.call(
        "POST",
        "contacts",
        {"contact_name": "Toner Supplies", "contact_type": "vendor", "contact_persons": []},
    )
    invoice = books.invoice(contact["contact_id"], "100.00", "25.50")
    books.invoice(contact["contact_id"], "70.00", send=False)  # a draft is not billed yet

    replica = Replica()
    replica.sync(zoho)

    record = replica.record("invoice", invoice["invoice_id"])
    assert [line.amount for line in record.lines] == [Decimal("100.00"), Decimal("25.50")]
    assert record.total == Decimal("125.50") and record.balance == Decimal("125.50")
    assert record.customer_remote_id == contact["contact_id"]
    invoices = [key for key in replica.changes if key[0] == "invoice"]
    assert invoices == [("invoice", invoice["invoice_id"])]
    contacts = [c.record for c in replica.changes.values() if c.entity == "contact"]
    assert contacts == [
        ContactRecord(
            customer_remote_id=contact["contact_id"],
            name="Accounts Payable",
            email="ap@bluebird.example",
        )
    ]
    assert [k for k in replica.changes if k[0] == "customer"] == [
        ("customer", contact["contact_id"])
    ]


def test_payments_and_credits_in_zoho_reduce_the_balance_and_their_deletion_is_read(
    books, zoho, clock
):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(contact["contact_id"], "300.00")
    replica = Replica()
    replica.sync(zoho)
    clock.advance(minutes=5)

    payment = books.pay(invoice, "100.00")
    books.credit(invoice, "50.00")
    replica.sync(zoho)

    pair = f"{payment['payment_id']}:{invoice['invoice_id']}"
    assert replica.record("invoice", invoice["invoice_id"]).balance == Decimal("150.00")
    assert replica.record("payment", pair) == PaymentRecord(
        customer_remote_id=contact["contact_id"],
        amount=Decimal("100.00"),
        date="2026-03-05",
        method="check",
        reference="CHK-1001",
        allocations=({"invoice_remote_id": invoice["invoice_id"], "amount": Decimal("100.00")},),
    )
    credits = [c.record for c in replica.changes.values() if c.entity == "credit"]
    assert [type(c) for c in credits] == [CreditRecord]
    assert credits[0].amount == Decimal("50.00")

    clock.advance(minutes=5)
    books.delete_payment(payment["payment_id"])
    held = {"payment": [pair]}
    again = reconnected(zoho, Runtime(known=lambda entity: held.get(entity, [])))
    replica.sync(again)

    assert replica.is_deleted("payment", pair)
    assert replica.record("invoice", invoice["invoice_id"]).balance == Decimal("250.00")


def test_a_void_invoice_and_an_inactive_customer_read_as_deleted(books, zoho, clock):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(contact["contact_id"], "100.00")
    replica = Replica()
    replica.sync(zoho)
    clock.advance(minutes=5)

    books.void(invoice["invoice_id"])
    books.deactivate(contact["contact_id"])
    replica.sync(zoho)

    assert replica.is_deleted("invoice", invoice["invoice_id"])
    assert replica.is_deleted("customer", contact["contact_id"])
    assert replica.is_deleted("contact", f"{contact['contact_id']}:primary")


def test_a_payment_arbridge_wrote_is_not_read_back_as_another(books, zoho, clock):
    invoice = books.invoice(books.contact("Bluebird Dental", "ap@b.example")["contact_id"], "100")
    replica = Replica()
    replica.sync(zoho)
    clock.advance(minutes=5)

    zoho.push(payment_command(invoice["invoice_id"], Decimal("100.00"), "zoho_books-payment-7-1"))
    replica.sync(zoho)

    assert replica.record("invoice", invoice["invoice_id"]).balance == Decimal("0.00")
    assert not [key for key in replica.changes if key[0] == "payment"]


def test_pages_of_200_are_read_to_the_last_and_a_sync_resumes_within_a_page(books, zoho):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    ids = [books.invoice(contact["contact_id"], "10.00")["invoice_id"] for _ in range(260)]

    items = list(zoho.pull(None))
    cursors = [i.value for i in items if isinstance(i, Cursor)]
    resumed = next(c for c in cursors if c.get("entity") == "invoices" and c.get("offset") == 150)
    again = [i for i in zoho.pull(Cursor("zoho_books", resumed)) if not isinstance(i, Cursor)]

    read = [i.remote_id for i in items if getattr(i, "entity", "") == "invoice"]
    assert read == ids
    assert [i.remote_id for i in again if i.entity == "invoice"] == ids[150:]
    assert {k: cursors[-2][k] for k in ("entity", "page")} == {"entity": "invoices", "page": 2}


# -- limits -----------------------------------------------------------------------


def test_the_limiters_keep_a_sync_within_100_a_minute_with_no_429(clock):
    sandbox = create_app(clock=clock)  # Zoho's own 100 a minute
    organization = sandbox.store.add_org()
    seed(sandbox.store, organization, customers=5, invoices=230)

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        clock.advance(seconds=seconds)

    limiters = {
        limits: InProcessLimiter(limits, max_wait=3600, clock=lambda: now[0], sleep=sleep)
        for limits in (LIMITS, daily_limits("premium"))
    }
    zoho = connect(sandbox, organization, plan="premium")
    limited = reconnected(zoho, Runtime(limiter=limiters.__getitem__, sleep=sleep), plan="premium")
    replica = Replica()
    replica.sync(limited)

    stats = sandbox.limiter.report()["organizations"][organization]
    assert len([k for k in replica.changes if k[0] == "invoice"]) == 230
    assert stats["throttled"] == 0
    assert stats["requests"] > 200
    assert now[0] >= 2 * 61


def test_a_minute_limit_is_waited_out_and_the_daily_one_raised(clock):
    sandbox = create_app(clock=clock, requests_per_minute=3)
    organization = sandbox.store.add_org(plan="free")
    seed(sandbox.store, organization, customers=1, invoices=6)
    contact = next(iter(sandbox.store.org(organization).contacts.values()))
    zoho = connect(sandbox, organization)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    zoho.client.sleep = sleep
    replica = Replica()
    replica.sync(zoho)
    assert replica.record("customer", contact["contact_id"]).name == contact["contact_name"]
    assert slept and min(slept) >= 1

    sandbox.limiter.day[organization].extend([clock.now.timestamp()] * 1_000)
    with pytest.raises(RateLimited) as spent:
        list(zoho.pull(None))
    assert spent.value.problem == "day"
    assert isinstance(spent.value, RetryableError) and spent.value.retry_after > 60


# -- what is written ------------------------------------------------------------------


def test_a_payment_of_two_invoices_is_one_zoho_payment_deleted_whole(books, zoho):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")["contact_id"]
    first, second = books.invoice(contact, "100.00"), books.invoice(contact, "50.00")
    command = payment_command(
        first["invoice_id"],
        Decimal("150.00"),
        "zoho_books-payment-9-1",
        allocations=[
            {"invoice_remote_id": first["invoice_id"], "amount": "100.00"},
            {"invoice_remote_id": second["invoice_id"], "amount": "50.00"},
        ],
    )

    ref = zoho.push(command)

    payment = books.payment(ref.remote_id)
    assert payment["amount"] == Decimal("150.00")
    assert payment["reference_number"] == "arbridge:zoho_books-payment-9-1"
    assert payment["payment_mode"] == "creditcard"
    assert [p["invoice_id"] for p in payment["invoices"]] == [
        first["invoice_id"],
        second["invoice_id"],
    ]
    assert books.read(second["invoice_id"])["balance"] == Decimal("0.00")

    delete = Command(
        "delete_payment", {"remote_id": ref.remote_id}, "zoho_books-payment-9-1-delete"
    )
    assert zoho.push(delete) == zoho.push(delete)
    assert books.read(first["invoice_id"])["balance"] == Decimal("100.00")
    assert books.read(second["invoice_id"])["balance"] == Decimal("50.00")


def test_payments_are_deposited_to_the_account_chosen(sandbox, organization, books):
    invoice = books.invoice(books.contact("Bluebird Dental", "ap@b.example")["contact_id"], "100")
    zoho = connect(sandbox, organization, payment_account_id="460000000000370")

    ref = zoho.push(payment_command(invoice["invoice_id"], Decimal("100"), "p:5"))

    held = sandbox.store.payment(organization, ref.remote_id)
    assert held["_account_id"] == "460000000000370"
    assert {a.name for a in zoho.accounts() if a.type == "bank"} == {"Business Checking"}


UNDEPOSITED, CHECKING, FEES, SALES = (
    "460000000000361",
    "460000000000370",
    "460000000000400",
    "460000000000388",
)


def deposit_command(remote_ids: list[str], key: str = "zoho_books-deposit-3-1") -> Command:
    return Command(
        "create_deposit",
        {
            "deposit_id": 3,
            "date": "2026-03-04",
            "currency": "USD",
            "payments": [{"remote_id": r, "amount": "100.00"} for r in remote_ids],
            "fees": "6.20",
            "surcharges": "3.00",
            "payout": "196.80",
        },
        key,
    )


def test_a_payout_is_a_transfer_to_the_bank_with_its_fees_and_surcharges_apart(
    sandbox, organization, books
):
    contact = books.contact("Bluebird Dental", "ap@b.example")["contact_id"]
    invoices = [books.invoice(contact, "100.00")["invoice_id"] for _ in range(2)]
    zoho = connect(
        sandbox,
        organization,
        payment_account_id=UNDEPOSITED,
        create_deposits=True,
        deposit_account_id=CHECKING,
        fee_account_id=FEES,
        surcharge_income_account_id=SALES,
    )
    paid = [zoho.push(payment_command(i, Decimal("100.00"), f"p:{i}")).remote_id for i in invoices]

    first = zoho.push(deposit_command(paid))
    again = zoho.push(deposit_command(paid))

    store = sandbox.store
    rows = list(store.org(organization).banktransactions.values())
    assert first == again
    assert sorted((r["transaction_type"], r["amount"]) for r in rows) == [
        ("deposit", Decimal("3.00")),
        ("expense", Decimal("6.20")),
        ("transfer_fund", Decimal("196.80")),
    ]
    # The payments' 200.00 wait in Undeposited Funds; the payout leaves it at nothing.
    assert store.balance_of(organization, UNDEPOSITED) == Decimal("-200.00")
    assert store.balance_of(organization, CHECKING) == Decimal("196.80")
    assert store.balance_of(organization, FEES) == Decimal("6.20")


def test_a_payout_whose_answers_are_lost_is_written_once(sandbox, organization, books):
    contact = books.contact("Bluebird Dental", "ap@b.example")["contact_id"]
    invoices = [books.invoice(contact, "100.00")["invoice_id"] for _ in range(2)]
    zoho = connect(
        sandbox,
        organization,
        payment_account_id=UNDEPOSITED,
        create_deposits=True,
        deposit_account_id=CHECKING,
        fee_account_id=FEES,
        surcharge_income_account_id=SALES,
    )
    paid = [zoho.push(payment_command(i, Decimal("100.00"), f"p:{i}")).remote_id for i in invoices]
    books.faults(error_rate=0.5, error_kinds=["timeout"], timeout_ms=1, seed=7)

    written = {push_until_done(zoho, deposit_command(paid)) for _ in range(3)}

    books.faults(error_rate=0)
    assert len(written) == 1
    assert len(sandbox.store.org(organization).banktransactions) == 3


def test_a_payout_that_does_not_add_up_is_refused(zoho):
    command = deposit_command(["1", "2"])
    command.payload["payout"] = "190.00"

    with pytest.raises(PermanentError):
        zoho.push(command)


def test_an_invoice_deleted_outright_is_found_by_the_day_s_full_listing(books, zoho, clock):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")["contact_id"]
    kept, gone = (books.invoice(contact, "10.00")["invoice_id"] for _ in range(2))
    replica = Replica()
    connector = knowing(zoho, replica, clock)
    replica.sync(connector)
    clock.advance(minutes=5)

    books.delete(gone)
    replica.sync(connector)
    assert not replica.is_deleted("invoice", gone)  # no filter finds a deletion
    clock.advance(days=1)
    replica.sync(connector)

    assert replica.is_deleted("invoice", gone)
    assert replica.record("invoice", kept) is not None


def test_a_storm_of_429s_ends_as_a_clean_sync_does(sandbox, organization, books):
    seed(sandbox.store, organization, customers=3, invoices=40)
    clean = Replica()
    clean.sync(connect(sandbox, organization))

    zoho = connect(sandbox, organization)
    books.faults(error_rate=0.3, error_kinds=["429"], seed=11)
    stormy = Replica()
    stormy.sync(zoho)
    books.faults(error_rate=0)

    assert books.stats()["throttled"] > 10
    assert stormy.state() == clean.state()


def test_a_customer_deleted_outright_is_found_by_the_full_contact_list(books, zoho, clock):
    kept = books.contact("Bluebird Dental", "ap@bluebird.example")["contact_id"]
    gone = books.contact("Harbor Logistics", "ap@harbor.example")["contact_id"]
    books.invoice(kept, "10.00")
    replica = Replica()
    connector = knowing(zoho, replica, clock)
    replica.sync(connector)
    clock.advance(minutes=5)

    books.call("DELETE", f"contacts/{gone}")
    replica.sync(connector)

    assert replica.is_deleted("customer", gone)
    assert replica.is_deleted("contact", f"{gone}:primary")
    assert replica.record("customer", kept).name == "Bluebird Dental"


def test_an_expired_token_is_refreshed_at_the_account_s_own_data_centre(sandbox, clock):
    organization = sandbox.store.add_org(location="eu")
    seed(sandbox.store, organization, customers=1, invoices=2)
    store = MemoryTokenStore()
    zoho = connect(sandbox, organization, store=store)
    refresh_token = store.token["refresh_token"]

    clock.advance(hours=2)  # past the hour an access token lives
    replica = Replica()
    replica.sync(zoho)

    assert len([k for k in replica.changes if k[0] == "invoice"]) == 2
    assert sandbox.auth.refreshes == 1
    assert store.token["refresh_token"] == refresh_token  # Zoho's do not rotate
    assert store.token["api_domain"] == f"{ROOT}/eu"
