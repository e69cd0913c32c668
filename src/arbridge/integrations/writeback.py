"""Write-back: the writes arbridge owes its connections when money moves here.

Other apps call these inside the transaction that records the event (the
payments issue: a card or ACH payment succeeded, was refunded or returned; a
processor payout arrived). Each records one OutboundCommand per connection,
with a key derived from the local row and the connection, so calling twice
owes nothing twice; the outbox delivers them once the transaction commits.

    payment_succeeded(payment)  create_payment on each connection holding its invoices
                                (a pending ACH payment too, with pending_ok)
    payment_reversed(payment)   delete_payment wherever it was written
    deposit_recorded(deposit)   create_deposit on each accounting connection that wants it

A delete needs the remote id its create got back, so a payment reversed while
its create is still on its way is deleted once that create is done
(`owe_reversals`, run by the schedule). A deposit moves payments already in
the source, so it waits the same way for their creates (`owe_deposits`); a
payment that will never be written there makes the deposit an exception.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db.models import F

from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.core.money import ZERO, quantize
from arbridge.integrations import registry
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.ledger.models import Deposit, DepositLine, Invoice, Payment

logger = logging.getLogger(__name__)

Entity = ExternalRef.Entity
# Connections that are owed writes. One in error still is: its writes wait in
# the outbox for it to recover. One disconnected by a person is not.
OWED = (Connection.Status.CONNECTED, Connection.Status.ERROR)
REVERSED = (Payment.Status.REFUNDED, Payment.Status.RETURNED)
# How long a deposit waits for its payments' creates before the schedule stops looking.
DEPOSIT_WAIT = dt.timedelta(days=7)


# Keys name the local row and the connection, so a retry or a second call owes
# nothing twice; they stay within the 50 characters of QuickBooks' requestid.


def create_key(payment_id: int, connection: Connection) -> str:
    return f"{connection.kind}-payment-{payment_id}-{connection.pk}"


def delete_key(payment_id: int, connection: Connection) -> str:
    return f"{connection.kind}-payment-{payment_id}-{connection.pk}-delete"


def deposit_key(deposit_id: int, connection: Connection) -> str:
    return f"{connection.kind}-deposit-{deposit_id}-{connection.pk}"


def is_source_of(payment: Payment, connection: Connection) -> bool:
    """Return True if the payment came from this connection, so must never go back to it."""
    return payment.origin == Payment.Origin.EXTERNAL and payment.connection_id == connection.pk


# -- payments -------------------------------------------------------------------


def payment_succeeded(payment: Payment, *, pending_ok: bool = False) -> list[OutboundCommand]:
    """Owe each connection holding any of the payment's invoices a payment applied to them.

    `pending_ok` writes back a pending payment (an ACH debit the partner wants
    written when it starts); its return later reverses the write.
    """
    allowed = (
        (Payment.Status.SUCCEEDED, Payment.Status.PENDING)
        if pending_ok
        else (Payment.Status.SUCCEEDED,)
    )
    if payment.status not in allowed:
        raise ValueError(f"payment {payment.pk} is {payment.status}, not succeeded")
    allocations = dict(payment.allocations.values_list("invoice_id", "amount"))
    invoice_refs = (
        ExternalRef.objects.for_partner(payment.partner_id)
        .filter(
            entity=Entity.INVOICE,
            local_id__in=list(allocations),
            deleted_at__isnull=True,
            connection__status__in=OWED,
        )
        .select_related("connection")
        .order_by("connection_id", "local_id")
    )
    held: dict[Connection, list[ExternalRef]] = defaultdict(list)
    for ref in invoice_refs:
        held[ref.connection].append(ref)

    commands = []
    for connection, refs in held.items():
        if is_source_of(payment, connection):
            continue
        lines = [
            {"invoice_remote_id": ref.remote_id, "amount": str(allocations[ref.local_id])}
            for ref in refs
        ]
        payload = {
            "entity": Entity.PAYMENT,
            "local_id": payment.pk,
            "payment_id": payment.pk,
            # What this connection's invoices received; a payment may span connections.
            "amount": str(sum((allocations[ref.local_id] for ref in refs), ZERO)),
            "currency": payment.currency,
            "date": payment.date.isoformat(),
            "method": payment.method,
            "reference": payment.processor_reference or payment.reference,
            "customer_remote_id": customer_remote_id(payment, connection, refs),
            "allocations": lines,
        }
        commands.append(
            OutboundCommand.enqueue(
                connection, "create_payment", payload, create_key(payment.pk, connection)
            )
        )
    return commands


def customer_remote_id(
    payment: Payment, connection: Connection, invoice_refs: list[ExternalRef]
) -> str | None:
    """Return the connection's id for the customer the paid invoices belong to."""
    invoice = Invoice.objects.filter(pk=invoice_refs[0].local_id).only("customer_id").first()
    customer_ids = [c for c in (invoice and invoice.customer_id, payment.customer_id) if c]
    ref = (
        ExternalRef.objects.filter(
            connection=connection, entity=Entity.CUSTOMER, local_id__in=customer_ids
        )
        .order_by(F("deleted_at").asc(nulls_first=True))  # a live ref first
        .first()
    )
    return ref.remote_id if ref else None


def payment_reversed(payment: Payment) -> list[OutboundCommand]:
    """Owe a delete of the payment wherever it was written; later creates follow their own."""
    if payment.status not in REVERSED:
        raise ValueError(f"payment {payment.pk} is {payment.status}, not refunded or returned")
    refs = (
        ExternalRef.objects.for_partner(payment.partner_id)
        .filter(
            entity=Entity.PAYMENT,
            local_id=payment.pk,
            deleted_at__isnull=True,
            connection__status__in=OWED,
        )
        .select_related("connection")
        .order_by("connection_id")
    )
    commands = []
    for ref in refs:
        if is_source_of(payment, ref.connection):
            continue
        payload = {
            "entity": Entity.PAYMENT,
            "local_id": payment.pk,
            "payment_id": payment.pk,
            "remote_id": ref.remote_id,
            # The outbox marks this ref deleted when the delete is done.
            "deletes": True,
        }
        commands.append(
            OutboundCommand.enqueue(
                ref.connection, "delete_payment", payload, delete_key(payment.pk, ref.connection)
            )
        )
    return commands


def owe_reversals() -> int:
    """Owe deletes of reversed payments whose creates finished after the reversal.

    Return how many payments were owed one.
    """
    reversed_ids = Payment.objects.filter(
        status__in=REVERSED, origin=Payment.Origin.ARBRIDGE
    ).values("pk")
    live = ExternalRef.objects.filter(
        entity=Entity.PAYMENT,
        local_id__in=reversed_ids,
        deleted_at__isnull=True,
        connection__status__in=OWED,
    ).select_related("connection")
    owed = {
        ref.local_id
        for ref in live
        if not OutboundCommand.objects.filter(
            idempotency_key=delete_key(ref.local_id, ref.connection)
        ).exists()
    }
    for payment in Payment.objects.filter(pk__in=owed):
        payment_reversed(payment)
    return len(owed)


# -- deposits -------------------------------------------------------------------


def wants_deposits(connection: Connection) -> bool:
    """Return True if the connection's system takes deposits and its partner asked for them."""
    try:
        capabilities = registry.load(connection.kind).capabilities
    except (ImportError, LookupError):
        return False
    preferences = connection.preferences
    return (
        capabilities.deposits
        and capabilities.category == "accounting"
        and connection.status in OWED
        and bool(preferences.get("create_deposits"))
        and bool(preferences.get("deposit_account_id"))
    )


def deposit_recorded(deposit: Deposit) -> list[OutboundCommand]:
    """Owe the payout to each accounting connection that wants deposits, once its payments are in.

    Return the commands owed so far; a connection still waiting for its
    payments' creates is owed later by `owe_deposits`.
    """
    if not deposit.is_balanced():
        raise ValueError(f"deposit {deposit.pk}'s lines do not add up to its payout")
    connections = Connection.objects.for_partner(deposit.partner_id).filter(status__in=OWED)
    commands = []
    for connection in connections.order_by("pk"):
        if not wants_deposits(connection):
            continue
        key = deposit_key(deposit.pk, connection)
        if command := OutboundCommand.objects.filter(idempotency_key=key).first():
            commands.append(command)
            continue
        if (payload := deposit_payload(deposit, connection)) is not None:
            commands.append(OutboundCommand.enqueue(connection, "create_deposit", payload, key))
    return commands


def deposit_payload(deposit: Deposit, connection: Connection) -> dict | None:
    """Return the create_deposit payload, or None while (or if) its payments are not there."""
    lines = list(deposit.lines.all())
    payment_lines = [line for line in lines if line.kind == DepositLine.Kind.PAYMENT]
    written_kinds = (DepositLine.Kind.PAYMENT, DepositLine.Kind.FEE, DepositLine.Kind.SURCHARGE)
    if any(line.amount for line in lines if line.kind not in written_kinds):
        return unwritable(
            deposit,
            connection,
            "It has lines other than payments, surcharges and fees (a refund or money "
            "arbridge could not match), which a person must enter in the books.",
        )
    payment_ids = [line.payment_id for line in payment_lines]
    written = dict(
        ExternalRef.objects.filter(
            connection=connection,
            entity=Entity.PAYMENT,
            local_id__in=payment_ids,
            deleted_at__isnull=True,
        ).values_list("local_id", "remote_id")
    )
    if missing := [pk for pk in payment_ids if pk not in written]:
        on_their_way = OutboundCommand.objects.filter(
            idempotency_key__in=[create_key(pk, connection) for pk in missing]
        ).exclude(status=OutboundCommand.Status.DONE)
        if on_their_way.count() == len(missing):
            return None  # owed later, when their creates are done
        return unwritable(
            deposit,
            connection,
            f"Payments {', '.join(map(str, missing))} in it are not in {connection}, so "
            "it cannot move them out of Undeposited Funds.",
        )
    fees = -sum((line.amount for line in lines if line.kind == DepositLine.Kind.FEE), ZERO)
    surcharges = sum(
        (line.amount for line in lines if line.kind == DepositLine.Kind.SURCHARGE), ZERO
    )
    preferences = connection.preferences
    return {
        "entity": Entity.DEPOSIT,
        "local_id": deposit.pk,
        "deposit_id": deposit.pk,
        "date": deposit.date.isoformat(),
        "currency": deposit.currency,
        "deposit_account_id": preferences["deposit_account_id"],
        "fee_account_id": preferences.get("fee_account_id"),
        "payments": [
            {"remote_id": written[line.payment_id], "amount": str(line.amount)}
            for line in payment_lines
        ],
        "fees": str(quantize(fees, deposit.currency)),
        "surcharges": str(quantize(surcharges, deposit.currency)),
        "surcharge_account_id": preferences.get("surcharge_income_account_id"),
        "payout": str(deposit.amount),
    }


def unwritable(deposit: Deposit, connection: Connection, reason: str) -> None:
    """Open an exception saying why the deposit cannot be written to the connection.

    Once per deposit and connection: the schedule asks again, and a person who
    resolved it has seen it.
    """
    ExceptionItem.objects.get_or_create(
        partner_id=deposit.partner_id,
        connection=connection,
        kind=ExceptionItem.Kind.WRITE_FAILED,
        entity=Entity.DEPOSIT,
        local_id=deposit.pk,
        defaults={
            "title": f"Could not write deposit {deposit} to {connection}",
            "reason": reason,
        },
    )
    return None


def owe_deposits() -> None:
    """Owe the recent deposits that were waiting for their payments' creates."""
    since = clock.now() - DEPOSIT_WAIT
    partners = Connection.objects.filter(status__in=OWED, preferences__create_deposits=True).values(
        "partner_id"
    )
    for deposit in Deposit.objects.filter(partner_id__in=partners, created_at__gte=since):
        try:
            deposit_recorded(deposit)
        except ValueError:
            logger.exception("Deposit %s cannot be written back", deposit.pk)
