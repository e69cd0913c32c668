"""What the processor reports after a charge, applied to the ledger once each.

Events arrive by webhook (payments/webhooks.py) and by the minute poll
(payments/tasks.py), repeated and out of order; `ProcessorEvent` keeps each
id, so applying one twice changes nothing:

    payment.succeeded  an ACH debit settled (or a card authenticated): paid,
                       and written back (unless it was at initiation)
    payment.failed     a card's authentication failed: the hold is released
    payment.returned   an ACH debit came back (R01, ...), before or after it
                       settled: the write-back is reversed, the invoices
                       reopen, and the partner is told
    payment.refunded   refunded at the processor: whole, it is reversed like a
                       return; partly, the partner is told (the ledger knows
                       whole refunds only)
    payout.paid        a ledger Deposit of its payments, surcharges and fees,
                       owed to every accounting connection that wants deposits
    funds.received     money without a payment: matched by invoice number and
                       amount, or queued in Unmatched for a person

Refunds asked for in arbridge (`refund`) and money a person applies from the
Unmatched queue (`apply_unmatched`) are here too.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import transaction

from arbridge.core import clock
from arbridge.core.models import Membership, Partner
from arbridge.core.money import ZERO, format_money, quantize
from arbridge.integrations import writeback
from arbridge.integrations.models import ExceptionItem, WebhookEvent
from arbridge.ledger.models import Deposit, DepositLine, Invoice, Payment
from arbridge.payments import base
from arbridge.payments.models import (
    Checkout,
    PaymentSettings,
    Payout,
    ProcessorEvent,
    UnmatchedFunds,
)
from arbridge.payments.services import CheckoutError, close, processor_for, succeed

logger = logging.getLogger(__name__)

Status = Checkout.Status


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
        close(checkout, Status.SUCCEEDED)


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
        close(checkout, Status.FAILED, event.message or "The payment failed.")


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
    if payment.method == Payment.Method.BANK_TRANSFER:
        # Money matched from a bank deposit (take_external): its reference is the bank's.
        raise CheckoutError("Money received by bank transfer goes back the same way, not here.")
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


def apply_delivery(delivery_id: int) -> WebhookEvent | None:
    """Apply a stored delivery's events unless done before; return it, or None if none."""
    delivery = WebhookEvent.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookEvent.Status.PROCESSED:
        return delivery
    settings = PaymentSettings.objects.filter(partner_id=delivery.partner_id).first()
    if settings is None or settings.processor != delivery.source:
        delivery.finish(WebhookEvent.Status.PROCESSED, "Ignored: the partner changed processor.")
        return delivery
    try:
        for event in processor_for(settings).read(bytes(delivery.body)):
            apply_event(delivery.partner_id, event)
    except base.ProcessorError as e:
        reason = f"The processor could not be asked: {e}. The minute poll applies it later."
        delivery.finish(WebhookEvent.Status.FAILED, reason)
    except Exception as e:
        logger.exception("Processor webhook %s could not be applied", delivery.pk)
        delivery.finish(WebhookEvent.Status.FAILED, f"{type(e).__name__}: {e}")
    else:
        delivery.finish(WebhookEvent.Status.PROCESSED)
    return delivery
