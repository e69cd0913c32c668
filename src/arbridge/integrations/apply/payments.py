"""Apply payments and credits recorded in a source.

A payment arbridge took and wrote back comes home again in the source's
changes; the outbox stored its ref on delivery, so it is recognised by that
ref and never becomes a second, external payment. Everything else is an
external payment: succeeded, allocated through `Payment.allocate`. Deleted in
the source, it loses its allocations and is marked, and the invoices it paid
owe again.

An initial sync brings thousands of payments new to arbridge at once:
`create_payments` makes the checks `Payment.allocate` makes, in memory, and
inserts them in a few statements; any payment they would refuse is left to
`upsert_payment`, which refuses it in the same words.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
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
    Quarantine,
    assign,
    chunks,
    currency_code,
    money,
    record_of,
    text,
)
from arbridge.integrations.apply.insert import insert, insert_objects
from arbridge.integrations.models import ExceptionItem, ExternalRef
from arbridge.ledger.models import (
    Credit,
    Invoice,
    LedgerError,
    Payment,
    PaymentAllocation,
    Settlement,
)

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


def create_payments(batch: Batch, changes: list[Change]) -> list[str | None]:
    """Create payments new to arbridge in a few statements; return each change's outcome.

    None for a change left to `upsert_payment`: one the ledger might refuse,
    or that names an invoice not synced yet.
    """
    outcomes: list[str | None] = [None] * len(changes)
    sources: list[tuple[int, PaymentSource]] = []
    for index, change in enumerate(changes):
        # upsert_payment says what is wrong, or tries again once the invoice is in.
        with suppress(Quarantine, LedgerError):
            sources.append((index, read_payment(batch, change)))
    invoices = load_invoices(batch, {i for _, source in sources for i in source.allocations})
    settlements = Invoice.settlements(list(invoices.values()))
    created: list[tuple[int, Payment, dict[int, Decimal]]] = []
    for index, source in sources:
        payment = external_payment(batch, source)
        try:
            payment.prepare_new()
        except LedgerError:
            continue
        if fits(payment, source.allocations, invoices, settlements):
            created.append((index, payment, source.allocations))
            outcomes[index] = CREATED
    insert_objects([payment for _, payment, _ in created])
    insert(
        PaymentAllocation,
        [
            {
                "partner_id": batch.partner_id,
                "payment_id": payment.pk,
                "invoice_id": invoice_id,
                "amount": amount,
            }
            for _, payment, allocations in created
            for invoice_id, amount in sorted(allocations.items())
        ],
    )
    paid = sorted({i for _, _, allocations in created for i in allocations})
    Invoice.recompute_many([invoices[i] for i in paid])
    batch.link_many("payment", [(changes[index], payment.pk) for index, payment, _ in created])
    return outcomes


def load_invoices(batch: Batch, ids: set[int]) -> dict[int, Invoice]:
    """Return the invoices by id, their rows locked as `Payment.allocate` locks one."""
    invoices: dict[int, Invoice] = {}
    for chunk in chunks(sorted(ids)):
        rows = Invoice.objects.for_partner(batch.partner_id).filter(pk__in=chunk)
        invoices.update(
            (invoice.pk, invoice) for invoice in rows.select_for_update().order_by("pk")
        )
    return invoices


def fits(
    payment: Payment,
    allocations: dict[int, Decimal],
    invoices: dict[int, Invoice],
    settlements: dict[int, Settlement],
) -> bool:
    """Return whether `Payment.allocate` would take every allocation; if so, count them in.

    Each allocation is quantized and positive (read_payment), so what is left
    to check is the payment's unapplied amount and each invoice's room.
    """
    if sum(allocations.values(), Decimal(0)) > payment.amount:
        return False
    for invoice_id, amount in allocations.items():
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.currency != payment.currency or invoice.is_void:
            return False
        if amount > invoice.room(settlements[invoice_id], payment.origin):
            return False
    for invoice_id, amount in allocations.items():
        paid = settlements[invoice_id]
        settlements[invoice_id] = paid._replace(paid=paid.paid + amount)
    return True


def upsert_payment(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    payment = batch.row(Payment, ref)
    if payment is not None and payment.origin == Payment.Origin.ARBRIDGE:
        batch.stamp(ref, change)
        return UNCHANGED  # our own write-back, read again
    source = read_payment(batch, change)
    if payment is None:
        payment = external_payment(batch, source)
        payment.save()
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
    if changed or reallocate:
        # Any change, its invoices too, is a change of the payment's (external_payments.py).
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


def external_payment(batch: Batch, source: PaymentSource) -> Payment:
    """Return a new, unsaved payment the source recorded (not one arbridge took)."""
    return Payment(
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
