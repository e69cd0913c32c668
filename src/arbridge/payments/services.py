"""Taking payments: a customer's checkout, from choosing invoices to the processor's answer.

A checkout is paid in three steps, each its own transaction:

1. `pay` locks the checkout and, if it is still open, holds the money on its
   invoices with a pending ledger Payment (so two checkouts cannot pay the same
   balance) and marks it processing. A second submit finds it processing or
   done and charges nothing.
2. The processor is asked to charge, with an idempotency key derived from the
   checkout's key: a retry after a crash or a timeout is the same charge.
3. `settle` applies the result: succeeded -> the payment succeeds and, in the
   same transaction, its write-backs are owed (integrations/writeback.py);
   pending (ACH) -> the money stays held until the processor reports the
   debit settled; requires action -> the customer authenticates and comes
   back to `resume`; failed -> the hold is released and the invoices are as
   they were.

What the processor reports afterwards (an ACH debit settling or coming back,
refunds, payouts, money without a payment) is payments/events.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO, format_money, quantize
from arbridge.integrations import writeback
from arbridge.ledger.models import Customer, Invoice, LedgerError, Payment
from arbridge.payments import base, processors, signals, surcharge
from arbridge.payments.models import (
    Checkout,
    CheckoutLine,
    PaymentSettings,
    SavedMethod,
)

logger = logging.getLogger(__name__)

Status = Checkout.Status
# A checkout whose charge was interrupted is asked again after this long.
RECOVER_AFTER = dt.timedelta(minutes=1)
# A customer who never finished authenticating has abandoned the checkout.
ABANDONED_AFTER = dt.timedelta(hours=1)


class CheckoutError(ValueError):
    """A checkout that cannot go ahead; the message is for the customer."""


def processor_for(partner: Partner | int | PaymentSettings) -> base.Processor:
    """Return the partner's processor; given its settings already read, read nothing again."""
    settings = partner if isinstance(partner, PaymentSettings) else PaymentSettings.of(partner)
    return processors.build(settings.processor, settings.credentials)


# -- the customer's side: choose, pay, authenticate -------------------------------


def open_checkout(customer: Customer, amounts: Mapping[Invoice, Decimal]) -> Checkout:
    """Start paying some of a customer's invoices, each in full or in part."""
    if not amounts:
        raise CheckoutError("Choose at least one invoice to pay.")
    currencies = {invoice.currency for invoice in amounts}
    if len(currencies) > 1:
        raise CheckoutError("Invoices in different currencies must be paid separately.")
    lines = []
    for invoice, amount in sorted(amounts.items(), key=lambda item: item[0].pk):
        if invoice.customer_id != customer.pk or invoice.partner_id != customer.partner_id:
            raise CheckoutError(f"Invoice {invoice.number} is not yours to pay.")
        amount = quantize(amount, invoice.currency)
        payable = invoice.payable
        if amount <= 0:
            raise CheckoutError(f"Enter an amount above zero for invoice {invoice.number}.")
        if amount > payable:
            raise CheckoutError(
                f"Invoice {invoice.number} has {format_money(payable, invoice.currency)} "
                "left to pay."
            )
        lines.append((invoice, amount))
    with transaction.atomic():
        checkout = Checkout.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            currency=currencies.pop(),
            processor=PaymentSettings.of(customer.partner_id).processor,
        )
        CheckoutLine.objects.bulk_create(
            CheckoutLine(partner_id=customer.partner_id, checkout=checkout, invoice=i, amount=a)
            for i, a in lines
        )
    return checkout


def choose_method(checkout: Checkout, token: str, *, save: bool = False) -> Checkout:
    """Take the tokenized method the customer entered, and price the surcharge for it."""
    details = processor_for(checkout.partner_id).describe(token)
    return _use_method(checkout, details, save=save and not details.reusable)


def choose_saved_method(checkout: Checkout, saved: SavedMethod) -> Checkout:
    if saved.customer_id != checkout.customer_id or saved.removed_at:
        raise CheckoutError("That payment method is not available.")
    details = base.MethodDetails(
        token=saved.token,
        kind=base.MethodKind(saved.kind),
        brand=saved.brand,
        last4=saved.last4,
        funding=base.Funding(saved.funding),
        reusable=True,
        processor_customer=saved.processor_customer,
    )
    checkout = _use_method(checkout, details, save=False)
    checkout.saved_method = saved
    checkout.save(update_fields=["saved_method"])
    return checkout


def _use_method(checkout: Checkout, details: base.MethodDetails, *, save: bool) -> Checkout:
    settings = PaymentSettings.of(checkout.partner_id)
    rate = surcharge.rate_for(
        settings.surcharge_enabled,
        settings.surcharge_rate,
        details,
        checkout.customer.billing_state,
    )
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status != Status.OPEN:
            raise CheckoutError("This checkout is already paid or closed.")
        lines = list(checkout.lines.all())
        amounts = surcharge.surcharges((ln.amount for ln in lines), rate, checkout.currency)
        for line, amount in zip(lines, amounts, strict=True):
            line.surcharge = amount
        CheckoutLine.objects.bulk_update(lines, ["surcharge"])
        checkout.method_token = details.token
        checkout.method_kind = details.kind.value
        checkout.method_brand = details.brand
        checkout.method_last4 = details.last4
        checkout.method_funding = details.funding.value
        checkout.save_method = save
        checkout.saved_method = None
        checkout.surcharge_rate = rate
        checkout.updated_at = clock.now()
        checkout.save()
    return checkout


def pay(
    checkout_key: uuid.UUID | str,
    *,
    return_url: str = "",
    receipt_email: str | None = None,
    save_method: bool | None = None,
    customer_ip: str | None = None,
    user_agent: str = "",
) -> Checkout:
    """Charge the checkout once, however often it is submitted.

    The customer's IP address and browser are kept with the checkout: an ACH
    debit's mandate accepted online carries them; so are the receipt address
    and whether to save the method, when given.
    """
    # A checkout's lines are fixed when it opens: read them before taking the
    # database's write lock, which every checkout queues for.
    lines = list(CheckoutLine.objects.filter(checkout__key=checkout_key).select_related("invoice"))
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(key=checkout_key)
        if checkout.status != Status.OPEN:
            return checkout
        if not checkout.method_token:
            raise CheckoutError("Choose how to pay first.")
        if receipt_email is not None:
            checkout.receipt_email = receipt_email
        if save_method is not None:
            checkout.save_method = save_method
        try:
            checkout.payment = hold(checkout, lines)
        except LedgerError as e:
            return close(checkout, Status.FAILED, f"{e}. Nothing was charged.")
        checkout.status = Status.PROCESSING
        checkout.customer_ip, checkout.user_agent = customer_ip or None, user_agent[:500]
        checkout.return_url = return_url
        checkout.updated_at = clock.now()
        checkout.save()
    return charge(checkout)


def hold(checkout: Checkout, lines: list[CheckoutLine]) -> Payment:
    """Hold the checkout's amounts on its invoices (its `lines`) with a pending payment."""
    payment = Payment.objects.create(
        partner_id=checkout.partner_id,
        customer_id=checkout.customer_id,
        amount=sum((line.amount for line in lines), ZERO),
        currency=checkout.currency,
        method=Payment.Method.ACH if checkout.method_kind == "ach" else Payment.Method.CARD,
        reference=f"Checkout {checkout.key}",
    )
    for line in lines:
        payment.allocate(line.invoice, line.amount)
    return payment


def charge(checkout: Checkout) -> Checkout:
    """Ask the processor for the checkout's charge; a repeat is the same charge."""
    processor = processor_for(checkout.partner_id)
    numbers = ", ".join(checkout.lines.values_list("invoice__number", flat=True))
    request = base.Charge(
        operation_id=f"checkout-{checkout.key}",
        amount=checkout.total,
        currency=checkout.currency,
        method=checkout.method_token,
        description=f"Invoices {numbers}",
        metadata={"checkout": str(checkout.key), "partner": str(checkout.partner_id)},
        return_url=checkout.return_url,
        save_method=checkout.save_method,
        processor_customer=checkout.saved_method.processor_customer
        if checkout.saved_method
        else "",
        customer_ip=checkout.customer_ip or "",
        user_agent=checkout.user_agent,
    )
    try:
        result = processor.capture(request)
    except base.ProcessorError:
        # Left processing: `recover_checkouts` asks again with the same key.
        logger.warning("Charging checkout %s failed; it will be asked again", checkout.key)
        return checkout
    return settle(checkout, result)


def resume(checkout: Checkout) -> Checkout:
    """Re-read the payment after the customer authenticated it (or gave up)."""
    if checkout.status != Status.REQUIRES_ACTION or not checkout.processor_reference:
        return checkout
    result = processor_for(checkout.partner_id).retrieve(checkout.processor_reference)
    return settle(checkout, result)


def settle(checkout: Checkout, result: base.PaymentResult) -> Checkout:
    """Apply a charge's result to the checkout and its payment, once."""
    with transaction.atomic():
        checkout = (
            Checkout.objects.select_for_update(of=("self",))
            .select_related("payment")
            .get(pk=checkout.pk)
        )
        if checkout.is_done:
            return checkout
        payment = checkout.payment
        if result.reference and payment.processor_reference != result.reference:
            payment.processor_reference = result.reference
            payment.save(update_fields=["processor_reference"])
            checkout.processor_reference = result.reference
        if result.saved_method and checkout.save_method:
            checkout.saved_method = keep_method(checkout, result.saved_method)
        match result.outcome:
            case base.Outcome.SUCCEEDED:
                succeed(payment)
                return close(checkout, Status.SUCCEEDED)
            case base.Outcome.PENDING:
                if PaymentSettings.of(checkout.partner_id).ach_writeback_at_initiation:
                    writeback.payment_succeeded(payment, pending_ok=True)
                return close(checkout, Status.PENDING)
            case base.Outcome.REQUIRES_ACTION:
                checkout.action_url = result.action_url
                return close(checkout, Status.REQUIRES_ACTION)
            case base.Outcome.FAILED:
                payment.set_status(Payment.Status.FAILED)
                return close(checkout, Status.FAILED, decline_message(result))
    raise AssertionError(f"unknown outcome {result.outcome}")


def close(checkout: Checkout, status: str, error: str = "") -> Checkout:
    checkout.status = status
    checkout.error_message = error[:500]
    checkout.updated_at = clock.now()
    checkout.save()
    if status in (Status.SUCCEEDED, Status.PENDING):
        # However it got here: the customer's request, a webhook, the minute poll.
        transaction.on_commit(lambda: signals.checkout_paid.send(Checkout, checkout_id=checkout.pk))
    return checkout


def succeed(payment: Payment) -> None:
    """Count the payment as paid and owe its write-backs, in the caller's transaction."""
    payment.set_status(Payment.Status.SUCCEEDED)
    writeback.payment_succeeded(payment)


def decline_message(result: base.PaymentResult) -> str:
    """Return what the customer is told about a failed charge."""
    reason = result.error_message or "The payment was declined."
    if result.decline == base.Decline.SOFT:
        return f"{reason} You can try again later or use another method."
    return f"{reason} Please use another card or pay by bank account."


def keep_method(checkout: Checkout, details: base.MethodDetails) -> SavedMethod:
    saved, _ = SavedMethod.objects.get_or_create(
        partner_id=checkout.partner_id,
        processor=checkout.processor,
        token=details.token,
        defaults={
            "customer_id": checkout.customer_id,
            "processor_customer": details.processor_customer,
            "kind": details.kind.value,
            "brand": details.brand,
            "last4": details.last4,
            "funding": details.funding.value,
        },
    )
    return saved


def recover_checkouts(now: dt.datetime | None = None) -> int:
    """Ask again for charges interrupted mid-way; give up on abandoned authentications.

    Return how many checkouts were looked at.
    """
    now = now or clock.now()
    stuck = Checkout.objects.filter(
        status=Status.PROCESSING, updated_at__lt=now - RECOVER_AFTER
    ).select_related("saved_method")
    abandoned = Checkout.objects.filter(
        status=Status.REQUIRES_ACTION, updated_at__lt=now - ABANDONED_AFTER
    )
    count = 0
    for checkout in stuck:
        charge(checkout)
        count += 1
    for checkout in abandoned:
        processor = processor_for(checkout.partner_id)
        try:
            result = processor.retrieve(checkout.processor_reference)
            if result.outcome == base.Outcome.REQUIRES_ACTION:
                result = processor.cancel(checkout.processor_reference, f"cancel-{checkout.key}")
        except base.ProcessorError:
            continue
        if result.outcome == base.Outcome.REQUIRES_ACTION:
            continue
        settle(checkout, result)
        count += 1
    return count
