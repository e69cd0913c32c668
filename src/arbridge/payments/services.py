"""Taking payments: checkouts, processor results and events, payouts, unmatched money.

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

Processor events (webhooks or polling) are applied once each: an ACH debit
settling is written back then (or at initiation, when the partner prefers),
a return reverses the write-back, reopens the invoice and tells the partner;
a payout becomes a ledger Deposit with its payments, surcharges and fees,
owed to every accounting connection that wants deposits; money that arrives
with no payment is matched by invoice number and amount, or waits in the
Unmatched queue for a person.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import transaction

from arbridge.core import clock
from arbridge.core.models import Membership, Partner
from arbridge.core.money import ZERO, format_money, quantize
from arbridge.integrations import writeback
from arbridge.integrations.models import ExceptionItem
from arbridge.ledger.models import Customer, Deposit, DepositLine, Invoice, LedgerError, Payment
from arbridge.payments import base, processors, signals, surcharge
from arbridge.payments.models import (
    Checkout,
    CheckoutLine,
    PaymentSettings,
    Payout,
    ProcessorEvent,
    SavedMethod,
    UnmatchedFunds,
)

logger = logging.getLogger(__name__)

Status = Checkout.Status
# A checkout whose charge was interrupted is asked again after this long.
RECOVER_AFTER = dt.timedelta(minutes=1)
# A customer who never finished authenticating has abandoned the checkout.
ABANDONED_AFTER = dt.timedelta(hours=1)


class CheckoutError(ValueError):
    """A checkout that cannot go ahead; the message is for the customer."""


def processor_for(partner: Partner | int) -> base.Processor:
    settings = PaymentSettings.of(partner)
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
            return _close(checkout, Status.FAILED, f"{e}. Nothing was charged.")
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
                return _close(checkout, Status.SUCCEEDED)
            case base.Outcome.PENDING:
                if PaymentSettings.of(checkout.partner_id).ach_writeback_at_initiation:
                    writeback.payment_succeeded(payment, pending_ok=True)
                return _close(checkout, Status.PENDING)
            case base.Outcome.REQUIRES_ACTION:
                checkout.action_url = result.action_url
                return _close(checkout, Status.REQUIRES_ACTION)
            case base.Outcome.FAILED:
                payment.set_status(Payment.Status.FAILED)
                return _close(checkout, Status.FAILED, decline_message(result))
    raise AssertionError(f"unknown outcome {result.outcome}")


def _close(checkout: Checkout, status: str, error: str = "") -> Checkout:
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


# -- the processor's side: events, payouts, unmatched money -------------------------------


def apply_event(partner: Partner | int, event: base.Event) -> bool:
    """Apply one processor event, once; return False if it was applied before."""
    partner_id = partner if isinstance(partner, int) else partner.pk
    with transaction.atomic():
        _, created = ProcessorEvent.objects.get_or_create(
            partner_id=partner_id,
            event_id=event.id,
            defaults={"kind": event.kind.value, "reference": event.reference},
        )
        if not created:
            return False
        HANDLERS[event.kind](partner_id, event)
    return True


def poll_processor(partner: Partner | int) -> int:
    """Apply the processor's events since the last poll; return how many were new."""
    settings = PaymentSettings.of(partner)
    events, cursor = processor_for(settings.partner_id).events(settings.events_cursor)
    applied = sum(apply_event(settings.partner_id, event) for event in events)
    if cursor != settings.events_cursor:
        PaymentSettings.objects.filter(pk=settings.pk).update(events_cursor=cursor)
    return applied


def find_payment(partner_id: int, reference: str) -> Payment | None:
    if not reference:
        return None
    return (
        Payment.objects.for_partner(partner_id)
        .filter(processor_reference=reference)
        .order_by("pk")
        .first()
    )


def on_succeeded(partner_id: int, event: base.Event) -> None:
    """An ACH debit settled, or a card payment completed after authentication."""
    payment = find_payment(partner_id, event.reference)
    if payment is None:
        logger.warning("Processor reports unknown payment %s succeeded", event.reference)
        return
    if payment.status == Payment.Status.PENDING:
        succeed(payment)
    checkout = Checkout.objects.filter(payment=payment).first()
    if checkout and not checkout.is_done:
        _close(checkout, Status.SUCCEEDED)


def on_failed(partner_id: int, event: base.Event) -> None:
    """A payment failed after it started: an authentication failed, an ACH debit came back."""
    payment = find_payment(partner_id, event.reference)
    if payment is None or payment.status not in Payment.LIVE:
        return
    if payment.method == Payment.Method.ACH or event.return_code:
        return on_returned(partner_id, event)
    payment.set_status(Payment.Status.FAILED)
    checkout = Checkout.objects.filter(payment=payment).first()
    if checkout and not checkout.is_done:
        _close(checkout, Status.FAILED, event.message or "The payment failed.")


def on_returned(partner_id: int, event: base.Event) -> None:
    """An ACH debit came back: reverse the write-back, reopen the invoices, tell the partner."""
    payment = find_payment(partner_id, event.reference)
    if payment is None or payment.status not in Payment.LIVE:
        return
    settled = payment.status == Payment.Status.SUCCEEDED
    payment.set_status(Payment.Status.RETURNED)
    writeback.payment_reversed(payment)
    checkout = Checkout.objects.filter(payment=payment).first()
    if checkout and checkout.status != Status.FAILED:
        checkout.status = Status.FAILED
        checkout.error_message = f"Returned by the bank ({event.return_code or 'no code'})."
        checkout.updated_at = clock.now()
        checkout.save(update_fields=["status", "error_message", "updated_at"])
    numbers = ", ".join(payment.allocations.values_list("invoice__number", flat=True))
    amount = format_money(payment.amount, payment.currency)
    code = event.return_code or "no return code"
    why = f"{code}: {event.message}" if event.message else code
    tell_partner(
        partner_id,
        title=f"ACH payment returned {event.return_code}: invoices {numbers} reopened".strip(),
        reason=(
            f"The bank returned payment {payment.pk} of {amount} ({why}) "
            f"{'after' if settled else 'before'} it settled. Invoices {numbers} are "
            "open again and the payment is being removed from the connected systems."
        ),
        local_id=payment.pk,
    )


def on_refunded(partner_id: int, event: base.Event) -> None:
    """The payment was refunded at the processor (by arbridge or in its own dashboard)."""
    payment = find_payment(partner_id, event.reference)
    if payment is None or payment.status not in Payment.LIVE:
        return
    checkout = Checkout.objects.filter(payment=payment).first()
    charged = checkout.total if checkout else payment.amount
    if event.amount is not None and event.amount < charged:
        # The ledger knows whole refunds only: a person decides what the invoices lost.
        tell_partner(
            partner_id,
            title=f"Payment {payment.pk} partly refunded at the processor",
            reason=f"{format_money(event.amount, payment.currency)} of "
            f"{format_money(charged, payment.currency)} was refunded outside arbridge. "
            "The payment still counts in full here and in the connected systems; "
            "record the difference on the invoices it paid.",
            local_id=payment.pk,
        )
        return
    payment.set_status(Payment.Status.REFUNDED)
    writeback.payment_reversed(payment)


def on_payout(partner_id: int, event: base.Event) -> None:
    payout = event.payout
    if payout is None:
        since = (event.occurred_at or clock.now()).date() - dt.timedelta(days=7)
        payouts = processor_for(partner_id).payouts(since)
        payout = next((p for p in payouts if p.reference == event.reference), None)
    if payout is None:
        raise base.ProcessorError(f"payout {event.reference} is not listed yet")
    record_payout(partner_id, payout)


def on_funds(partner_id: int, event: base.Event) -> None:
    receive_funds(partner_id, event.reference, event.amount or ZERO, event.currency, event.memo)


HANDLERS = {
    base.EventKind.PAYMENT_SUCCEEDED: on_succeeded,
    base.EventKind.PAYMENT_FAILED: on_failed,
    base.EventKind.PAYMENT_RETURNED: on_returned,
    base.EventKind.PAYMENT_REFUNDED: on_refunded,
    base.EventKind.PAYOUT_PAID: on_payout,
    base.EventKind.FUNDS_RECEIVED: on_funds,
}


def tell_partner(partner_id: int, *, title: str, reason: str, local_id: int | None) -> None:
    """Show the partner an exception and email the members who handle money."""
    ExceptionItem.objects.create(
        partner_id=partner_id,
        kind=ExceptionItem.Kind.OTHER,
        title=title[:255],
        reason=reason,
        entity="payment",
        local_id=local_id,
    )
    recipients = sorted(
        {
            email
            for email in Membership.objects.filter(
                partner_id=partner_id,
                role__in=(Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.FINANCE),
            ).values_list("user__email", flat=True)
            if email
        }
    )
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                title, reason, django_settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True
            )
        )


def record_payout(partner: Partner | int, payout: base.Payout) -> Deposit:
    """Record a payout as a deposit of its payments, surcharges and fees; once per payout."""
    partner_id = partner if isinstance(partner, int) else partner.pk
    with transaction.atomic():
        row, _ = Payout.objects.get_or_create(
            partner_id=partner_id,
            reference=payout.reference,
            defaults={
                "amount": payout.amount,
                "currency": payout.currency,
                "arrival_date": payout.arrival_date,
            },
        )
        row = Payout.objects.select_for_update().get(pk=row.pk)
        if row.deposit_id:
            return row.deposit
        deposit = Deposit.objects.create(
            partner_id=partner_id,
            amount=payout.amount,
            currency=payout.currency,
            date=payout.arrival_date,
            processor_reference=payout.reference,
        )
        DepositLine.objects.bulk_create(deposit_lines(partner_id, deposit, payout))
        row.deposit = deposit
        row.save(update_fields=["deposit"])
        if not deposit.is_balanced():
            tell_partner(
                partner_id,
                title=f"Payout {payout.reference} does not add up",
                reason=f"Its items add up to {deposit.lines_total()}, the payout is "
                f"{deposit.amount}; nothing was written to the books.",
                local_id=None,
            )
        else:
            writeback.deposit_recorded(deposit)
    return deposit


def deposit_lines(partner_id: int, deposit: Deposit, payout: base.Payout) -> list[DepositLine]:
    """Return a payout's deposit lines: each payment, its surcharge apart, and the fees."""
    references = [item.payment_reference for item in payout.items]
    payments = {
        p.processor_reference: p
        for p in Payment.objects.for_partner(partner_id).filter(processor_reference__in=references)
    }
    lines, fees = [], ZERO

    def line(kind, amount, payment=None, description=""):
        lines.append(
            DepositLine(
                partner_id=partner_id,
                deposit=deposit,
                kind=kind,
                payment=payment,
                amount=amount,
                description=description[:255],
            )
        )

    for item in payout.items:
        fees += item.fee
        payment = payments.get(item.payment_reference)
        if item.kind in ("charge", "funds") and payment is not None:
            line(DepositLine.Kind.PAYMENT, payment.amount, payment)
            if extra := item.amount - payment.amount:
                line(
                    DepositLine.Kind.SURCHARGE, extra, payment, f"Surcharge on payment {payment.pk}"
                )
        else:
            line(
                DepositLine.Kind.OTHER,
                item.amount,
                payment,
                f"{item.kind} {item.payment_reference}",
            )
    if fees:
        line(DepositLine.Kind.FEE, -fees, description="Processing fees")
    return lines


def receive_funds(
    partner_id: int, reference: str, amount: Decimal, currency: str, memo: str
) -> Payment | UnmatchedFunds:
    """Match money that came without a payment to an invoice, or queue it for a person.

    It matches when the memo names exactly one open invoice whose balance is the
    amount; anything less certain waits in the Unmatched queue.
    """
    amount = quantize(amount, currency or "USD")
    if payment := find_payment(partner_id, reference):
        return payment
    numbers = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/]*", memo or ""))
    candidates = [
        invoice
        for invoice in Invoice.objects.for_partner(partner_id).filter(
            number__in=numbers, currency=currency or "USD", archived=False
        )
        if invoice.payable == amount and not invoice.is_void
    ]
    if len(candidates) == 1:
        return take_external(
            partner_id, {candidates[0]: amount}, reference=reference, memo=memo, currency=currency
        )
    funds, _ = UnmatchedFunds.objects.get_or_create(
        partner_id=partner_id,
        reference=reference,
        defaults={"amount": amount, "currency": currency or "USD", "memo": memo[:500]},
    )
    return funds


def take_external(
    partner_id: int,
    amounts: Mapping[Invoice, Decimal],
    *,
    reference: str,
    memo: str,
    currency: str,
) -> Payment:
    """Record money received outside a checkout as a payment applied to invoices."""
    first = next(iter(amounts))
    payment = Payment.objects.create(
        partner_id=partner_id,
        customer_id=first.customer_id,
        amount=sum(amounts.values(), ZERO),
        currency=currency or first.currency,
        method=Payment.Method.BANK_TRANSFER,
        reference=memo[:255],
        processor_reference=reference,
    )
    for invoice, amount in sorted(amounts.items(), key=lambda item: item[0].pk):
        payment.allocate(invoice, amount)
    succeed(payment)
    return payment


def apply_unmatched(
    funds: UnmatchedFunds, amounts: Mapping[Invoice, Decimal], actor=None
) -> Payment:
    """Apply queued money to the invoices a person chose; the amounts must use all of it."""
    amounts = {invoice: quantize(a, funds.currency) for invoice, a in amounts.items() if a}
    if not amounts:
        raise CheckoutError("Choose at least one invoice.")
    if any(invoice.partner_id != funds.partner_id for invoice in amounts):
        raise CheckoutError("Those invoices belong to another partner.")
    if (total := sum(amounts.values(), ZERO)) != funds.amount:
        raise CheckoutError(f"The amounts add up to {total}, not the {funds.amount} received.")
    with transaction.atomic():
        funds = UnmatchedFunds.objects.select_for_update().get(pk=funds.pk)
        if funds.status != UnmatchedFunds.Status.OPEN:
            raise CheckoutError("This money has already been applied.")
        payment = take_external(
            funds.partner_id,
            amounts,
            reference=funds.reference,
            memo=funds.memo,
            currency=funds.currency,
        )
        funds.status = UnmatchedFunds.Status.APPLIED
        funds.payment = payment
        funds.applied_at = clock.now()
        funds.applied_by = actor
        funds.save()
    return payment


def refund(payment: Payment, actor=None) -> base.RefundResult:
    """Refund a payment taken here in full, surcharge included; reverse its write-back."""
    if payment.origin != Payment.Origin.ARBRIDGE or not payment.processor_reference:
        raise CheckoutError("Only payments taken through the processor can be refunded here.")
    if payment.status != Payment.Status.SUCCEEDED:
        raise CheckoutError(f"A {payment.status} payment cannot be refunded.")
    checkout = Checkout.objects.filter(payment=payment).first()
    amount = checkout.total if checkout else payment.amount
    result = processor_for(payment.partner_id).refund(
        payment.processor_reference, amount, f"refund-{payment.pk}"
    )
    if not result.success:
        raise CheckoutError(result.error_message or "The processor refused the refund.")
    with transaction.atomic():
        payment.refresh_from_db()
        if payment.status == Payment.Status.SUCCEEDED:
            payment.set_status(Payment.Status.REFUNDED)
            writeback.payment_reversed(payment)
    return result
