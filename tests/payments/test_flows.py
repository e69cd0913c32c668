"""Money moving end to end: the sandbox processor on one side, the sandbox QuickBooks on the other.

Time is moved with time-machine; the processor derives settlements, returns and
payouts from the clock, and arbridge learns of them by polling its events, as
its minute job does.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from huey.contrib.djhuey import HUEY

from arbridge.integrations.models import ExceptionItem, OutboundCommand
from arbridge.ledger.models import Deposit, DepositLine, Invoice, Payment
from arbridge.payments import events, services
from arbridge.payments.models import Checkout, PaymentSettings, UnmatchedFunds
from tests.integrations.qbo.fixtures import bill_globex, local
from tests.numbers import assert_nowhere_in_database
from tests.portal.fixtures import Inbox

# A Monday morning, so business days are plain to count.
MONDAY = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
R01_ACCOUNT = "000111111101"  # settles after 2 business days, comes back R01 2 days later


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def books(monday, qbo, company, sync, processor_settings) -> dict:
    """Globex owes two invoices in QuickBooks, synced into arbridge; Acme collects by sandbox."""
    return bill_globex(company, qbo, sync)


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Return a function that runs a step and the jobs its commits enqueue, as a worker would."""

    def run(step, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = step(*args, **kwargs)
        # And the wake-ups a worker's timers run once a batch's spacing has passed.
        while due := HUEY.read_schedule(dt.datetime(9999, 1, 1)):
            with django_capture_on_commit_callbacks(execute=True):
                for task in due:
                    HUEY.execute(task)
        return result

    return run


def checkout_for(amounts: dict[Invoice, str], token: str) -> Checkout:
    customer = next(iter(amounts)).customer
    checkout = services.open_checkout(customer, {i: Decimal(a) for i, a in amounts.items()})
    return services.choose_method(checkout, token)


def test_a_card_payment_of_two_invoices_one_partly_is_linked_in_quickbooks(
    company, books, tokenize, run_jobs
):
    first, second = local(books["first"]), local(books["second"])
    checkout = checkout_for({first: "150.00", second: "30.00"}, tokenize())

    checkout = run_jobs(services.pay, checkout.key)

    assert checkout.status == Checkout.Status.SUCCEEDED
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.balance, second.balance) == (Decimal("0.00"), Decimal("50.00"))
    [remote] = company.payments_of(books["first"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("180.00")
    assert {line["LinkedTxn"][0]["TxnId"]: line["Amount"] for line in remote["Line"]} == {
        books["first"]["Id"]: Decimal("150.00"),
        books["second"]["Id"]: Decimal("30.00"),
    }
    assert Decimal(company.read("Invoice", books["second"]["Id"])["Balance"]) == Decimal("50.00")


def test_a_declined_card_leaves_the_invoice_as_it_was(company, books, tokenize, run_jobs):
    invoice = local(books["first"])
    checkout = checkout_for({invoice: "150.00"}, tokenize("4000000000009979"))  # stolen

    checkout = run_jobs(services.pay, checkout.key)

    assert checkout.status == Checkout.Status.FAILED
    assert "declined" in checkout.error_message
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.payable) == (Decimal("150.00"), Decimal("150.00"))
    assert checkout.payment.status == Payment.Status.FAILED
    assert company.payments_of(books["first"]["Id"]) == []
    assert not OutboundCommand.objects.exists()


def test_paying_twice_charges_once(books, tokenize, run_jobs, sandbox_processor):
    checkout = checkout_for({local(books["first"]): "150.00"}, tokenize())

    first = run_jobs(services.pay, checkout.key)
    again = run_jobs(services.pay, checkout.key)

    assert first.status == again.status == Checkout.Status.SUCCEEDED
    assert Payment.objects.count() == 1
    events, _ = sandbox_processor.events("")
    charges = {e.reference for e in events if e.kind == "payment.succeeded"}
    assert charges == {first.processor_reference}


def test_an_ach_payment_settles_is_written_back_and_an_r01_return_reverses_it(
    partner, alice, monday, company, books, tokenize, run_jobs, inbox: Inbox
):
    alice.email = "alice@acme.example"
    alice.save()
    invoice = local(books["first"])
    checkout = checkout_for({invoice: "150.00"}, tokenize(account_number=R01_ACCOUNT))

    checkout = run_jobs(services.pay, checkout.key, customer_ip="203.0.113.9", user_agent="UA")

    # Pending: the balance is held, so it cannot be paid twice, and nothing is written yet.
    assert checkout.status == Checkout.Status.PENDING
    invoice.refresh_from_db()
    assert (invoice.pending_amount(), invoice.payable) == (Decimal("150.00"), Decimal("0.00"))
    with pytest.raises(services.CheckoutError):
        services.open_checkout(invoice.customer, {invoice: Decimal("1.00")})
    assert company.payments_of(books["first"]["Id"]) == []

    # One business day on: still in flight.
    monday.move_to(MONDAY + dt.timedelta(days=1))
    run_jobs(events.poll_processor, partner)
    assert company.payments_of(books["first"]["Id"]) == []

    # Two business days on, it settles: paid, and written back.
    monday.move_to(MONDAY + dt.timedelta(days=2, hours=1))
    run_jobs(events.poll_processor, partner)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00")
    [remote] = company.payments_of(books["first"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("150.00")

    # The bank returns it (R01) two banking days after settlement.
    monday.move_to(MONDAY + dt.timedelta(days=4, hours=2))
    run_jobs(events.poll_processor, partner)
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.RETURNED
    assert (invoice.balance, invoice.payable) == (Decimal("150.00"), Decimal("150.00"))
    assert company.payments_of(books["first"]["Id"]) == []
    assert Decimal(company.read("Invoice", books["first"]["Id"])["Balance"]) == Decimal("150.00")
    [item] = ExceptionItem.objects.filter(partner=partner, entity="payment")
    assert "R01" in item.title and invoice.number in item.title
    [mail] = inbox.to("alice@acme.example")
    assert "R01" in mail["Subject"]
    # The account number went to the processor's page only.
    assert_nowhere_in_database(R01_ACCOUNT)


def test_ach_written_back_at_initiation_when_the_partner_prefers_and_reversed_on_return(
    partner, monday, company, books, tokenize, run_jobs
):
    PaymentSettings.objects.filter(partner=partner).update(ach_writeback_at_initiation=True)
    invoice = local(books["first"])
    checkout = checkout_for({invoice: "150.00"}, tokenize(account_number=R01_ACCOUNT))

    run_jobs(services.pay, checkout.key)
    assert len(company.payments_of(books["first"]["Id"])) == 1

    monday.move_to(MONDAY + dt.timedelta(days=2, hours=1))
    run_jobs(events.poll_processor, partner)
    assert len(company.payments_of(books["first"]["Id"])) == 1  # settling writes nothing more

    monday.move_to(MONDAY + dt.timedelta(days=4, hours=2))
    run_jobs(events.poll_processor, partner)
    assert company.payments_of(books["first"]["Id"]) == []
    assert Payment.objects.get().status == Payment.Status.RETURNED


@pytest.fixture
def deposits_on(qbo, company) -> dict:
    accounts = {
        "bank": company.account("Business Checking", "Bank", "Checking"),
        "fees": company.account("Merchant Fees", "Expense", "BankCharges"),
        "surcharges": company.account("Surcharge Income", "Income", "ServiceFeeIncome"),
    }
    qbo.set_preferences(
        {
            "create_deposits": True,
            "deposit_account_id": accounts["bank"]["Id"],
            "fee_account_id": accounts["fees"]["Id"],
            "surcharge_income_account_id": accounts["surcharges"]["Id"],
        }
    )
    return accounts


def test_a_payout_becomes_a_deposit_with_its_fee_and_surcharge_lines_and_the_sums_agree(
    partner, monday, company, books, deposits_on, tokenize, run_jobs
):
    PaymentSettings.objects.filter(partner=partner).update(
        surcharge_enabled=True, surcharge_rate=Decimal("3.00")
    )
    first, second = local(books["first"]), local(books["second"])
    debit = checkout_for({first: "150.00"}, tokenize("4000056655665556"))
    credit = checkout_for({second: "80.00"}, tokenize("4242424242424242"))
    assert (debit.surcharge, credit.surcharge) == (Decimal("0"), Decimal("2.40"))
    run_jobs(services.pay, debit.key)
    run_jobs(services.pay, credit.key)

    # Card payouts arrive two business days later, net of 2.9% + $0.30 a charge.
    monday.move_to(MONDAY + dt.timedelta(days=3))
    run_jobs(events.poll_processor, partner)

    deposit = Deposit.objects.get()
    fees = Decimal("150.00") * Decimal("0.029") + Decimal("82.40") * Decimal("0.029")
    expected_fees = (fees + Decimal("0.60")).quantize(Decimal("0.01"))
    assert deposit.amount == Decimal("232.40") - expected_fees
    assert deposit.is_balanced()
    kinds = {line.kind: line.amount for line in deposit.lines.exclude(kind="payment")}
    assert kinds == {
        DepositLine.Kind.SURCHARGE: Decimal("2.40"),
        DepositLine.Kind.FEE: -expected_fees,
    }
    # The invoices got what was applied to them, not the surcharge.
    assert Decimal(company.payments_of(books["second"]["Id"])[0]["TotalAmt"]) == Decimal("80.00")

    [remote] = company.query("select * from Deposit")
    assert Decimal(remote["TotalAmt"]) == deposit.amount
    by_account = {}
    for line in remote["Line"]:
        detail = line.get("DepositLineDetail") or {}
        key = detail.get("AccountRef", {}).get("value") or "payment"
        by_account[key] = by_account.get(key, Decimal(0)) + line["Amount"]
    assert by_account == {
        "payment": Decimal("230.00"),
        deposits_on["surcharges"]["Id"]: Decimal("2.40"),
        deposits_on["fees"]["Id"]: -expected_fees,
    }


def test_money_without_a_payment_is_matched_by_number_and_amount_or_queued(
    partner, books, processor_sandbox, processor_credentials, run_jobs, company
):
    first, second = local(books["first"]), local(books["second"])
    account = processor_sandbox.store.accounts[processor_credentials["account_id"]]
    receive = processor_sandbox.store.receive_funds
    receive(account, Decimal("80.00"), "USD", f"Payment {second.number}", "Globex")
    receive(account, Decimal("99.00"), "USD", "Globex, for March", "Globex")

    run_jobs(events.poll_processor, partner)

    second.refresh_from_db()
    assert second.balance == Decimal("0.00")
    assert len(company.payments_of(books["second"]["Id"])) == 1
    [queued] = UnmatchedFunds.objects.filter(partner=partner)
    assert (queued.amount, queued.status) == (Decimal("99.00"), UnmatchedFunds.Status.OPEN)

    # A person applies it.
    with pytest.raises(services.CheckoutError):
        events.apply_unmatched(queued, {first: Decimal("50.00")})
    with transaction.atomic():
        payment = run_jobs(events.apply_unmatched, queued, {first: Decimal("99.00")})
    first.refresh_from_db()
    assert first.balance == Decimal("51.00")
    assert payment.status == Payment.Status.SUCCEEDED
    assert len(company.payments_of(books["first"]["Id"])) == 1


def test_a_refund_in_arbridge_deletes_the_payment_in_quickbooks_and_reopens_the_invoice(
    company, books, tokenize, run_jobs
):
    invoice = local(books["first"])
    checkout = run_jobs(services.pay, checkout_for({invoice: "150.00"}, tokenize()).key)
    assert len(company.payments_of(books["first"]["Id"])) == 1

    result = run_jobs(events.refund, checkout.payment)

    assert result.success and result.amount == Decimal("150.00")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("150.00")
    assert company.payments_of(books["first"]["Id"]) == []
    with pytest.raises(services.CheckoutError):
        events.refund(Payment.objects.get())  # refunded already


def test_refunds_made_at_the_processor_follow_whole_or_tell_the_partner_when_partial(
    partner, company, books, tokenize, run_jobs, sandbox_processor
):
    first, second = local(books["first"]), local(books["second"])
    whole = run_jobs(services.pay, checkout_for({first: "150.00"}, tokenize()).key)
    part = run_jobs(services.pay, checkout_for({second: "80.00"}, tokenize()).key)

    sandbox_processor.refund(whole.processor_reference, Decimal("150.00"), "dash-1")
    sandbox_processor.refund(part.processor_reference, Decimal("20.00"), "dash-2")
    run_jobs(events.poll_processor, partner)

    assert Payment.objects.get(pk=whole.payment_id).status == Payment.Status.REFUNDED
    assert company.payments_of(books["first"]["Id"]) == []
    assert Payment.objects.get(pk=part.payment_id).status == Payment.Status.SUCCEEDED
    assert len(company.payments_of(books["second"]["Id"])) == 1
    [item] = ExceptionItem.objects.filter(partner=partner, local_id=part.payment_id)
    assert "partly refunded" in item.title
