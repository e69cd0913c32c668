"""The Sage Intacct connector against its sandbox: paging, entities, writes once."""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import AuthError, Command, Op, PermanentError
from arbridge.sandbox.sage_intacct import create_app, seed
from tests.connectors.contract import Replica, payment_command
from tests.connectors.sage_intacct.books import connect, credentials

COMPANY = "acme-it"


@pytest.fixture
def app():
    app = create_app()
    app.store.add_company(COMPANY, "Acme IT", entities={"EAST": "East", "WEST": "West"})
    return app


@pytest.fixture
def store(app):
    return app.store


class LosesFirstAnswers(httpx.BaseTransport):
    """Carries requests to the sandbox, but loses the answers of the first `lose` writes."""

    def __init__(self, app, lose: int = 1) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.lose = lose
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if b"<uniqueid>true</uniqueid>" in request.content and self.lost < self.lose:
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def invoice(store, customer: str, amount: str, entity: str = "") -> dict:
    return store.add_invoice(COMPANY, customer, [("Managed services", Decimal(amount))])


def test_a_full_sync_pages_by_read_more_and_reads_every_invoice_with_its_lines(app, store):
    seed(store, COMPANY, customers=30, invoices=4_500, lines_per_invoice=3, seed=7)

    replica = Replica()
    replica.sync(connect(app, COMPANY))

    invoices = [c for (entity, _), c in replica.changes.items() if entity == "invoice"]
    assert len(invoices) == 4_500
    held = store.companies[COMPANY].invoices
    for change in invoices[::500]:
        record = change.record
        source = held[int(change.remote_id)]
        assert record.number == source["RECORDID"]
        assert len(record.lines) == 3
        assert sum(line.amount for line in record.lines) == record.total
        assert record.total == Decimal(source["TOTALENTERED"])
    stats = app.limiter.report()["companies"][COMPANY]
    # a session, a customer page, 3 invoice pages and their lines (6,000, 2,000 a page... 7)
    assert stats["requests"] <= 1 + 1 + 3 + 7


def test_customers_bring_their_billing_contact_only(app, store):
    customer = store.add_customer(
        COMPANY, "Bluebird Dental", email="ap@bluebird.example", contact="Dana Ortiz"
    )

    replica = Replica()
    replica.sync(connect(app, COMPANY))

    id = customer["CUSTOMERID"]
    assert replica.record("customer", id).email == "ap@bluebird.example"
    contact = replica.record("contact", f"{id}:billing")
    assert (contact.name, contact.is_billing) == ("Dana Ortiz", True)
    assert [key for key in replica.changes if key[0] == "contact"] == [("contact", f"{id}:billing")]


def test_a_reversed_invoice_is_voided_and_an_inactive_customer_archived(app, store):
    customer = store.add_customer(COMPANY, "Harbor Logistics")["CUSTOMERID"]
    key = invoice(store, customer, "300.00")["RECORDNO"]
    connector, replica = connect(app, COMPANY), Replica()
    replica.sync(connector)

    store.reverse_invoice(COMPANY, key)
    store.change_customer(COMPANY, customer, STATUS="inactive")
    replica.sync(connector)

    assert replica.record("invoice", key).voided
    assert replica.is_deleted("customer", customer)


def test_the_partner_chooses_the_entity_and_sees_only_its_records(app, store):
    east = store.add_customer(COMPANY, "East Clinic", entity="EAST")["CUSTOMERID"]
    west = store.add_customer(COMPANY, "West Clinic", entity="WEST")["CUSTOMERID"]
    east_invoice = invoice(store, east, "100.00")["RECORDNO"]
    west_invoice = invoice(store, west, "200.00")["RECORDNO"]

    connector = connect(app, COMPANY, entity_id="EAST", payment_account_id="BOA-OPERATING")
    replica = Replica()
    replica.sync(connector)

    assert connector.check().remote_account == f"{COMPANY}/EAST"
    assert replica.record("invoice", east_invoice) is not None
    assert replica.record("invoice", west_invoice) is None
    assert replica.record("customer", west) is None
    with pytest.raises(PermanentError):
        connector.push(payment_command(west_invoice, Decimal("200.00"), "payment:9:1"))
    assert store.payments_of(COMPANY, west_invoice) == []


def test_an_entity_the_company_does_not_have_is_refused(app):
    with pytest.raises(AuthError):
        connect(app, COMPANY, entity_id="NORTH").check()


@pytest.mark.parametrize(
    "wrong", [{"user_password": "nope"}, {"sender_password": "nope"}, {"company_id": "other"}]
)
def test_wrong_credentials_are_an_auth_error(app, wrong):
    with pytest.raises(AuthError):
        connect(app, COMPANY, creds={**credentials(COMPANY), **wrong}).check()


def test_a_payment_retried_after_its_answer_was_lost_is_refused_as_a_duplicate(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    key = invoice(store, customer, "100.00")["RECORDNO"]
    lossy = LosesFirstAnswers(app)
    connector = connect(app, COMPANY, transport=lossy, payment_account_id="BOA-OPERATING")
    command = payment_command(key, Decimal("60.00"), "payment:41:1")

    written = connector.push(command)

    assert lossy.lost == 1  # the first request was applied, its answer lost, and sent again
    assert [p["RECORDNO"] for p in store.payments_of(COMPANY, key)] == [written.remote_id]
    assert store.companies[COMPANY].invoices[int(key)]["TOTALDUE"] == "40.00"
    assert "payment:41:1" in store.companies[COMPANY].control_ids
    again = connect(app, COMPANY, payment_account_id="BOA-OPERATING").push(command)
    assert again.remote_id == written.remote_id
    assert len(store.payments_of(COMPANY, key)) == 1


def test_a_reversal_gives_the_invoice_its_balance_back_once(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    key = invoice(store, customer, "100.00")["RECORDNO"]
    connector = connect(app, COMPANY, payment_account_id="BOA-OPERATING")
    paid = connector.push(payment_command(key, Decimal("100.00"), "payment:41:1"))
    reverse = Command("delete_payment", {"remote_id": paid.remote_id}, "payment:41:1-delete")

    connector.push(reverse)
    connector.push(reverse)

    assert store.payments_of(COMPANY, key) == []
    assert store.companies[COMPANY].invoices[int(key)]["TOTALDUE"] == "100.00"
    replica = Replica()
    replica.sync(connector)
    assert replica.record("invoice", key).balance == Decimal("100.00")


def test_a_deposit_moves_the_payments_to_the_bank_with_the_fee_separate(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    first = invoice(store, customer, "100.00")["RECORDNO"]
    second = invoice(store, customer, "250.00")["RECORDNO"]
    connector = connect(
        app,
        COMPANY,
        create_deposits=True,
        undeposited_account="1300",
        deposit_account_id="SVB-DEPOSITS",
        fee_account_id="6100",
    )
    a = connector.push(payment_command(first, Decimal("100.00"), "payment:1:1"))
    b = connector.push(payment_command(second, Decimal("250.00"), "payment:2:1"))
    payload = {
        "deposit_id": 7,
        "date": "2026-03-04",
        "currency": "USD",
        "deposit_account_id": "SVB-DEPOSITS",
        "fee_account_id": "6100",
        "payments": [
            {"remote_id": a.remote_id, "amount": "100.00"},
            {"remote_id": b.remote_id, "amount": "250.00"},
        ],
        "fees": "10.45",
        "payout": "339.55",
    }
    command = Command("create_deposit", payload, "deposit:7:1")

    deposit = connector.push(command)
    again = connect(app, COMPANY, create_deposits=True, deposit_account_id="SVB-DEPOSITS").push(
        command
    )

    company = store.companies[COMPANY]
    assert again.remote_id == deposit.remote_id
    assert len(company.deposits) == 1
    held = company.deposits[int(deposit.remote_id)]
    assert (held["FINANCIALENTITY"], held["TOTALENTERED"]) == ("SVB-DEPOSITS", "350.00")
    [fee] = company.bank_fees.values()
    assert (fee["GLACCOUNTNO"], fee["TOTALENTERED"]) == ("6100", "10.45")


def test_a_deposit_whose_fee_is_refused_records_nothing(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    key = invoice(store, customer, "100.00")["RECORDNO"]
    connector = connect(app, COMPANY, create_deposits=True, undeposited_account="1300")
    paid = connector.push(payment_command(key, Decimal("100.00"), "payment:1:1"))
    payload = {
        "date": "2026-03-04",
        "deposit_account_id": "SVB-DEPOSITS",
        "fee_account_id": "9999",  # no such account
        "payments": [{"remote_id": paid.remote_id, "amount": "100.00"}],
        "fees": "3.20",
    }

    with pytest.raises(PermanentError):
        connector.push(Command("create_deposit", payload, "deposit:8:1"))

    company = store.companies[COMPANY]
    assert company.deposits == {} and company.bank_fees == {}
    assert company.payments[int(paid.remote_id)]["STATE"] == "Undeposited"


def test_accounts_list_the_bank_accounts_and_ledger(app):
    accounts = connect(app, COMPANY).accounts()

    banks = {a.id for a in accounts if a.type == "Bank"}
    assert banks == {"BOA-OPERATING", "SVB-DEPOSITS"}
    assert any(a.code == "6100" and a.type == "Expense" for a in accounts)


def test_a_deleted_invoice_is_read_from_the_audit_trail(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    key = invoice(store, customer, "100.00")["RECORDNO"]
    connector, replica = connect(app, COMPANY), Replica()
    replica.sync(connector)

    store.delete_invoice(COMPANY, key)
    replica.sync(connector)

    assert replica.changes["invoice", key].op == Op.DELETE


def test_a_timed_out_session_is_opened_again(app, store):
    customer = store.add_customer(COMPANY, "Bluebird Dental")["CUSTOMERID"]
    key = invoice(store, customer, "100.00")["RECORDNO"]
    connector = connect(app, COMPANY, payment_account_id="BOA-OPERATING")
    connector.check()
    store.sessions.clear()  # Intacct ended every session

    connector.push(payment_command(key, Decimal("100.00"), "payment:41:1"))

    assert len(store.payments_of(COMPANY, key)) == 1
    assert len(store.sessions) == 1


def test_a_storm_of_429s_ends_as_a_clean_sync(app, store):
    seed(store, COMPANY, customers=20, invoices=2_500, lines_per_invoice=2, seed=3)
    clean = Replica()
    clean.sync(connect(app, COMPANY))
    app.limiter.configure(
        type(app.limiter.faults)(error_rate=0.6, error_kinds=["429"], timeout_ms=1, seed=5)
    )

    stormy = Replica()
    stormy.sync(connect(app, COMPANY))

    assert app.limiter.report()["companies"][COMPANY]["throttled"] > 0
    assert stormy.state() == clean.state()


def test_an_invoice_s_pdf_is_intacct_s_own_and_another_entity_s_is_refused(app, store):
    east = store.add_customer(COMPANY, "East Clinic", entity="EAST")["CUSTOMERID"]
    west = store.add_customer(COMPANY, "West Clinic", entity="WEST")["CUSTOMERID"]
    mine, theirs = invoice(store, east, "100.00"), invoice(store, west, "200.00")
    connector = connect(app, COMPANY, entity_id="EAST")

    content = connector.pdf(mine["RECORDNO"])

    assert content.startswith(b"%PDF")
    with pytest.raises(PermanentError):
        connector.pdf(theirs["RECORDNO"])
