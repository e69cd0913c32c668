"""The ledger's invariants under random sequences of changes, arriving in any order.

A hypothesis state machine drives the real models against the database:
arbridge and external payments moving through their statuses, allocations
across several invoices, credits, and what the source reports (balances,
totals, voids). Beside it runs a plain model of what the ledger should say.
After every step, for every invoice, the rows must add up, agree with the
model, and a refused change must have changed nothing.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from arbridge.core.models import Partner
from arbridge.ledger.models import (
    Credit,
    Customer,
    Invoice,
    LedgerError,
    Payment,
    PaymentAllocation,
)

D = Decimal
ZERO = D("0.00")
S = Payment.Status
ARBRIDGE, EXTERNAL = Payment.Origin.ARBRIDGE, Payment.Origin.EXTERNAL
# Forward only; a pending payment may skip ahead, as unordered processor events do.
ALLOWED = {
    S.PENDING: {S.SUCCEEDED, S.FAILED, S.REFUNDED, S.RETURNED},
    S.SUCCEEDED: {S.REFUNDED, S.RETURNED},
}


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-2))


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return min(max(value, low), high)


@dataclass
class Expected:
    """What the ledger should say about one invoice, kept without the database."""

    total: Decimal
    currency: str
    partner_id: int
    void: bool = False
    source_balance: Decimal | None = None
    arbridge_in_source: Decimal = ZERO


def snapshot() -> list:
    """Return every ledger row, to show that a refused change wrote nothing."""
    return [
        list(model.objects.order_by("pk").values_list())
        for model in (Invoice, Payment, PaymentAllocation, Credit)
    ]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a transaction rolled back at teardown: a fresh ledger.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.partner = Partner.objects.create(name="Acme IT")
        self.other = Partner.objects.create(name="Other MSP")
        self.invoices: list[Invoice] = []
        self.payments: list[Payment] = []
        self.credits: list[Credit] = []
        self.expected: dict[int, Expected] = {}
        self.allocated: dict[tuple[int, int], Decimal] = {}
        self.credited: dict[int, tuple[int, Decimal]] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # -- the model ------------------------------------------------------------

    def sums(self, invoice_id: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Return paid, paid in arbridge, pending and credited on one invoice."""
        paid = by_arbridge = pending = ZERO
        statuses = {p.pk: (p.status, p.origin) for p in self.payments}
        for (payment_id, iid), amount in self.allocated.items():
            status, origin = statuses[payment_id]
            if iid != invoice_id:
                continue
            if status == S.SUCCEEDED:
                paid += amount
                by_arbridge += amount if origin == ARBRIDGE else ZERO
            elif status == S.PENDING:
                pending += amount
        credits = sum((a for iid, a in self.credited.values() if iid == invoice_id), ZERO)
        return paid, by_arbridge, pending, credits

    def committed(self, invoice_id: int) -> Decimal:
        paid, _, pending, credits = self.sums(invoice_id)
        return paid + pending + credits

    def adjustment(self, invoice_id: int) -> Decimal:
        e = self.expected[invoice_id]
        if e.void or e.source_balance is None:
            return ZERO
        paid, by_arbridge, _, credits = self.sums(invoice_id)
        known = paid - by_arbridge + credits + e.arbridge_in_source
        return clamp(e.total - e.source_balance - known, ZERO, e.total - paid - credits)

    def balance(self, invoice_id: int) -> Decimal:
        e = self.expected[invoice_id]
        if e.void:
            return ZERO
        paid, _, _, credits = self.sums(invoice_id)
        return e.total - paid - credits - self.adjustment(invoice_id)

    def room(self, invoice_id: int, origin: str) -> Decimal:
        e = self.expected[invoice_id]
        if e.void:
            return ZERO
        room = e.total - self.committed(invoice_id)
        if origin == ARBRIDGE:
            room -= self.adjustment(invoice_id)
        return room

    def unapplied(self, payment: Payment) -> Decimal:
        applied = sum((a for (pid, _), a in self.allocated.items() if pid == payment.pk), ZERO)
        return payment.amount - applied

    def attempt(self, should_pass: bool, change, *args) -> bool:
        """Make the change; check it passed or was refused as the model says."""
        before = snapshot()
        try:
            change(*args)
        except LedgerError as e:
            assert not should_pass, f"refused: {e}"
            assert snapshot() == before, "a refused change wrote something"
            return False
        assert should_pass, "a change the model refuses went through"
        return True

    # -- setup ----------------------------------------------------------------

    @initialize(
        totals=st.lists(cents(0, 20_000), min_size=2, max_size=3),
        euro_total=cents(1, 20_000),
        outsider_total=cents(1, 20_000),
    )
    def make_invoices(self, totals, euro_total, outsider_total) -> None:
        ours = Customer.objects.create(partner=self.partner, name="Globex")
        theirs = Customer.objects.create(partner=self.other, name="Initech")
        rows = [(ours, t, "USD") for t in totals]
        rows += [(ours, euro_total, "EUR"), (theirs, outsider_total, "USD")]
        for n, (customer, total, currency) in enumerate(rows):
            invoice = Invoice.objects.create(
                partner=customer.partner,
                customer=customer,
                number=f"INV-{n}",
                currency=currency,
                total=total,
                issue_date=dt.date(2025, 3, 1),
            )
            self.invoices.append(invoice)
            self.expected[invoice.pk] = Expected(total, currency, customer.partner_id)

    # -- payments -------------------------------------------------------------

    @rule(
        amount=cents(1, 25_000),
        origin=st.sampled_from([ARBRIDGE, EXTERNAL]),
        status=st.sampled_from([S.PENDING, S.PENDING, S.SUCCEEDED, S.FAILED]),
        currency=st.sampled_from(["USD", "USD", "USD", "EUR"]),
        outsider=st.sampled_from([False] * 9 + [True]),
    )
    def take_payment(self, amount, origin, status, currency, outsider) -> None:
        self.payments.append(
            Payment.objects.create(
                partner=self.other if outsider else self.partner,
                amount=amount,
                currency=currency,
                status=status,
                origin=origin,
            )
        )

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def allocate(self, data) -> None:
        payment = data.draw(st.sampled_from(self.payments))
        invoice = data.draw(st.sampled_from(self.invoices))
        invoice.refresh_from_db()
        e = self.expected[invoice.pk]
        room = self.room(invoice.pk, payment.origin)
        amount = data.draw(
            st.sampled_from([room, room + D("0.01"), self.unapplied(payment)]) | cents(-100, 20_000)
        )
        should_pass = (
            amount > 0
            and payment.partner_id == e.partner_id
            and payment.currency == e.currency
            and payment.status in (S.PENDING, S.SUCCEEDED)
            and amount <= self.unapplied(payment)
            and amount <= room
        )
        balance, payable = invoice.balance, invoice.payable
        if self.attempt(should_pass, payment.allocate, invoice, amount):
            key = (payment.pk, invoice.pk)
            self.allocated[key] = self.allocated.get(key, ZERO) + amount
            if payment.status == S.PENDING:
                assert (invoice.balance, invoice.payable) == (balance, max(ZERO, payable - amount))
            elif payment.origin == ARBRIDGE:
                # Money taken here is off the balance at once, whatever the source said.
                assert invoice.balance == balance - amount
            else:
                assert balance - amount <= invoice.balance <= balance

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def unallocate(self, data) -> None:
        payment = data.draw(st.sampled_from(self.payments))
        invoice = data.draw(st.sampled_from(self.invoices))
        e = self.expected[invoice.pk]
        should_pass = payment.partner_id == e.partner_id and payment.currency == e.currency
        if self.attempt(should_pass, payment.unallocate, invoice):
            self.allocated.pop((payment.pk, invoice.pk), None)

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), status=st.sampled_from(list(S)))
    def set_status(self, data, status) -> None:
        payment = data.draw(st.sampled_from(self.payments))
        was = payment.status
        should_pass = status == was or status in ALLOWED.get(was, ())
        touched = [iid for (pid, iid) in self.allocated if pid == payment.pk]
        before = dict(Invoice.objects.filter(pk__in=touched).values_list("pk", "balance"))
        if self.attempt(should_pass, payment.set_status, status):
            after = dict(Invoice.objects.filter(pk__in=touched).values_list("pk", "balance"))
            for iid in touched:
                if status == S.SUCCEEDED:
                    assert after[iid] <= before[iid]
                elif status != S.PENDING:
                    assert after[iid] >= before[iid]
        else:
            assert payment.status == was

    # -- credits --------------------------------------------------------------

    @rule(data=st.data())
    def apply_credit(self, data) -> None:
        invoice = data.draw(st.sampled_from(self.invoices))
        invoice.refresh_from_db()
        room = self.room(invoice.pk, EXTERNAL)
        amount = data.draw(st.sampled_from([room, room + D("0.01")]) | cents(-100, 20_000))
        should_pass = amount > 0 and amount <= room
        balance = invoice.balance
        credit = []
        if self.attempt(should_pass, lambda: credit.append(Credit.apply(invoice, amount))):
            self.credits.append(credit[0])
            self.credited[credit[0].pk] = (invoice.pk, amount)
            assert balance - amount <= invoice.balance <= balance

    @precondition(lambda self: self.credits)
    @rule(data=st.data())
    def remove_credit(self, data) -> None:
        credit = data.draw(st.sampled_from(self.credits))
        self.attempt(True, credit.remove)
        self.credits.remove(credit)
        del self.credited[credit.pk]

    # -- what the source reports ------------------------------------------------

    @rule(data=st.data())
    def report_source_balance(self, data) -> None:
        invoice = data.draw(st.sampled_from(self.invoices))
        e = self.expected[invoice.pk]
        balance = data.draw(
            st.none() | st.sampled_from([ZERO, e.total]) | cents(-100, int(e.total * 100) + 100)
        )
        should_pass = balance is None or balance >= 0
        passed = self.attempt(should_pass, invoice.set_source_balance, balance)
        if passed and balance != e.source_balance:
            e.source_balance = balance
            e.arbridge_in_source = ZERO if balance is None else self.sums(invoice.pk)[1]

    @rule(data=st.data())
    def report_source_total(self, data) -> None:
        invoice = data.draw(st.sampled_from(self.invoices))
        committed = self.committed(invoice.pk)
        total = data.draw(st.sampled_from([committed, committed - D("0.01")]) | cents(-100, 25_000))
        if self.attempt(total >= committed and total >= 0, invoice.set_total, total):
            self.expected[invoice.pk].total = total

    @rule(data=st.data())
    def void(self, data) -> None:
        invoice = data.draw(st.sampled_from(self.invoices))
        e = self.expected[invoice.pk]
        if self.attempt(e.void or self.committed(invoice.pk) == 0, invoice.void):
            e.void = True

    # -- after every step ---------------------------------------------------------

    @invariant()
    def every_invoice_adds_up(self) -> None:
        allocations = list(PaymentAllocation.objects.select_related("payment"))
        credits = list(Credit.objects.all())
        for invoice in Invoice.objects.all():
            mine = [a for a in allocations if a.invoice_id == invoice.pk]
            paid = sum((a.amount for a in mine if a.payment.status == S.SUCCEEDED), ZERO)
            pending = sum((a.amount for a in mine if a.payment.status == S.PENDING), ZERO)
            credited = sum((c.amount for c in credits if c.invoice_id == invoice.pk), ZERO)

            assert ZERO <= invoice.balance <= invoice.total
            assert invoice.source_adjustment >= 0
            assert paid + pending + credited <= invoice.total
            assert invoice.payable == max(ZERO, invoice.balance - pending) >= 0
            if invoice.status == Invoice.Status.VOID:
                assert invoice.balance == 0 and invoice.voided_at is not None
            else:
                assert invoice.balance == (
                    invoice.total - paid - credited - invoice.source_adjustment
                )
                if invoice.balance == 0:
                    assert invoice.status == Invoice.Status.PAID
                elif invoice.balance < invoice.total:
                    assert invoice.status == Invoice.Status.PARTIALLY_PAID
                else:
                    assert invoice.status == Invoice.Status.OPEN

            assert invoice.total == self.expected[invoice.pk].total
            assert invoice.balance == self.balance(invoice.pk)
            assert invoice.source_adjustment == self.adjustment(invoice.pk)

    @invariant()
    def no_payment_is_applied_beyond_its_amount(self) -> None:
        for payment in Payment.objects.all():
            assert payment.unapplied >= 0


@pytest.mark.django_db
def test_the_ledger_holds_its_invariants():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_source_side_changes_give_one_balance_in_any_order(db, data):
    """External payments, credits, a new total and a source balance commute."""
    total = data.draw(cents(0, 20_000), label="total")
    amounts = data.draw(st.lists(cents(1, 5_000), max_size=4), label="amounts")
    changes = [(data.draw(st.sampled_from(["payment", "credit"])), a) for a in amounts]
    changes.append(("source_balance", data.draw(cents(0, 20_000), label="source balance")))
    changes.append(("total", data.draw(cents(0, 20_000), label="new total")))
    applied = sum(amounts, ZERO)
    assume(applied <= min(total, changes[-1][1]))
    orders = [changes, data.draw(st.permutations(changes), label="the other order")]

    results = []
    for order in orders:
        with transaction.atomic():
            results.append(apply_in_order(total, order))
            transaction.set_rollback(True)
    assert results[0] == results[1]


def apply_in_order(total: Decimal, changes: list[tuple[str, Decimal]]) -> tuple:
    partner = Partner.objects.create(name="Acme IT")
    customer = Customer.objects.create(partner=partner, name="Globex")
    invoice = Invoice.objects.create(
        partner=partner, customer=customer, number="INV-1", total=total, issue_date=dt.date.today()
    )
    for kind, amount in changes:
        if kind == "payment":
            payment = Payment.objects.create(
                partner=partner, amount=amount, status=S.SUCCEEDED, origin=EXTERNAL
            )
            payment.allocate(invoice, amount)
        elif kind == "credit":
            Credit.apply(invoice, amount)
        elif kind == "source_balance":
            invoice.set_source_balance(amount)
        else:
            invoice.set_total(amount)
    invoice.refresh_from_db()
    return invoice.total, invoice.balance, invoice.source_adjustment, invoice.status
