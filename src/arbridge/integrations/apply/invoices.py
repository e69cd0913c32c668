"""Apply invoices from a source, the system of record for their content.

The source's number, dates, terms, memo and lines replace ours; its total and
the balance it reports go through the ledger (`Invoice.set_total`,
`Invoice.set_source_balance`), which refuses a total below the money arbridge
already holds and lets a source balance lower ours but never raise it.

The same number arriving from a second connection is the same invoice when the
two agree on currency, total and customer (matched by name, as each
connection has customers of its own): the second connection's ref points at
it. Its system of record is the connection of highest role (primary, then
secondary, then tertiary: differences-between-integrations.md), whichever
synced first; the others only link to it. When they disagree, nothing is
written and a duplicate-number exception says why.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from arbridge.connectors.base import Change, InvoiceRecord
from arbridge.integrations.apply.batch import (
    CREATED,
    DELETED,
    UNCHANGED,
    UPDATED,
    Batch,
    Duplicate,
    Invalid,
    Key,
    assign,
    chunks,
    currency_code,
    decimal4,
    money,
    record_of,
    text,
)
from arbridge.integrations.apply.insert import insert, insert_objects
from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Customer, Invoice, InvoiceLine, LedgerError

Line = tuple[str, str, Decimal, Decimal, Decimal]  # description, item, quantity, unit price, amount


class Source(NamedTuple):
    """An invoice as the source has it, validated and quantized."""

    fields: dict
    customer_remote_id: str | None
    total: Decimal
    balance: Decimal
    voided: bool
    lines: list[Line]


def read(change: Change) -> Source:
    record = record_of(change, InvoiceRecord)
    currency = currency_code(record.currency)
    lines = [
        (
            line.description,
            text(line.item, "line item", 255),
            decimal4(line.quantity, "line quantity"),
            decimal4(line.unit_price, "line unit price"),
            money(line.amount, currency, "line amount", signed=True),
        )
        for line in record.lines
    ]
    return Source(
        fields={
            "number": text(record.number, "number", 64, required=True),
            "currency": currency,
            "issue_date": record.issue_date,
            "due_date": record.due_date,
            "terms": text(record.terms, "terms", 64),
            "agreement": text(record.agreement, "agreement", 120),
            "memo": record.memo,
        },
        customer_remote_id=record.customer_remote_id,
        total=money(record.total, currency, "total"),
        balance=money(record.balance, currency, "balance"),
        voided=record.voided,
        lines=lines,
    )


def build(batch: Batch, source: Source) -> Invoice:
    """Return a new, unsaved invoice; the ledger derives its amounts as it is inserted."""
    return Invoice(
        partner_id=batch.partner_id,
        connection_id=batch.connection.pk,
        customer_id=batch.customer_id(source.customer_remote_id),
        total=source.total,
        source_balance=source.balance,
        voided_at=batch.now if source.voided else None,
        created_at=batch.now,
        updated_at=batch.now,
        **source.fields,
    )


def line_rows(invoice: Invoice, lines: list[Line]) -> list[dict]:
    return [
        {
            "partner_id": invoice.partner_id,
            "invoice_id": invoice.pk,
            "position": position,
            "description": description,
            "item": item,
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": amount,
        }
        for position, (description, item, quantity, unit_price, amount) in enumerate(lines)
    ]


def numbers_taken(batch: Batch, numbers: set[str]) -> set[str]:
    """Return which of these numbers the partner's invoices already carry."""
    taken: set[str] = set()
    for chunk in chunks(sorted(numbers)):
        taken.update(
            Invoice.objects.for_partner(batch.partner_id)
            .filter(number__in=chunk)
            .order_by()  # ordered by id, SQLite would walk every row of the partner's
            .values_list("number", flat=True)
        )
    return taken


def prefetch_invoices(batch: Batch, keys: list[Key]) -> None:
    """Read the batch's known invoices and their lines in two queries."""
    invoices = batch.prefetch(Invoice, keys)
    batch.invoice_lines.update({pk: [] for pk in invoices})
    for chunk in chunks(sorted(invoices)):
        lines = InvoiceLine.objects.filter(invoice_id__in=chunk).order_by(
            "invoice_id", "position", "id"
        )
        for line in lines.values_list(
            "invoice_id", "description", "item", "quantity", "unit_price", "amount"
        ):
            batch.invoice_lines[line[0]].append(line[1:])


def create_invoices(batch: Batch, changes: list[Change]) -> list[str | None]:
    """Create invoices new to arbridge in a few statements; return each change's outcome.

    None for a change left to `upsert_invoice`: its number is already taken.
    """
    outcomes: list[str | None] = []
    sources: list[tuple[int, Change, Source]] = []
    for change in changes:
        try:
            sources.append((len(outcomes), change, read(change)))
            outcomes.append(CREATED)
        except Invalid as e:
            outcomes.append(batch.quarantine(e.kind, change, str(e)))
    taken = numbers_taken(batch, {source.fields["number"] for _, _, source in sources})
    created: list[tuple[Change, Source, Invoice]] = []
    for index, change, source in sources:
        number = source.fields["number"]
        if number in taken:
            outcomes[index] = None
            continue
        invoice = build(batch, source)
        try:
            invoice.prepare_new()
        except LedgerError as e:
            outcomes[index] = batch.quarantine(Invalid.kind, change, str(e))
            continue
        taken.add(number)
        created.append((change, source, invoice))
    insert_objects([invoice for _, _, invoice in created])
    insert(
        InvoiceLine,
        [row for _, source, invoice in created for row in line_rows(invoice, source.lines)],
    )
    batch.link_many("invoice", [(change, invoice.pk) for change, _, invoice in created])
    return outcomes


def upsert_invoice(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    source = read(change)
    invoice = batch.row(Invoice, ref)
    if invoice is None:
        other = numbered(batch, source.fields["number"])
        if other is not None:
            check_agreement(batch, change, source, other)
            batch.link("invoice", change.remote_id, other.pk, change)
            if outranks(batch.connection, other.connection):
                take_over(batch, other, source)
            return UPDATED
        invoice = build(batch, source)
        invoice.save()
        insert(InvoiceLine, line_rows(invoice, source.lines))
        batch.link("invoice", change.remote_id, invoice.pk, change)
        return CREATED
    if invoice.connection_id != batch.connection.pk:
        # Linked to an invoice another connection owns: that one says what it holds,
        # unless this one now holds a higher role.
        check_agreement(batch, change, source, invoice)
        batch.stamp(ref, change)
        if outranks(batch.connection, invoice.connection):
            take_over(batch, invoice, source)
            return UPDATED
        return UNCHANGED
    changed = update(batch, invoice, source)
    batch.stamp(ref, change)
    return UPDATED if changed else UNCHANGED


def update(batch: Batch, invoice: Invoice, source: Source) -> bool:
    """Bring an invoice in line with its source; return whether anything changed."""
    fields = {
        **source.fields,
        "customer_id": batch.customer_id(source.customer_remote_id),
        "source_deleted_at": None,
    }
    if fields.pop("currency") != invoice.currency:
        raise LedgerError(
            f"invoice {invoice.number}: the source changed its currency from "
            f"{invoice.currency} to {source.fields['currency']}"
        )
    if fields["number"] != invoice.number and numbered(batch, fields["number"]) is not None:
        raise Duplicate(f"another invoice already has the number {fields['number']}")
    changed = assign(invoice, fields)
    if changed:
        invoice.updated_at = batch.now
        invoice.save(update_fields=[*changed, "updated_at"])
    lines = batch.invoice_lines.pop(invoice.pk, None)
    if lines is None:
        lines = list(
            invoice.lines.values_list("description", "item", "quantity", "unit_price", "amount")
        )
    if lines != source.lines:
        invoice.lines.all().delete()
        insert(InvoiceLine, line_rows(invoice, source.lines))
        changed.append("lines")
    if source.voided:
        if invoice.voided_at is None:
            invoice.void()
            changed.append("voided_at")
        return bool(changed)
    if invoice.total != source.total:
        invoice.set_total(source.total)
        changed.append("total")
    if invoice.source_balance != source.balance:
        invoice.set_source_balance(source.balance)
        changed.append("source_balance")
    return bool(changed)


ROLE_RANK = {"primary": 0, "secondary": 1, "tertiary": 2}


def outranks(connection, owner) -> bool:
    """Return True if `connection` should be the system of record of an invoice `owner` holds."""
    if owner is None:
        return False  # made in arbridge: no source takes it over
    return ROLE_RANK.get(connection.role, 3) < ROLE_RANK.get(owner.role, 3)


def take_over(batch: Batch, invoice: Invoice, source: Source) -> None:
    """Make this connection the invoice's system of record, with its content."""
    invoice.connection = batch.connection
    invoice.save(update_fields=["connection"])
    update(batch, invoice, source)


def numbered(batch: Batch, number: str) -> Invoice | None:
    return (
        Invoice.objects.for_partner(batch.partner_id)
        .filter(number=number)
        .select_related("connection")
        .first()
    )


def check_agreement(batch: Batch, change: Change, source: Source, invoice: Invoice) -> None:
    """Refuse to treat two invoices as one unless they agree on what is owed.

    Two invoices of one source with one number are two invoices, never one.
    """
    number = source.fields["number"]
    elsewhere_in_source = (
        ExternalRef.objects.filter(
            connection=batch.connection, entity="invoice", local_id=invoice.pk
        )
        .exclude(remote_id=change.remote_id)
        .exists()
    )
    if invoice.connection_id == batch.connection.pk or elsewhere_in_source:
        raise Duplicate(f"another {batch.vendor} invoice already has the number {number}")
    origin = invoice.connection or "arbridge"
    if (source.fields["currency"], source.total) != (invoice.currency, invoice.total):
        raise Duplicate(
            f"{batch.vendor} has invoice {number} for "
            f"{source.total} {source.fields['currency']}; the invoice with that number "
            f"from {origin} is for {invoice.total} {invoice.currency}"
        )
    ours, theirs = customer_names(batch, source, invoice)
    if ours is not None:
        raise Duplicate(
            f"{batch.vendor} has invoice {number} for {ours}; the invoice with that "
            f"number from {origin} is for {theirs}"
        )


def customer_names(batch: Batch, source: Source, invoice: Invoice) -> tuple[str | None, str]:
    """Return the two customers' names if they are not the same customer, else (None, "").

    Each connection keeps customers of its own, so the same company arrives
    as two rows: they are one customer when one row is linked to both, or
    when their names match, ignoring case and spacing.
    """
    customer_id = batch.customer_id(source.customer_remote_id)
    if customer_id == invoice.customer_id:
        return None, ""
    names = dict(
        Customer.objects.filter(pk__in=(customer_id, invoice.customer_id)).values_list("pk", "name")
    )
    ours, theirs = names.get(customer_id, ""), names.get(invoice.customer_id, "")
    if comparable_name(ours) == comparable_name(theirs):
        return None, ""
    return ours, theirs


def comparable_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def delete_invoice(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    invoice = batch.row(Invoice, ref)
    if invoice is None or ref.deleted_at is not None:
        return UNCHANGED
    batch.stamp(ref, change)
    if invoice.connection_id != batch.connection.pk:
        return UNCHANGED  # another connection's invoice: only our link to it went
    invoice.source_deleted_at = batch.now
    invoice.save(update_fields=["source_deleted_at"])
    if batch.capabilities.archive_on_source_delete:
        invoice.archive()
    return DELETED
