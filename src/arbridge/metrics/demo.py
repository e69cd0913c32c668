"""A year of invoicing and payments for the demo partner, so the charts tell a story.

Thirteen months: the twelve the charts show, and the one before, so that the
first month's DSO already has unpaid invoices behind it.

Customers pay about two months after the invoice until auto pay is turned on,
six months ago; from then most of them are charged on the due date and the
rest pay sooner, reminded. DSO falls, the share collected by auto pay rises,
and a few old invoices stay unpaid in the 90+ bucket.

Written only through the ledger's own operations (Invoice, Payment.allocate,
Credit.apply, Invoice.void), seeded, and once: the invoices are numbered
NW-H-..., apart from anything a connection brings. The auto pay enrollments
are suspended, since their cards are not at this server's processor: the
history shows what auto pay did, and nothing is charged from it.
"""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction

from arbridge.autopay.models import Attempt, Enrollment
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.ledger.models import Credit, Customer, Invoice, Payment
from arbridge.metrics.models import MetricsSettings
from arbridge.payments.models import SavedMethod

PREFIX = "NW-H-"
MONTHS = 13
AUTOPAY_MONTHS_AGO = 6
CUSTOMERS = [
    "Contoso Dental",
    "Fabrikam Logistics",
    "Tailspin Toys",
    "Wingtip Legal",
    "Litware Accounting",
    "Adatum Clinics",
    "Proseware Architects",
    "Woodgrove Credit Union",
    "Alpine Ski House",
    "Coho Winery",
    "Lucerne Publishing",
    "Margie's Travel",
    "Northwind Traders",
    "Trey Research",
    "Relecloud Media",
    "VanArsdel Foods",
    "Humongous Insurance",
    "Blue Yonder Airlines",
]
# Of the customers, these come to pay by auto pay once it is on.
ENROLLED = 11


def seed_demo(partner: Partner) -> int:
    """Seed the partner's history once; return the number of invoices made (0 if already)."""
    if Invoice.objects.for_partner(partner).filter(number__startswith=PREFIX).exists():
        return 0
    rng = random.Random(2026)
    today = clock.today()
    autopay_on = today - dt.timedelta(days=AUTOPAY_MONTHS_AGO * 30)
    made = 0
    with transaction.atomic():
        customers = [
            Customer.objects.create(
                partner=partner, name=name, email=f"ap@{name.split()[0].lower()}.example"
            )
            for name in CUSTOMERS
        ]
        enrollments = {c.pk: enroll(c, autopay_on) for c in customers[:ENROLLED]}
        fees = {c.pk: Decimal(rng.randrange(900, 7_500)) for c in customers}
        first = today.replace(day=1)
        for _ in range(MONTHS - 1):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        for month in range(MONTHS):
            issued = add_months(first, month)
            for customer in customers:
                made += 1
                total = (fees[customer.pk] * Decimal(rng.uniform(0.9, 1.15))).quantize(
                    Decimal("0.01")
                )
                invoice = Invoice.objects.create(
                    partner=partner,
                    customer=customer,
                    number=f"{PREFIX}{made:05d}",
                    issue_date=issued,
                    due_date=issued + dt.timedelta(days=30),
                    terms="Net 30",
                    total=total,
                )
                settle(invoice, rng, today, autopay_on, enrollments.get(customer.pk))
        MetricsSettings.objects.update_or_create(
            partner=partner, defaults={"live_since": autopay_on}
        )
    return made


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    return day.replace(year=day.year + year, month=month + 1)


def enroll(customer: Customer, since: dt.date) -> Enrollment:
    method = SavedMethod.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        processor="sandbox",
        token=f"pm_demo_history_{customer.pk}",
        kind="card",
        brand="Visa",
        last4="4242",
    )
    enrollment = Enrollment.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        method=method,
        source=Enrollment.Source.PORTAL,
        evidence={"demo": "history", "at": since.isoformat()},
    )
    enrollment.suspend("Demo history: the card is not at this server's processor.")
    return enrollment


def settle(
    invoice: Invoice,
    rng: random.Random,
    today: dt.date,
    autopay_on: dt.date,
    enrollment: Enrollment | None,
) -> None:
    """Pay, part-pay, credit or void the invoice as customers did, up to today."""
    roll = rng.random()
    if roll < 0.01:
        invoice.void()
        return
    if roll < 0.04:
        Credit.apply(
            invoice,
            (invoice.total * Decimal("0.1")).quantize(Decimal("0.01")),
            date=invoice.issue_date + dt.timedelta(days=10),
            reference="Service credit",
        )
    autopaid = enrollment is not None and invoice.due_date >= autopay_on
    if autopaid:
        days, method = 30, Payment.Method.CARD
    elif invoice.issue_date >= autopay_on:
        days, method = max(15, int(rng.gauss(40, 9))), rng.choice(["ach", "check", "card"])
    else:
        if rng.random() < 0.03:
            return  # never paid: it ages into 90+
        days, method = max(20, int(rng.gauss(64, 14))), rng.choice(["check", "check", "ach"])
    paid_on = invoice.issue_date + dt.timedelta(days=days)
    invoice.refresh_from_db()
    owed = invoice.balance
    if paid_on > today or owed <= 0:
        return
    if not autopaid and rng.random() < 0.1:
        # Half now, the rest a month later (if that has come yet).
        half = (owed / 2).quantize(Decimal("0.01"))
        pay(invoice, half, paid_on, method)
        later = paid_on + dt.timedelta(days=30)
        if later <= today:
            pay(invoice, owed - half, later, method)
        return
    payment = pay(invoice, owed, paid_on, method)
    if autopaid:
        Attempt.objects.create(
            partner_id=invoice.partner_id,
            invoice=invoice,
            enrollment=enrollment,
            method=enrollment.method,
            method_kind="card",
            method_brand="Visa",
            method_last4="4242",
            amount=owed,
            currency=invoice.currency,
            status=Attempt.Status.SUCCEEDED,
            payment=payment,
        )


def pay(invoice: Invoice, amount: Decimal, day: dt.date, method: str) -> Payment:
    payment = Payment.objects.create(
        partner_id=invoice.partner_id,
        customer=invoice.customer,
        amount=amount,
        currency=invoice.currency,
        date=day,
        method=method,
        status=Payment.Status.SUCCEEDED,
        reference=f"demo-{invoice.number}-{day.isoformat()}",
    )
    payment.allocate(invoice, amount)
    return payment
