"""Apply payments and credits recorded in a source.

A payment arbridge took and wrote back comes home again in the source's
changes; the outbox stored its ref on delivery, so it is recognised by that
ref and never becomes a second, external payment. Everything else is an
external payment: succeeded, allocated through `Payment.allocate`. Deleted in
the source, it loses its allocations and is marked, and the invoices it paid
owe again.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from arbridge.connectors.base import Change, CreditRecord, PaymentRecord
from arbridge.integrations.apply.batch import (
    CREATED,
    DELETED,
    UNCHANGED,
    UPDATED,
    Batch,
    Invalid,
    assign,
    currency_code,
    money,
    record_of,
    text,
)
from arbridge.integrations.models import ExceptionItem, ExternalRef
from arbridge.ledger.models import Credit, Invoice, LedgerError, Payment

METHODS = frozenset(Payment.Method.values)


# -- payments ------------------------------------------------------------------


class PaymentSource(NamedTuple):
    """A payment as the source has it, validated, with its invoices resolved."""

    amount: Decimal
    currency: str
    fields: dict  # what a plain save may write
    allocations: dict[int, Decimal]  # by local invoice id


def read_payment(batch: Batch, change: Change) -> PaymentSource:
    record = record_of(change, PaymentRecord)
    currency = currency_code(record.currency)
    amount = money(record.amount, currency, "amount")
    if not amount:
        raise Invalid("the payment is for nothing")
    fields = {
        "date": record.date,
        "method": record.method if record.method in METHODS else Payment.Method.OTHER,
        "reference": text(record.reference, "reference", 255),
    }
    amounts = [
        (a.invoice_remote_id, money(a.amount, currency, "allocation")) for a in record.allocations
    ]
    allocations: dict[int, Decimal] = defaultdict(Decimal)
    for invoice_remote_id, allocated in amounts:
        if allocated:
            allocations[batch.invoice_id(invoice_remote_id)] += allocated
    if record.customer_remote_id is not None:
        fields["customer_id"] = batch.customer_id(record.customer_remote_id)
    return PaymentSource(amount, currency, fields, dict(allocations))


def allocate(batch: Batch, payment: Payment, allocations: dict[int, Decimal]) -> None:
    invoices = Invoice.objects.for_partner(batch.partner_id).in_bulk(list(allocations))
    for invoice_id, amount in sorted(allocations.items()):
        payment.allocate(invoices[invoice_id], amount)


def release(payment: Payment) -> None:
    """Take the payment off every invoice it pays."""
    for invoice in Invoice.objects.filter(allocations__payment=payment).order_by("pk"):
        payment.unallocate(invoice)


def upsert_payment(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    payment = batch.row(Payment, ref)
    if payment is not None and payment.origin == Payment.Origin.ARBRIDGE:
        batch.stamp(ref, change)
        return UNCHANGED  # our own write-back, read again
    source = read_payment(batch, change)
    if payment is None:
        payment = Payment.objects.create(
            partner_id=batch.partner_id,
            origin=Payment.Origin.EXTERNAL,
            status=Payment.Status.SUCCEEDED,
            connection_id=batch.connection.pk,
            amount=source.amount,
            currency=source.currency,
            created_at=batch.now,
            updated_at=batch.now,
            **source.fields,
        )
        allocate(batch, payment, source.allocations)
        batch.link("payment", change.remote_id, payment.pk, change)
        return CREATED
    if source.currency != payment.currency:
        raise LedgerError(
            f"the source changed payment {payment.pk}'s currency to {source.currency}"
        )
    held = dict(payment.allocations.values_list("invoice_id", "amount"))
    reallocate = held != source.allocations
    if reallocate:
        # Release first: the payment's new amount may not cover its old allocations.
        release(payment)
    changed = assign(payment, {**source.fields, "source_deleted_at": None})
    if changed:
        payment.updated_at = batch.now
        payment.save(update_fields=[*changed, "updated_at"])
    if source.amount != payment.amount:
        payment.set_amount(source.amount)
        changed.append("amount")
    if reallocate:
        allocate(batch, payment, source.allocations)
        changed.append("allocations")
    batch.stamp(ref, change)
    return UPDATED if changed else UNCHANGED


def delete_payment(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    payment = batch.row(Payment, ref)
    if payment is None or ref.deleted_at is not None:
        return UNCHANGED
    batch.stamp(ref, change)
    if payment.origin == Payment.Origin.ARBRIDGE:
        # Money arbridge took is not undone by a delete elsewhere: a person decides.
        return batch.quarantine(
            ExceptionItem.Kind.CONFLICT,
            change,
            f"{batch.vendor} reports payment {payment.pk}, which arbridge took and wrote "
            f"back, as deleted; arbridge still holds it ({payment.status}).",
        )
    release(payment)
    payment.source_deleted_at = payment.updated_at = batch.now
    payment.save(update_fields=["source_deleted_at", "updated_at"])
    return DELETED


# -- credits -------------------------------------------------------------------


def upsert_credit(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    record = record_of(change, CreditRecord)
    currency = currency_code(record.currency)
    amount = money(record.amount, currency, "amount")
    if not amount:
        raise Invalid("the credit is for nothing")
    fields = {"date": record.date, "reference": text(record.reference, "reference", 255)}
    invoice_id = batch.invoice_id(record.invoice_remote_id)
    credit = batch.row(Credit, ref)
    if credit is not None and (credit.invoice_id, credit.amount) == (invoice_id, amount):
        changed = assign(credit, fields)
        if changed:
            credit.save(update_fields=changed)
        batch.stamp(ref, change)
        return UPDATED if changed else UNCHANGED
    invoice = Invoice.objects.for_partner(batch.partner_id).get(pk=invoice_id)
    if invoice.currency != currency:
        raise LedgerError(f"a credit in {currency} cannot apply to invoice {invoice.number}")
    if credit is not None:
        credit.remove()
    new = Credit.apply(invoice, amount, connection=batch.connection, **fields)
    batch.link("credit", change.remote_id, new.pk, change)
    return CREATED if credit is None else UPDATED


def delete_credit(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    credit = batch.row(Credit, ref)
    if credit is None:
        return UNCHANGED
    credit.remove()
    batch.stamp(ref, change)
    return DELETED
