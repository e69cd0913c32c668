"""Invoices and their lines; an invoice's balance derived from what settles it."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connections, models, transaction
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.core.money import ZERO, money_field, quantize
from arbridge.ledger.models.customers import Customer
from arbridge.ledger.models.guarded import Guarded, LedgerError
from arbridge.ledger.models.states import PaymentOrigin, PaymentStatus


class Settlement(NamedTuple):
    """The money applied to one invoice, by kind."""

    paid: Decimal  # succeeded payments, whatever their origin
    paid_by_arbridge: Decimal  # the part of `paid` taken in arbridge
    pending: Decimal  # payments not settled yet
    credits: Decimal

    @property
    def committed(self) -> Decimal:
        """Return the money the invoice's total must cover."""
        return self.paid + self.pending + self.credits


NOTHING = Settlement(ZERO, ZERO, ZERO, ZERO)
# The fields Invoice._derive sets.
DERIVED = ("balance", "source_adjustment", "status")


class Invoice(Guarded):
    class Status(models.TextChoices):
        OPEN = "open"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid"
        VOID = "void"

    ledger_fields = (
        "total",
        "currency",
        "balance",
        "source_balance",
        "arbridge_paid_in_source",
        "source_adjustment",
        "status",
        "voided_at",
    )

    connection = models.ForeignKey(
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
        help_text="The connection it came from; empty when created in arbridge.",
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, default="USD")
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    terms = models.CharField(max_length=64, blank=True)
    agreement = models.CharField(
        max_length=120, blank=True, help_text="The kind of agreement it bills (HaloPSA's type)."
    )
    memo = models.TextField(blank=True)
    total = money_field()
    # None until saved: a new invoice's balance is derived from its total (see prepare_new).
    balance = money_field(default=None)
    source_balance = money_field(
        null=True, blank=True, default=None, help_text="The balance its source last reported."
    )
    arbridge_paid_in_source = money_field(
        help_text="arbridge's succeeded payments when the source last reported a new balance."
    )
    source_adjustment = money_field(
        help_text="What the source settled by means arbridge has no record of."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            # Newest-first pages within one partner, without walking other partners' rows.
            models.Index(fields=["partner", "id"]),
            models.Index(fields=["partner", "status", "id"]),
            models.Index(fields=["partner", "customer", "id"]),
            models.Index(fields=["partner", "connection", "id"]),
            models.Index(fields=["partner", "updated_at", "id"]),
            # The figures' history is read by issue date (metrics/history.py).
            models.Index(fields=["partner", "issue_date"]),
            models.Index(fields=["partner", "due_date"]),
        ]
        constraints = [
            # The same number from two connections is one invoice linked to both.
            models.UniqueConstraint(fields=["partner", "number"], name="one_invoice_per_number"),
            # Only plain comparisons: SQLite computes with floats, so 5.09 - 5.08 < 0.01.
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(balance__lte=models.F("total")),
                name="invoice_balance_within_total",
            ),
            models.CheckConstraint(
                condition=Q(source_adjustment__gte=0), name="invoice_adjustment_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(source_balance__isnull=True) | Q(source_balance__gte=0),
                name="invoice_source_balance_not_negative",
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    # -- derived amounts --------------------------------------------------

    def settlement(self) -> Settlement:
        """Return the money applied to this invoice, read from the database."""
        if self.pk is None:
            return NOTHING
        succeeded = Q(payment__status=PaymentStatus.SUCCEEDED)
        sums = self.allocations.aggregate(
            paid=Sum("amount", filter=succeeded),
            paid_by_arbridge=Sum(
                "amount", filter=succeeded & Q(payment__origin=PaymentOrigin.ARBRIDGE)
            ),
            pending=Sum("amount", filter=Q(payment__status=PaymentStatus.PENDING)),
        )
        sums["credits"] = self.credits.aggregate(s=Sum("amount"))["s"]
        # SQLite sums decimals as floats; quantizing gives back exact cents.
        return Settlement(**{k: quantize(v or ZERO, self.currency) for k, v in sums.items()})

    @classmethod
    def settlements(cls, invoices: list["Invoice"]) -> dict[int, Settlement]:
        """Return many invoices' settlements by id, as `settlement()` reads one's."""
        succeeded = Q(allocations__payment__status=PaymentStatus.SUCCEEDED)
        by_arbridge = Q(allocations__payment__origin=PaymentOrigin.ARBRIDGE)
        pending = Q(allocations__payment__status=PaymentStatus.PENDING)
        sums: dict[int, dict[str, Any]] = {}
        for start in range(0, len(invoices), 900):  # SQLite's parameter limit
            chunk = cls.objects.filter(
                pk__in=[invoice.pk for invoice in invoices[start : start + 900]]
            )
            for row in (
                chunk.values("pk")
                .annotate(
                    paid=Sum("allocations__amount", filter=succeeded),
                    paid_by_arbridge=Sum("allocations__amount", filter=succeeded & by_arbridge),
                    pending=Sum("allocations__amount", filter=pending),
                )
                .order_by()
            ):
                sums[row.pop("pk")] = row
            for invoice_id, total in (
                chunk.values_list("pk").annotate(s=Sum("credits__amount")).order_by()
            ):
                sums[invoice_id]["credits"] = total
        return {
            invoice.pk: Settlement(
                *(
                    quantize(sums.get(invoice.pk, {}).get(kind) or ZERO, invoice.currency)
                    for kind in Settlement._fields
                )
            )
            for invoice in invoices
        }

    @classmethod
    def recompute_many(cls, invoices: list["Invoice"]) -> None:
        """Derive many invoices from the rows that settle them and save those that changed.

        The caller holds their rows locked (select_for_update) in its transaction.
        """
        settlements = cls.settlements(invoices)
        changed = []
        for invoice in invoices:
            invoice._derive(settlements[invoice.pk])
            if invoice._changed_ledger_fields():
                invoice.updated_at = clock.now()
                changed.append(invoice)
        cls._write_derived(changed)

    @classmethod
    def _write_derived(cls, invoices: list["Invoice"]) -> None:
        """Save the fields `_derive` sets on many invoices, in one prepared statement."""
        if not invoices:
            return
        # bulk_update's CASE per row and field costs more than the rows are worth.
        fields = [cls._meta.get_field(name) for name in (*DERIVED, "updated_at")]
        db = connections[cls.objects.db]
        quote = db.ops.quote_name
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        rows = [
            [f.get_db_prep_save(getattr(invoice, f.attname), db) for f in fields] + [invoice.pk]
            for invoice in invoices
        ]
        with db.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(cls._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608
                rows,
            )
        for invoice in invoices:
            invoice._remember()

    def applied_payments(self, statuses: tuple[str, ...] = ("succeeded",)) -> Decimal:
        total = self.allocations.filter(payment__status__in=statuses).aggregate(s=Sum("amount"))
        return quantize(total["s"] or ZERO, self.currency)

    def applied_credits(self) -> Decimal:
        return self.settlement().credits

    def pending_amount(self) -> Decimal:
        """Return the amount held by payments that have not settled yet (ACH)."""
        return self.applied_payments(statuses=(PaymentStatus.PENDING,))

    @property
    def payable(self) -> Decimal:
        """Return what a customer may still pay: the balance less pending payments."""
        return max(ZERO, self.balance - self.pending_amount())

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in (self.Status.OPEN, self.Status.PARTIALLY_PAID)
            and self.due_date is not None
            and self.due_date < clock.today()
        )

    def room(self, settlement: Settlement, origin: str) -> Decimal:
        """Return how much more a payment of the given origin, or a credit, may apply.

        An arbridge payment is also kept out of what the source already settled;
        an external payment or a credit may be that very money, arriving as a record.
        """
        if self.is_void:
            return ZERO
        room = self.total - settlement.committed
        if origin == PaymentOrigin.ARBRIDGE:
            room -= self.source_adjustment
        return max(room, ZERO)

    # -- the one place balances change -------------------------------------

    def _derive(self, settlement: Settlement) -> None:
        """Set balance, source adjustment and status from the money applied."""
        if self.is_void:
            self.balance, self.source_adjustment, self.status = ZERO, ZERO, self.Status.VOID
            return
        remaining = self.total - settlement.paid - settlement.credits
        if remaining < 0:
            raise LedgerError(
                f"invoice {self.number}: {self.total - remaining} applied exceeds "
                f"the total {self.total}"
            )
        adjustment = ZERO
        if self.source_balance is not None:
            known = (
                settlement.paid
                - settlement.paid_by_arbridge
                + settlement.credits
                + self.arbridge_paid_in_source
            )
            settled_there = self.total - self.source_balance - known
            adjustment = min(max(settled_there, ZERO), remaining)
        self.source_adjustment = adjustment
        self.balance = remaining - adjustment
        if self.balance == 0:
            self.status = self.Status.PAID
        elif self.balance < self.total:
            self.status = self.Status.PARTIALLY_PAID
        else:
            self.status = self.Status.OPEN

    def prepare_new(self) -> None:
        """Derive a new invoice's balance; one given below its total is the source's report."""
        self.total = quantize(self.total, self.currency)
        if self.total < 0:
            raise LedgerError(f"invoice {self.number}: negative total {self.total}")
        if self.status == self.Status.VOID and self.voided_at is None:
            self.voided_at = clock.now()
        given_balance, given_status = self.balance, self.status
        if given_balance is not None:
            given_balance = quantize(given_balance, self.currency)
        if self.source_balance is None and given_balance not in (None, self.total):
            self.source_balance = given_balance
        if self.source_balance is not None:
            self.source_balance = quantize(self.source_balance, self.currency)
            if self.source_balance < 0:
                raise LedgerError(f"invoice {self.number}: negative balance {self.source_balance}")
        self.arbridge_paid_in_source = ZERO
        self._derive(NOTHING)
        if not self.is_void and given_balance is not None and given_balance != self.balance:
            raise LedgerError(
                f"invoice {self.number}: a balance of {given_balance} does not fit "
                f"a total of {self.total} and a source balance of {self.source_balance}"
            )
        if given_status not in (self.Status.OPEN, self.status):
            raise LedgerError(
                f"invoice {self.number} is {self.status} by its balance, not {given_status}"
            )

    def _write_ledger(self) -> None:
        """Save the ledger's fields if they changed; a repeated change writes nothing."""
        if self._changed_ledger_fields():
            self.updated_at = clock.now()
            self._write(*self.ledger_fields, "updated_at")

    @contextmanager
    def _change(self) -> Iterator["Invoice"]:
        """Lock this invoice's row and yield a fresh copy; re-derive and save it after."""
        with transaction.atomic():
            invoice = Invoice.objects.select_for_update().get(pk=self.pk)
            yield invoice
            invoice._derive(invoice.settlement())
            invoice._write_ledger()
        if invoice is not self:
            self._take(invoice, *self.ledger_fields, "updated_at")

    def recompute(self, save: bool = True) -> None:
        """Derive balance, source adjustment and status from the rows that settle it."""
        if not save:
            self._derive(self.settlement())
            return
        with self._change():
            pass

    def set_total(self, total: Decimal) -> None:
        """Take a new total from the source; refused below the money already applied."""
        total = quantize(total, self.currency)
        with self._change() as invoice:
            committed = invoice.settlement().committed
            if total < committed:
                raise LedgerError(
                    f"invoice {self.number}: new total {total} is below "
                    f"the {committed} already applied"
                )
            invoice.total = total

    def set_source_balance(self, balance: Decimal | None) -> None:
        """Record the balance the source reports; money settled there reduces ours."""
        if balance is not None:
            balance = quantize(balance, self.currency)
            if balance < 0:
                raise LedgerError(f"invoice {self.number}: negative source balance {balance}")
        with self._change() as invoice:
            # An unchanged report says nothing new about money, however late it comes:
            # it must not be read as including a payment taken here since the last one.
            if balance != invoice.source_balance:
                invoice.source_balance = balance
                invoice.arbridge_paid_in_source = (
                    ZERO if balance is None else invoice.settlement().paid_by_arbridge
                )

    def void(self) -> None:
        """Void the invoice; refused while payments or credits are applied to it."""
        with self._change() as invoice:
            if invoice.is_void:
                return
            if committed := invoice.settlement().committed:
                raise LedgerError(
                    f"invoice {self.number} still has {committed} applied; refund or move "
                    "its payments and remove its credits first"
                )
            invoice.voided_at = clock.now()

    def archive(self) -> None:
        """Archive in arbridge only; nothing is deleted in any source."""
        if not self.archived:
            self.archived = True
            self.archived_at = self.updated_at = clock.now()
            self.save(update_fields=["archived", "archived_at", "updated_at"])


class InvoiceLine(PartnerOwned):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    item = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(1))
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, default=ZERO)
    amount = money_field()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description or self.item
