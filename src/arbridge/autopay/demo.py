"""The demo's auto pay: customers enrolled, a rule, charges made and coming up, a soft decline.

`seed_demo(partner)` runs once the partner collects through the sandbox
processor (core/demo.py's `use_sandbox_processor`) and its invoices have
synced. It saves test cards at the processor as customers enrolling would,
enrolls a handful of customers with the partner's evidence, turns auto pay on
with one rule ("on the due date, up to 5,000"), and runs the real runner:
what is overdue is charged (re-read from its source first, written back
after), and one customer's card declines for insufficient funds, is retried,
and waits for its next retry. The first run is made as of RETRY_GAP days ago,
so the retry is due now; the invoices coming due later are the upcoming
charges.

The sandbox processor keeps its accounts in the server's memory, so each
start opens a new one: run again, `seed_demo` saves the enrolled customers'
cards anew at the new account and keeps their enrollments.
"""

import datetime as dt
import logging
from decimal import Decimal

import httpx
from django.db import transaction

from arbridge.autopay import runner
from arbridge.autopay.models import DEFAULT_RETRY_DAYS, AutopaySettings, Enrollment, Rule
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.ledger.models import Customer, Invoice
from arbridge.payments.models import PaymentSettings, SavedMethod
from arbridge.payments.services import processor_for

logger = logging.getLogger(__name__)

# Stripe's test cards (sandbox/processor/numbers.py): one that pays, one that soft-declines.
GOOD_CARD = "4242424242424242"
GOOD_MASTERCARD = "5555555555554444"
SOFT_DECLINE = "4000000000009995"  # insufficient funds: retried on the schedule
CARD_FIELDS = {"expiry": "12/34", "cvc": "123", "postal_code": "94107"}
ENROLLED = 5
RETRY_GAP = int(DEFAULT_RETRY_DAYS.split(",")[0])
CAP = Decimal("5000.00")


def seed_demo(partner: Partner) -> runner.Report | None:
    """Enroll some of the partner's customers and run auto pay; None if it cannot yet.

    Needs the sandbox processor (PaymentSettings) and customers with open invoices.
    """
    payment_settings = PaymentSettings.of(partner)
    if payment_settings.processor != PaymentSettings.Processor.SANDBOX:
        logger.warning("Auto pay demo: %s does not collect through the sandbox processor", partner)
        return None
    enrollments = list(Enrollment.objects.for_partner(partner).select_related("customer", "method"))
    if enrollments:
        # A new processor account since the last start: the same cards, saved there again.
        for enrollment in enrollments:
            if enrollment.status == Enrollment.Status.ACTIVE and enrollment.method is not None:
                number = card_number(enrollment.method)
                enroll(payment_settings, enrollment.customer, number, enrollment.pilot)
        return runner.run(partner_id=partner.pk)
    customers = customers_to_enroll(partner)
    if not customers:
        logger.warning("Auto pay demo: %s has no customer with an open invoice yet", partner)
        return None
    with transaction.atomic():
        settings = AutopaySettings.of(partner)
        settings.enabled = True
        settings.save()
        Rule.objects.create(
            partner=partner,
            priority=10,
            trigger=Rule.Trigger.AFTER_DUE,
            days=0,
            amount_cap=CAP,
        )
    for n, customer in enumerate(customers):
        number = SOFT_DECLINE if n == 0 else (GOOD_CARD if n % 2 else GOOD_MASTERCARD)
        enroll(payment_settings, customer, number, pilot=n < 3)
    now = clock.now()
    # As of a few days ago (the charges made then), then now (the soft decline's retry).
    report = runner.run(now=now - dt.timedelta(days=RETRY_GAP), partner_id=partner.pk)
    later = runner.run(now=now, partner_id=partner.pk)
    logger.info("Auto pay demo: %s, then %s", report, later)
    return later


def customers_to_enroll(partner: Partner) -> list[Customer]:
    """Return the customers with the most open invoices, some overdue and some not yet due."""
    open_invoices = Invoice.objects.for_partner(partner).filter(
        archived=False, status__in=runner.OPEN, balance__gt=0, balance__lte=CAP
    )
    counts: dict[int, int] = {}
    for customer_id in open_invoices.values_list("customer_id", flat=True):
        counts[customer_id] = counts.get(customer_id, 0) + 1
    customers = Customer.objects.for_partner(partner).filter(
        pk__in=list(counts), archived=False, unknown_for__isnull=True
    )
    return sorted(customers, key=lambda c: (-counts[c.pk], c.name, c.pk))[:ENROLLED]


def card_number(method: SavedMethod) -> str:
    """Return the test card a saved method was made from, by its brand and the runner's record."""
    if method.last4 == SOFT_DECLINE[-4:]:
        return SOFT_DECLINE
    return GOOD_MASTERCARD if method.brand == "mastercard" else GOOD_CARD


def enroll(
    payment_settings: PaymentSettings, customer: Customer, number: str, pilot: bool
) -> Enrollment:
    """Save a test card at the processor for the customer and enroll it, as the partner would."""
    credentials = payment_settings.credentials
    headers = {"Authorization": f"Bearer {credentials['api_key']}"}
    # Reference: the sandbox processor's POST /v1/tokens (sandbox/processor/app.py)
    with httpx.Client(base_url=credentials["base_url"], headers=headers, timeout=30) as http:
        answer = http.post("/v1/tokens", json={"kind": "card", "number": number, **CARD_FIELDS})
        answer.raise_for_status()
    details = processor_for(payment_settings).save_method(
        answer.json()["id"], customer.name, customer.email
    )
    with transaction.atomic():
        method = SavedMethod.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            processor=payment_settings.processor,
            token=details.token,
            processor_customer=details.processor_customer,
            kind=details.kind.value,
            brand=details.brand,
            last4=details.last4,
            funding=details.funding.value,
        )
        return Enrollment.enroll(
            method,
            source=Enrollment.Source.PARTNER,
            evidence={
                "authorized_by": f"Accounts payable at {customer.name}",
                "how": "signed auto pay form (demo)",
                "recorded_by": "the demo",
            },
            pilot=pilot,
        )
