"""NetSuite beyond the contract: what a partner would check in arbridge after a sync or a write."""

from __future__ import annotations

import threading
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import AuthError, Command, Cursor, Op, PermanentError, Runtime
from arbridge.connectors.netsuite import NetSuite, mapping
from arbridge.connectors.netsuite.auth import Credentials
from arbridge.connectors.ratelimit import InProcessLimiter
from arbridge.sandbox.netsuite import create_app, seed
from tests.connectors.contract import Replica, payment_command
from tests.connectors.netsuite.account import ROOT, connect, key_pair, new_account


def sync(connector: NetSuite, replica: Replica | None = None) -> Replica:
    replica = replica or Replica()
    replica.sync(connector)
    return replica


def test_invoices_arrive_with_their_lines_customer_and_balance(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "100.00", "25.50")

    record = sync(netsuite).record("invoice", invoice)

    assert record.customer_remote_id == customer
    assert record.total == Decimal("125.50") == record.balance
    assert [(line.description, line.amount) for line in record.lines] == [
        ("Managed services, line 1", Decimal("100.00")),
        ("Managed services, line 2", Decimal("25.50")),
    ]
    assert record.has_pdf is False  # rendered by arbridge: NetSuite has no PDF to sync


def test_only_billing_contacts_are_read(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    books.update(
        "customer",
        customer,
        contactRoles={
            "items": [
                {
                    "contact": {"id": "7001", "refName": "Accounts Payable"},
                    "email": "ap@bluebird.example",
                    "role": {"id": "1", "refName": "Billing"},
                },
                {
                    "contact": {"id": "7002", "refName": "Dr Lee"},
                    "email": "lee@bluebird.example",
                    "role": {"id": "-10", "refName": "Primary Contact"},
                },
            ]
        },
    )

    replica = sync(netsuite)

    contacts = {k[1]: c.record.email for k, c in replica.changes.items() if k[0] == "contact"}
    assert contacts == {f"{customer}:7001": "ap@bluebird.example"}


def test_payments_and_credits_made_in_netsuite_reduce_the_balance(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    replica = sync(netsuite)
    payment = books.pay(customer, invoice, "100.00")
    memo = books.credit(customer, invoice, "50.00")

    sync(netsuite, replica)

    assert replica.record("invoice", invoice).balance == Decimal("150.00")
    paid = replica.record("payment", payment)
    assert paid.amount == Decimal("100.00") and paid.method == "check"
    assert [(a.invoice_remote_id, a.amount) for a in paid.allocations] == [
        (invoice, Decimal("100.00"))
    ]
    assert replica.record("credit", f"{memo}:{invoice}").amount == Decimal("50.00")


def test_a_payment_deleted_in_netsuite_is_deleted_in_arbridge(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    payment = books.pay(customer, invoice, "100.00")
    replica = sync(netsuite)
    books.delete("customerPayment", payment)

    sync(netsuite, replica)

    assert replica.is_deleted("payment", payment)
    assert replica.record("invoice", invoice).balance == Decimal("300.00")


def test_a_voided_invoice_is_archived(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    replica = sync(netsuite)
    books.void(invoice)

    sync(netsuite, replica)

    assert replica.is_deleted("invoice", invoice)


def test_thousands_of_invoices_page_through_suiteql_and_resume_from_a_checkpoint(
    sandbox, credentials, books
):
    seed(sandbox.store, credentials["account_id"], customers=5, invoices=2_300)
    stopped = Replica()
    items = connect(sandbox, credentials).pull(None)
    for item in items:  # stop part way, at the checkpoint after the first page
        stopped.apply([item])
        if isinstance(item, Cursor) and item.value.get("offset") == 1000:
            break
    assert stopped.cursor.value["entity"] == "invoice"

    stopped.sync(connect(sandbox, credentials))

    invoices = [k for k in stopped.changes if k[0] == "invoice"]
    assert len(invoices) == 2_300
    queries = sandbox.stats[credentials["account_id"]]
    assert queries["requests"] <= 2 * (5 + 2_300) + 20


def test_arbridge_s_own_payment_is_written_once_and_not_read_back(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    replica = sync(netsuite)
    command = payment_command(invoice, Decimal("300.00"), "payment:41:1")

    first = netsuite.push(command)
    again = netsuite.push(command)
    sync(netsuite, replica)

    assert first.remote_id == again.remote_id
    written = books.read("customerPayment", first.remote_id)
    assert written["externalId"] == mapping.external_id("payment:41:1")
    assert written["undepFunds"] is True
    assert replica.record("invoice", invoice).balance == Decimal("0")
    assert ("payment", first.remote_id) not in replica.changes


class LosesAnswers(httpx.BaseTransport):
    """Carries each upsert out, then loses its answer, the first `times` times."""

    def __init__(self, app, times: int) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.times = times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "PUT" and self.times:
            self.times -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_retry_after_a_lost_answer_writes_the_payment_once(sandbox, credentials, books):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    connector = connect(sandbox, credentials, transport=LosesAnswers(sandbox, times=2))

    ref = connector.push(payment_command(invoice, Decimal("120.00"), "payment:7:1"))

    assert [p["id"] for p in books.payments_of(invoice)] == [ref.remote_id]
    assert books.read("invoice", invoice)["amountRemaining"] == Decimal("180.00")


def test_a_reversal_deletes_the_payment_and_a_second_delete_is_harmless(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    ref = netsuite.push(payment_command(invoice, Decimal("300.00"), "payment:9:1"))

    netsuite.push(Command("delete_payment", {"remote_id": ref.remote_id}, "payment:9:reversal"))
    netsuite.push(Command("delete_payment", {"remote_id": ref.remote_id}, "payment:9:reversal"))

    assert books.payments_of(invoice) == []
    assert books.read("invoice", invoice)["amountRemaining"] == Decimal("300.00")


def test_a_payout_is_one_deposit_of_its_payments_with_the_fee_on_a_cash_back_line(
    books, sandbox, credentials
):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    first, second = books.invoice(customer, "100.00"), books.invoice(customer, "200.00")
    connector = connect(
        sandbox, credentials, create_deposits=True, deposit_account_id="1", fee_account_id="3"
    )
    paid = [
        connector.push(payment_command(i, Decimal(a), f"payment:{i}:1"))
        for i, a in ((first, "100.00"), (second, "200.00"))
    ]
    payout = {
        "deposit_id": 12,
        "date": "2026-03-07",
        "payout": "291.00",
        "fees": "9.00",
        "surcharges": "0.00",
        "payments": [
            {"remote_id": p.remote_id, "amount": a}
            for p, a in zip(paid, ("100.00", "200.00"), strict=True)
        ],
    }
    command = Command("create_deposit", payout, "deposit:12")

    ref = connector.push(command)
    assert connector.push(command).remote_id == ref.remote_id

    deposit = books.read("deposit", ref.remote_id)
    assert deposit["total"] == Decimal("291.00")
    assert deposit["account"]["id"] == "1"
    assert [(i["account"]["id"], i["amount"]) for i in deposit["cashBack"]["items"]] == [
        ("3", Decimal("9.00"))
    ]
    assert len(deposit["payment"]["items"]) == 2


def test_deposits_are_off_by_default():
    assert NetSuite.Preferences().create_deposits is False


def test_a_payment_on_a_voided_invoice_is_refused(books, netsuite):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "300.00")
    books.void(invoice)

    with pytest.raises(PermanentError, match="voided"):
        netsuite.push(payment_command(invoice, Decimal("300.00"), "payment:5:1"))


# -- authentication ------------------------------------------------------------------


def test_one_token_serves_many_calls_and_a_new_one_is_signed_when_it_expires(
    sandbox, credentials, books, netsuite
):
    books.customer("Bluebird Dental", "ap@bluebird.example")
    sync(netsuite)
    sync(netsuite)
    assert netsuite.auth.fetched == 1

    books.faults(expire_tokens=True)
    sync(netsuite)

    assert netsuite.auth.fetched == 2


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_the_assertion_is_signed_with_the_certificate_s_key(key):
    app = create_app()
    credentials = new_account(app, key=key)

    assert connect(app, credentials).check().remote_account == credentials["account_id"]


def test_an_assertion_signed_by_another_key_is_refused(sandbox, credentials):
    forged = {**credentials, "private_key": key_pair("rsa")[0]}

    with pytest.raises(AuthError):
        connect(sandbox, forged).check()


def test_one_account_s_token_reads_nothing_of_another(sandbox, credentials, books):
    other = new_account(sandbox)
    books.customer("Bluebird Dental", "ap@bluebird.example")
    intruder = connect(sandbox, {**other, "base_url": f"{ROOT}/{credentials['account_id']}"})

    with pytest.raises(AuthError):
        list(intruder.pull(None))


def test_the_credentials_form_refuses_what_is_not_a_private_key():
    with pytest.raises(ValueError, match="PEM"):
        Credentials(account_id="1234567", client_id="c", certificate_id="k", private_key="nope")
    typed = Credentials(
        account_id="1234567_SB1", client_id="c", certificate_id="k", private_key=key_pair("ec")[0]
    )
    assert typed.stored()["account_id"] == "1234567_SB1"


# -- governance -------------------------------------------------------------------------


def test_a_429_is_waited_out_as_retry_after_asks_and_the_sync_ends_as_a_clean_one(
    sandbox, credentials, books
):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    for n in range(6):
        books.invoice(customer, f"{100 + n}.00")
    clean = sync(connect(sandbox, credentials)).state()
    waits: list[float] = []
    books.faults(error_rate=0.3, error_kinds=["429"], seed=7)

    stormy = sync(connect(sandbox, credentials, runtime=Runtime(sleep=waits.append))).state()

    assert stormy == clean
    assert waits and all(wait >= 1 for wait in waits)  # the sandbox's Retry-After: 1


def test_the_account_s_concurrency_limit_is_kept_by_workers_sharing_the_limiter(clock):
    app = create_app(clock=clock)
    credentials = new_account(app, concurrency=2)
    seed(app.store, credentials["account_id"], customers=3, invoices=60)
    limiters: dict = {}

    def shared(limits):
        return limiters.setdefault(limits, InProcessLimiter(limits))

    results: list[int] = []

    def worker() -> None:
        runtime = Runtime(limiter=shared, sleep=lambda seconds: None)
        replica = sync(connect(app, credentials, runtime=runtime, concurrency_limit=2))
        results.append(sum(1 for k in replica.changes if k[0] == "invoice"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [60, 60, 60, 60]
    assert app.stats[credentials["account_id"]].get("throttled", 0) == 0


def test_an_inactive_customer_and_its_billing_contact_are_deleted(sandbox, credentials, books):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    replica = Replica()

    def held(entity: str) -> list[str]:
        return [id for (e, id), c in replica.changes.items() if e == entity and c.op == Op.UPSERT]

    connector = connect(sandbox, credentials, runtime=Runtime(known=held, sleep=lambda s: None))
    sync(connector, replica)
    books.update("customer", customer, isInactive=True)

    sync(connector, replica)

    assert replica.is_deleted("customer", customer)
    assert replica.changes["contact", f"{customer}:7001"].op == Op.DELETE
