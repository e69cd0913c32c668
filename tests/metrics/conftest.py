"""A ledger small enough to add up by hand, at 2025-04-15 (see test_figures.py for the sums).

USD, for Acme:
    A  issued 04-01, due 05-01, 1,000.00 open                      -> current
    B  issued 03-01, due 03-31,   500.00, 200.00 paid 04-05 (ACH)   -> 300.00, 1-30
    C  issued 01-15, due 02-14,   800.00, credit 100.00 on 03-01   -> 700.00, 31-60 (60 days)
    D  issued 12-01, due 12-31,   400.00 open                      -> 90+ (105 days)
    G  issued 02-01, due 03-03,   600.00, paid 03-13 by auto pay (card)
    V  issued 03-15, 999.00, void; R issued 03-10, 777.00, archived: neither counts
EUR: H issued 03-20, due 04-19, 250.00 open -> current
The other partner has a 5,000.00 USD invoice 100 days overdue, which Acme never sees.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from arbridge.autopay.models import Attempt, Enrollment
from arbridge.integrations.models import Connection, OutboundCommand
from arbridge.ledger.models import Credit, Customer, Invoice, Payment
from arbridge.payments.models import SavedMethod

TODAY = dt.date(2025, 4, 15)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def today():
    with time_machine.travel(dt.datetime(2025, 4, 15, 12, tzinfo=dt.UTC), tick=False):
        yield TODAY


def invoice(customer, number, total, issued, due=None, currency="USD", **fields) -> Invoice:
    return Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        currency=currency,
        issue_date=issued,
        due_date=due,
        total=Decimal(total),
        **fields,
    )


def pay(invoice_, amount, day, method=Payment.Method.CARD) -> Payment:
    payment = Payment.objects.create(
        partner_id=invoice_.partner_id,
        customer=invoice_.customer,
        amount=Decimal(amount),
        currency=invoice_.currency,
        date=day,
        method=method,
        status=Payment.Status.SUCCEEDED,
    )
    payment.allocate(invoice_, Decimal(amount))
    return payment


@pytest.fixture
def book(partner, other_partner, today) -> dict[str, Invoice]:
    d = dt.date
    globex = Customer.objects.create(partner=partner, name="Globex")
    initech = Customer.objects.create(partner=partner, name="Initech")
    rows = {
        "A": invoice(globex, "A", "1000.00", d(2025, 4, 1), d(2025, 5, 1)),
        "B": invoice(globex, "B", "500.00", d(2025, 3, 1), d(2025, 3, 31)),
        "C": invoice(initech, "C", "800.00", d(2025, 1, 15), d(2025, 2, 14)),
        "D": invoice(initech, "D", "400.00", d(2024, 12, 1), d(2024, 12, 31)),
        "G": invoice(globex, "G", "600.00", d(2025, 2, 1), d(2025, 3, 3)),
        "V": invoice(globex, "V", "999.00", d(2025, 3, 15), d(2025, 4, 14)),
        "R": invoice(initech, "R", "777.00", d(2025, 3, 10), d(2025, 4, 9)),
        "H": invoice(globex, "H", "250.00", d(2025, 3, 20), d(2025, 4, 19), currency="EUR"),
    }
    pay(rows["B"], "200.00", d(2025, 4, 5), Payment.Method.ACH)
    Credit.apply(rows["C"], Decimal("100.00"), date=d(2025, 3, 1))
    autopaid = pay(rows["G"], "600.00", d(2025, 3, 13))
    method = SavedMethod.objects.create(
        partner=partner, customer=globex, processor="sandbox", token="pm_1", kind="card"
    )
    enrollment = Enrollment.objects.create(partner=partner, customer=globex, method=method)
    Attempt.objects.create(
        partner=partner,
        invoice=rows["G"],
        enrollment=enrollment,
        method=method,
        amount=Decimal("600.00"),
        status=Attempt.Status.SUCCEEDED,
        payment=autopaid,
    )
    rows["V"].void()
    rows["R"].archive()
    outsider = Customer.objects.create(partner=other_partner, name="Outsider")
    invoice(outsider, "X", "5000.00", d(2025, 1, 1), d(2025, 1, 5))
    for row in rows.values():
        row.refresh_from_db()
    return rows


@pytest.fixture
def written_back(partner, other_partner, today) -> None:
    """Three payments and a deposit written back for Acme in April, one for the other partner."""
    for owner in (partner, other_partner):
        connection = Connection.objects.create(partner=owner, kind="qbo", role="primary")
        actions = (
            ["create_payment"] * 3 + ["create_deposit"] if owner == partner else ["create_payment"]
        )
        for n, action in enumerate(actions + ["create_payment"]):
            OutboundCommand.objects.create(
                partner=owner,
                connection=connection,
                action=action,
                idempotency_key=f"{owner.pk}-{n}",
                # The last one is still owed: it saved no one any time yet.
                status="done" if n < len(actions) else "pending",
            )
