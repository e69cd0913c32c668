"""Sync External Payments: QuickBooks Online payments arbridge did not make, in ConnectWise.

A payment someone recorded in QuickBooks (by hand, from a bank feed, by
another integration) arrives through the sync engine as an external payment
of the QuickBooks connection. `reconcile(partner)` looks at each one's part
on each invoice (a MirroredPayment row) and brings ConnectWise in line:

    new part, allowed     -> a payment entered by hand in ConnectWise with the same
                             amount and date is linked; otherwise one is written
                             (an OutboundCommand, its key naming the QuickBooks
                             payment, the ConnectWise invoice and a revision)
    new part, not allowed -> skipped, with the reason a person can act on
    amount or date edited -> the ConnectWise payment is deleted, then written anew
                             under the next revision
    part gone, or payment deleted in QuickBooks -> the ConnectWise payment is deleted

Allowed means: the partner turned the preference on, both connections are
connected, the sync mode lets the invoice through (Disabled: nothing; Synced
Invoices Only: invoices synced with the Sync Tool; All Invoices, and always
while the Sync Tool is not in use: every invoice), and the invoice is the
same in both systems (number, total, customer's name), read from both at
that moment. A skipped part is looked at again when anything it depends on
changes; one skipped because a connection was down is looked at on every
pass, so payments made while disconnected are caught up once both are back.

Reconciling runs after every batch a QuickBooks or ConnectWise sync applies
(`after_sync`) and every five minutes. A pass looks only at payments that
are new, changed since shortly before the last pass, or not yet settled
(`open_to_change`), so its work follows what changes, not the history. It
is safe to run twice at once: a part's row is unique, it is locked before it
changes, and every write's key is deterministic, so a write is never owed
twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from arbridge.connectors.base import ConnectorError
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import registry, signals
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import (
    ExternalRef,
    IntegrationPreferences,
    MirroredPayment,
    OutboundCommand,
    SyncedInvoice,
)
from arbridge.ledger.models import Invoice, Payment

logger = logging.getLogger(__name__)

State = MirroredPayment.State
Reason = MirroredPayment.Reason
Mode = IntegrationPreferences.Mode
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Longer than any sync batch takes between stamping a payment and committing it.
RECONCILE_OVERLAP = dt.timedelta(hours=1)


# -- where the feature stands -----------------------------------------------------


# The two sides, by what their connectors are and can do: payments are read from an
# accounting system that can show its invoices, and mirrored into a PSA that can too.
SOURCE, TARGET = "accounting", "psa"


def can_mirror(kind: str, category: str) -> bool:
    """Return True if connections of the kind can be this side of the mirroring."""
    capabilities = registry.capabilities(kind)
    return capabilities is not None and capabilities.invoices and capabilities.category == category


def side_kinds(category: str) -> list[str]:
    return [kind for kind in registry.built() if can_mirror(kind, category)]


def connections(partner_id: int) -> tuple[Connection | None, Connection | None]:
    """Return the partner's accounting connection and PSA connection that mirror (None: none)."""
    found: dict[str, Connection] = {}
    rows = Connection.objects.for_partner(partner_id).filter(
        kind__in=side_kinds(SOURCE) + side_kinds(TARGET)
    )
    for connection in rows.order_by("pk"):
        side = SOURCE if can_mirror(connection.kind, SOURCE) else TARGET
        found.setdefault(side, connection)
    return found.get(SOURCE), found.get(TARGET)


def missing_requirements(partner_id: int) -> list[str]:
    """Return what keeps external payments from syncing, in the words the page shows."""
    missing = []
    for side, connection in zip((SOURCE, TARGET), connections(partner_id), strict=True):
        if connection is None:
            names = " or ".join(registry.display_name(kind) for kind in side_kinds(side))
            missing.append(f"A {names} integration is not set up.")
        elif not connection.is_active:
            name = registry.display_name(connection.kind)
            missing.append(f"The {name} integration is {connection.get_status_display().lower()}.")
    return missing


def stopped_because(partner_id: int) -> str:
    """Return why syncing has stopped although the partner turned it on; '' if it runs or is off."""
    preferences = IntegrationPreferences.objects.for_partner(partner_id).first()
    if preferences is None or not preferences.external_payments:
        return ""
    missing = missing_requirements(partner_id)
    if not missing:
        return ""
    return (
        "External payments sync has stopped: "
        + " ".join(missing)
        + " It resumes when both integrations are connected and active, and payments "
        "recorded meanwhile are then synced."
    )


def turn_on(preferences: IntegrationPreferences, enabled: bool) -> None:
    """Switch external payments sync; on, it covers payments recorded from now on."""
    if enabled and missing_requirements(preferences.partner_id):
        raise ValueError("both integrations must be connected and active")
    if enabled and not preferences.external_payments:
        preferences.external_payments_since = clock.now()
    preferences.external_payments = enabled
    preferences.updated_at = clock.now()
    preferences.save(update_fields=["external_payments", "external_payments_since", "updated_at"])
    if enabled:
        signals.on_commit(signals.reconcile_due, partner_id=preferences.partner_id)


# -- triggers ---------------------------------------------------------------------


def after_sync(connection: Connection) -> None:
    """Reconcile the partner's payments once a sync batch of either system commits."""
    if not (can_mirror(connection.kind, SOURCE) or can_mirror(connection.kind, TARGET)):
        return
    if IntegrationPreferences.objects.filter(
        partner_id=connection.partner_id, external_payments=True
    ).exists():
        signals.on_commit(signals.reconcile_due, partner_id=connection.partner_id)


def partners_mirroring() -> list[int]:
    """Return the partners that sync external payments."""
    partners = IntegrationPreferences.objects.filter(external_payments=True)
    return list(partners.values_list("partner_id", flat=True))


# -- reconciling ------------------------------------------------------------------


class Pass:
    """One reconcile of one partner: its settings, connections and the vendors' answers."""

    def __init__(self, partner_id: int, http) -> None:
        self.partner_id = partner_id
        self.preferences = IntegrationPreferences.for_partner_of(partner_id)
        self.source, self.target = connections(partner_id)
        self.http = http
        self._connectors: dict[int, Any] = {}
        self.synced = dict(
            SyncedInvoice.objects.for_partner(partner_id).values_list("invoice_id", "synced_at")
        )
        self.comparisons: dict[int, tuple[str, str, str]] = {}

    @property
    def running(self) -> bool:
        return bool(self.source and self.target and self.source.is_active and self.target.is_active)

    def connector(self, connection: Connection):
        if connection.pk not in self._connectors:
            self._connectors[connection.pk] = build_connector(connection, self.http)
        return self._connectors[connection.pk]

    def last_change(self, payment: Payment, invoice: Invoice) -> dt.datetime:
        """Return when anything a skipped part's verdict depends on last changed."""
        target_synced = self.target.last_synced_at if self.target else None
        return max(
            payment.updated_at,
            invoice.updated_at,
            self.preferences.updated_at,
            target_synced or EPOCH,
            self.synced.get(invoice.pk) or EPOCH,
        )


def reconcile(partner_id: int) -> None:
    """Bring ConnectWise in line with the partner's external QuickBooks payments."""
    preferences = IntegrationPreferences.objects.for_partner(partner_id).first()
    if preferences is None or not preferences.external_payments:
        return
    source, target = connections(partner_id)
    if source is None or target is None:
        return
    began = clock.now()
    parts = MirroredPayment.objects.for_partner(partner_id).filter(source=source, target=target)
    payments = (
        Payment.objects.for_partner(partner_id)
        .filter(
            origin=Payment.Origin.EXTERNAL,
            connection=source,
            created_at__gte=preferences.external_payments_since or EPOCH,
        )
        .filter(open_to_change(parts, preferences.external_payments_reconciled_at))
        .prefetch_related("allocations__invoice")
        .order_by("pk")
    )
    rows: dict[int, list[MirroredPayment]] = defaultdict(list)
    for row in parts.filter(payment__in=payments):
        rows[row.payment_id].append(row)
    with http_client() as http:
        run = Pass(partner_id, http)
        for payment in payments:
            try:
                follow(run, payment, rows.get(payment.pk, []))
            except ConnectorError as e:
                # Nothing was recorded for it: the next pass asks again.
                logger.warning("External payment %s not reconciled now: %s", payment.pk, e)
    IntegrationPreferences.objects.filter(pk=preferences.pk).update(
        external_payments_reconciled_at=began
    )


def open_to_change(parts, last_pass: dt.datetime | None) -> Q:
    """Return which payments a pass must look at: all but those settled before the last pass.

    A payment is settled when each of its parts is mirrored, linked or removed
    and it has not changed since: a part's write on its way, or one skipped
    (whose reason may have gone), is looked at on every pass. A change to a
    payment, its amount, date or invoices, stamps its `updated_at` with the
    time its sync batch began, which may be a while before that batch commits:
    so the pass looks back RECONCILE_OVERLAP before the last one began.
    """
    if last_pass is None:
        return Q()
    settled = (State.MIRRORED, State.LINKED, State.REMOVED)
    return (
        Q(updated_at__gte=last_pass - RECONCILE_OVERLAP)
        | ~Q(pk__in=parts.values("payment_id"))
        | Q(pk__in=parts.exclude(state__in=settled).values("payment_id"))
    )


def follow(run: Pass, payment: Payment, rows: list[MirroredPayment]) -> None:
    """Bring one QuickBooks payment's parts in ConnectWise in line with what it pays now."""
    wanted: dict[int, tuple[Invoice, Decimal]] = {}
    if payment.status == Payment.Status.SUCCEEDED and payment.source_deleted_at is None:
        wanted = {a.invoice_id: (a.invoice, a.amount) for a in payment.allocations.all()}
    by_invoice = {row.invoice_id: row for row in rows}
    for invoice_id, (invoice, amount) in wanted.items():
        mirror(run, payment, invoice, amount, by_invoice.get(invoice_id))
    for invoice_id, row in by_invoice.items():
        if invoice_id not in wanted:
            withdraw(run, row)


def refresh(row: MirroredPayment) -> None:
    """Take the outcome of the row's write, if it has finished since."""
    command = row.command
    if command is None:
        return
    done = command.status == OutboundCommand.Status.DONE
    dead = command.status == OutboundCommand.Status.DEAD
    if row.state == State.OWED and done:
        row.state, row.remote_id = State.MIRRORED, command.remote_id
    elif row.state == State.REMOVING and done:
        row.state = State.REMOVED
    elif row.state in (State.OWED, State.REMOVING) and dead:
        row.state, row.reason = State.SKIPPED, Reason.FAILED
        row.detail = command.last_error[:500]
    elif row.state == State.SKIPPED and row.reason == Reason.FAILED and not dead:
        # A person retried the write from its exception.
        deleting = command.action == "delete_payment"
        row.state, row.reason, row.detail = State.REMOVING if deleting else State.OWED, "", ""
        if done:
            refresh(row)
        return
    else:
        return
    row.save(update_fields=["state", "reason", "detail", "remote_id"])


def mirror(
    run: Pass, payment: Payment, invoice: Invoice, amount: Decimal, row: MirroredPayment | None
) -> None:
    """Mirror one part of a payment, or follow an edit of one already mirrored."""
    if row is not None:
        refresh(row)
        if row.state in (State.OWED, State.REMOVING):
            return  # its write is on its way; the next pass continues from there
        if row.state in (State.MIRRORED, State.LINKED):
            if (row.amount, row.date) != (amount, payment.date) and run.running:
                remove(run, row)  # written anew once the delete is done
            return
        if row.state == State.SKIPPED and row.reason == Reason.FAILED:
            return  # a person retries it from its exception
        if (
            row.state == State.SKIPPED
            and row.reason != Reason.DISCONNECTED
            and (row.amount, row.date) == (amount, payment.date)
            and run.last_change(payment, invoice) <= row.checked_at
        ):
            return  # nothing it was skipped for has changed
    reason, detail, target_invoice = verdict(run, invoice)
    with transaction.atomic():
        row = lock(run, payment, invoice, row)
        if row.state in (State.OWED, State.REMOVING, State.MIRRORED, State.LINKED):
            return  # another pass got here first
        row.amount, row.date, row.checked_at = amount, payment.date, clock.now()
        row.target_invoice_id = target_invoice or row.target_invoice_id
        if reason:
            row.state, row.reason, row.detail = State.SKIPPED, reason, detail
            row.save()
            return
        row.reason = row.detail = ""
        if (hand_entered := find_hand_entered(run, row)) is not None:
            row.state, row.remote_id, row.command = State.LINKED, hand_entered, None
            link(run, row)
            row.save()
            return
        if row.command_id is not None or row.remote_id:
            row.revision += 1  # a write of its own, never the replaced one's
        row.state, row.remote_id = State.OWED, ""
        row.command = OutboundCommand.enqueue(
            run.target, "create_payment", create_payload(row), write_key(row)
        )
        row.save()


def lock(
    run: Pass, payment: Payment, invoice: Invoice, row: MirroredPayment | None
) -> MirroredPayment:
    """Return the part's row, locked, creating it on first sight."""
    if row is not None:
        return MirroredPayment.objects.select_for_update().get(pk=row.pk)
    source_ref = (
        ExternalRef.objects.filter(connection=run.source, entity="payment", local_id=payment.pk)
        .values_list("remote_id", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            return MirroredPayment.objects.create(
                partner_id=run.partner_id,
                payment=payment,
                invoice=invoice,
                source=run.source,
                target=run.target,
                source_remote_id=source_ref or str(payment.pk),
                amount=Decimal(0),
                date=payment.date,
                state=State.SKIPPED,
            )
    except IntegrityError:
        return MirroredPayment.objects.select_for_update().get(
            payment=payment, invoice=invoice, target=run.target
        )


def verdict(run: Pass, invoice: Invoice) -> tuple[str, str, str]:
    """Return (reason, detail, ConnectWise invoice id); no reason means the part may be mirrored."""
    if not run.running:
        return Reason.DISCONNECTED, " ".join(missing_requirements(run.partner_id)), ""
    mode = run.preferences.effective_mode
    if mode == Mode.DISABLED:
        return Reason.MODE, "The sync mode is Disabled.", ""
    if mode == Mode.SYNCED_ONLY and invoice.pk not in run.synced:
        return (
            Reason.NOT_SYNCED_WITH_TOOL,
            "Synced Invoices Only: this invoice was not synced with the Sync Tool.",
            "",
        )
    if invoice.pk not in run.comparisons:
        run.comparisons[invoice.pk] = compare(run, invoice)
    return run.comparisons[invoice.pk]


def compare(run: Pass, invoice: Invoice) -> tuple[str, str, str]:
    """Read the invoice from both systems now and say whether they are the same."""
    source_name = registry.display_name(run.source.kind)
    target_name = registry.display_name(run.target.kind)
    source_id = remote_id(run.source, invoice)
    if source_id is None:
        return Reason.INVOICES_DIFFER, f"The invoice is no longer linked to {source_name}.", ""
    ours = run.connector(run.source).invoice(source_id)
    if ours is None:
        return Reason.INVOICES_DIFFER, f"{source_name} no longer has this invoice.", ""
    target = run.connector(run.target)
    target_id = remote_id(run.target, invoice)
    theirs = (
        target.invoice(target_id)
        if target_id is not None
        else target.invoice_by_number(invoice.number)
    )
    if theirs is None:
        return Reason.NOT_IN_TARGET, f"{target_name} has no invoice {invoice.number}.", ""
    differences = [
        f"{label}: {mine} in {source_name}, {other} in {target_name}"
        for label, mine, other in (
            ("Number", ours.number, theirs.number),
            ("Amount", ours.total, theirs.total),
            ("Customer", ours.customer_name, theirs.customer_name),
        )
        if same(mine) != same(other)
    ]
    if differences:
        return Reason.INVOICES_DIFFER, "; ".join(differences) + ".", theirs.id
    return "", "", theirs.id


def same(value: object) -> str:
    """Return a value as compared: names match whatever their case and spacing."""
    return " ".join(str(value).split()).casefold()


def remote_id(connection: Connection, invoice: Invoice) -> str | None:
    return (
        ExternalRef.objects.filter(
            connection=connection, entity="invoice", local_id=invoice.pk, deleted_at__isnull=True
        )
        .values_list("remote_id", flat=True)
        .first()
    )


def find_hand_entered(run: Pass, row: MirroredPayment) -> str | None:
    """Return "invoice/payment" of a payment entered by hand in ConnectWise that this part is.

    Same amount and date, not written by arbridge, and not already linked to
    another part.
    """
    taken = set(
        MirroredPayment.objects.filter(target=run.target, target_invoice_id=row.target_invoice_id)
        .exclude(pk=row.pk)
        .exclude(state__in=(State.REMOVED, State.SKIPPED))
        .values_list("remote_id", flat=True)
    )
    for found in run.connector(run.target).invoice_payments(row.target_invoice_id):
        pair = f"{row.target_invoice_id}/{found.id}"
        if (
            not found.is_arbridge
            and found.amount == row.amount
            and found.date == row.date
            and pair not in taken
        ):
            return pair
    return None


def link(run: Pass, row: MirroredPayment) -> None:
    """Link the payment to the ConnectWise payment found, as a write's success would."""
    ExternalRef.objects.update_or_create(
        connection=run.target,
        entity="payment",
        remote_id=row.remote_id,
        defaults={"partner_id": run.partner_id, "local_id": row.payment_id, "deleted_at": None},
    )


def withdraw(run: Pass, row: MirroredPayment) -> None:
    """Take back a part the QuickBooks payment no longer has (edited away, or deleted)."""
    refresh(row)
    if row.state in (State.MIRRORED, State.LINKED) and run.running:
        remove(run, row)
    elif row.state == State.SKIPPED:
        row.state, row.reason = State.REMOVED, ""
        row.detail = "The QuickBooks payment no longer pays this invoice."
        row.save(update_fields=["state", "reason", "detail"])


def remove(run: Pass, row: MirroredPayment) -> None:
    """Owe the delete of the part's ConnectWise payment."""
    with transaction.atomic():
        row = MirroredPayment.objects.select_for_update().get(pk=row.pk)
        if row.state not in (State.MIRRORED, State.LINKED):
            return
        payload = {
            "entity": "payment",
            "local_id": row.payment_id,
            "remote_id": row.remote_id,
            "deletes": True,
        }
        row.command = OutboundCommand.enqueue(
            run.target, "delete_payment", payload, f"{write_key(row)}-delete"
        )
        row.state = State.REMOVING
        row.save(update_fields=["command", "state"])


def create_payload(row: MirroredPayment) -> dict[str, Any]:
    return {
        "entity": "payment",
        "local_id": row.payment_id,
        "payment_id": row.payment_id,
        "amount": str(row.amount),
        "currency": row.payment.currency,
        "date": row.date.isoformat(),
        "allocations": [{"invoice_remote_id": row.target_invoice_id, "amount": str(row.amount)}],
    }


def write_key(row: MirroredPayment) -> str:
    """Return the key of the part's current ConnectWise payment: the same on every pass."""
    return (
        f"{row.target.kind}-extpay-{row.source_remote_id}-{row.target_invoice_id}"
        f"-{row.target_id}-r{row.revision}"
    )
