"""The canonical accounts-receivable model, and the one place its invariants live.

An invoice's balance is derived, never set:

    balance = total - succeeded allocations - credits - source adjustment

The source adjustment is what the source system settled by means arbridge has
no record of (a payment or credit entered there that the connector cannot see
as such). The source reports a balance; arbridge subtracts from the source's
settled amount (total - reported balance) the money both sides know of: the
external payments and credits that came from the source, and arbridge's own
payments that had succeeded when the source last reported a changed balance
(`arbridge_paid_in_source`, since a payment taken here reaches the source only
when it is written back). What is left, clamped so that 0 <= balance <= total,
is the adjustment. So a payment taken here lowers the balance at once, a
source's own payment arriving after the balance it already lowered changes
nothing, and external payments, credits and reported balances give the same
result in whatever order they arrive.

Money applied to an invoice never exceeds its total: succeeded and pending
payments plus credits (`Settlement.committed`) <= total. Pending payments (ACH
in flight) hold their amount: `payable` is what may still be paid.

Every change goes through a method here, inside a transaction that locks the
rows it reads (payment first, then invoices in id order); a refused change
raises LedgerError and leaves nothing behind. A plain save() of an existing
invoice or payment never writes the ledger's fields, so a stale copy cannot
undo a payment, and refuses if the caller changed one.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from django.db import connections, models, transaction
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.core.models import PartnerOwned, PartnerQuerySet
from arbridge.core.money import ZERO, money_field, quantize

if TYPE_CHECKING:
    from arbridge.core.models import Connection


class LedgerError(ValueError):
    """A change that would break a ledger invariant; nothing was written."""


class Guarded(PartnerOwned):
    """A row whose `ledger_fields` only this module writes."""

    ledger_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember()
        return instance

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember()

    def _remember(self) -> None:
        self._ledger_values = {
            f: self.__dict__[f] for f in self.ledger_fields if f in self.__dict__
        }

    def prepare_new(self) -> None:
        """Check and complete a row about to be inserted."""

    def save(self, **kwargs: Any) -> None:
        if self._state.adding:
            self.prepare_new()
        else:
            kwargs["update_fields"] = self._plain_update_fields(kwargs.get("update_fields"))
        super().save(**kwargs)
        self._remember()

    def _plain_update_fields(self, update_fields) -> list[str]:
        if update_fields is not None:
            if touched := set(update_fields) & set(self.ledger_fields):
                raise LedgerError(f"{', '.join(sorted(touched))} change only through the ledger")
            return list(update_fields)
        if changed := self._changed_ledger_fields():
            raise LedgerError(f"{', '.join(changed)} change only through the ledger")
        return [
            f.name
            for f in self._meta.concrete_fields
            if not f.primary_key and f.name not in self.ledger_fields
        ]

    def _changed_ledger_fields(self) -> list[str]:
        loaded = getattr(self, "_ledger_values", {})
        return [f for f, value in loaded.items() if getattr(self, f) != value]

    def _write(self, *fields: str) -> None:
        """Save the given fields, ledger fields included; for this module only."""
        super().save(update_fields=fields)
        self._remember()

    def _take(self, other: "Guarded", *fields: str) -> None:
        """Copy fields from a freshly saved copy of this row, so the caller sees them."""
        for f in fields:
            setattr(self, f, getattr(other, f))
        self._remember()


class CustomerQuerySet(PartnerQuerySet):
    def unknown_for_connection(self, connection: "Connection") -> "Customer":
        """Return the connection's customer for invoices that arrive without one."""
        customer, _ = self.get_or_create(
            unknown_for=connection,
            defaults={"partner_id": connection.partner_id, "name": "Unknown"},
        )
        return customer


class Customer(PartnerOwned):
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    billing_state = models.CharField(
        max_length=2,
        blank=True,
        help_text="Two-letter US state or territory of the billing address.",
    )
    billing_country = models.CharField(max_length=2, blank=True)
    # The connection whose invoices without a customer land here (one per connection).
    unknown_for = models.OneToOneField(
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source reported it deleted."
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now, db_index=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["partner", "name"])]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unknown(self) -> bool:
        return self.unknown_for_id is not None

    def archive(self) -> None:
        """Archive in arbridge only; nothing is deleted in any source."""
        if not self.archived:
            self.archived, self.archived_at = True, clock.now()
            self.save(update_fields=["archived", "archived_at"])


class Contact(PartnerOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    is_billing = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name or self.email


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
        succeeded = Q(payment__status=Payment.Status.SUCCEEDED)
        sums = self.allocations.aggregate(
            paid=Sum("amount", filter=succeeded),
            paid_by_arbridge=Sum(
                "amount", filter=succeeded & Q(payment__origin=Payment.Origin.ARBRIDGE)
            ),
            pending=Sum("amount", filter=Q(payment__status=Payment.Status.PENDING)),
        )
        sums["credits"] = self.credits.aggregate(s=Sum("amount"))["s"]
        # SQLite sums decimals as floats; quantizing gives back exact cents.
        return Settlement(**{k: quantize(v or ZERO, self.currency) for k, v in sums.items()})

    @classmethod
    def settlements(cls, invoices: list["Invoice"]) -> dict[int, Settlement]:
        """Return many invoices' settlements by id, as `settlement()` reads one's."""
        succeeded = Q(payment__status=Payment.Status.SUCCEEDED)
        sums: dict[int, dict[str, Any]] = {}
        for start in range(0, len(invoices), 900):  # SQLite's parameter limit
            ids = [invoice.pk for invoice in invoices[start : start + 900]]
            for row in (
                PaymentAllocation.objects.filter(invoice_id__in=ids)
                .values("invoice_id")
                .annotate(
                    paid=Sum("amount", filter=succeeded),
                    paid_by_arbridge=Sum(
                        "amount", filter=succeeded & Q(payment__origin=Payment.Origin.ARBRIDGE)
                    ),
                    pending=Sum("amount", filter=Q(payment__status=Payment.Status.PENDING)),
                )
                .order_by()
            ):
                sums[row.pop("invoice_id")] = row
            credits = (
                Credit.objects.filter(invoice_id__in=ids)
                .values_list("invoice_id")
                .annotate(s=Sum("amount"))
                .order_by()
            )
            for invoice_id, total in credits:
                sums.setdefault(invoice_id, {})["credits"] = total
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
        return self.applied_payments(statuses=(Payment.Status.PENDING,))

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
        if origin == Payment.Origin.ARBRIDGE:
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
            self.archived, self.archived_at = True, clock.now()
            self.save(update_fields=["archived", "archived_at"])


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


class Payment(Guarded):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"
        RETURNED = "returned"

    class Origin(models.TextChoices):
        ARBRIDGE = "arbridge"
        EXTERNAL = "external"

    class Method(models.TextChoices):
        CARD = "card"
        ACH = "ach"
        CHECK = "check"
        CASH = "cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other"

    # Statuses whose allocations hold money on their invoices.
    LIVE = (Status.PENDING, Status.SUCCEEDED)
    # Forward only: a late "succeeded" must not revive a refunded payment. A pending
    # payment may skip ahead, since processor events can arrive out of order.
    TRANSITIONS = {
        Status.PENDING: {Status.SUCCEEDED, Status.FAILED, Status.REFUNDED, Status.RETURNED},
        Status.SUCCEEDED: {Status.REFUNDED, Status.RETURNED},
        Status.FAILED: set(),
        Status.REFUNDED: set(),
        Status.RETURNED: set(),
    }

    ledger_fields = ("amount", "currency", "status", "origin")

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ARBRIDGE)
    connection = models.ForeignKey(
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        help_text="For an external payment, the connection it was found in.",
    )
    reference = models.CharField(max_length=255, blank=True)
    processor_reference = models.CharField(max_length=255, blank=True)
    source_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source reported this external payment deleted."
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "status", "id"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    @property
    def unapplied(self) -> Decimal:
        applied = self.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
        return self.amount - quantize(applied, self.currency)

    def prepare_new(self) -> None:
        self.amount = quantize(self.amount, self.currency)
        if self.amount <= 0:
            raise LedgerError(f"a payment must be positive, not {self.amount}")
        self.status = self.Status(self.status)
        self.origin = self.Origin(self.origin)

    @contextmanager
    def _change(self) -> Iterator["Payment"]:
        """Lock this payment's row and yield a fresh copy."""
        with transaction.atomic():
            yield Payment.objects.select_for_update().get(pk=self.pk)

    def _check_invoice(self, invoice: Invoice) -> None:
        if invoice.partner_id != self.partner_id:
            raise LedgerError("payment and invoice belong to different partners")
        if invoice.currency != self.currency:
            raise LedgerError(
                f"payment in {self.currency} cannot pay an invoice in {invoice.currency}"
            )

    def allocate(self, invoice: Invoice, amount: Decimal) -> "PaymentAllocation":
        """Apply part of this payment to an invoice; refused beyond what it may take."""
        amount = quantize(amount, self.currency)
        if amount <= 0:
            raise LedgerError("an allocation must be positive")
        self._check_invoice(invoice)
        with self._change() as payment, invoice._change() as locked:
            if not payment.is_live:
                raise LedgerError(f"a {payment.status} payment cannot be applied")
            if amount > payment.unapplied:
                raise LedgerError(f"only {payment.unapplied} of the payment is unapplied")
            if locked.is_void:
                raise LedgerError(f"invoice {locked.number} is void")
            settlement = locked.settlement()
            locked._derive(settlement)
            room = locked.room(settlement, payment.origin)
            if amount > room:
                raise LedgerError(f"invoice {locked.number} can take at most {room}")
            allocation, created = PaymentAllocation.objects.get_or_create(
                payment=payment,
                invoice=locked,
                defaults={"partner_id": self.partner_id, "amount": amount},
            )
            if not created:
                allocation.amount += amount
                allocation.save(update_fields=["amount"])
        return allocation

    def unallocate(self, invoice: Invoice) -> None:
        """Take this payment off an invoice, as when the source unlinks it."""
        self._check_invoice(invoice)
        with self._change() as payment, invoice._change() as locked:
            PaymentAllocation.objects.filter(payment=payment, invoice=locked).delete()

    def set_amount(self, amount: Decimal) -> None:
        """Take a new amount from the source; refused below what is already applied."""
        amount = quantize(amount, self.currency)
        if amount <= 0:
            raise LedgerError(f"a payment must be positive, not {amount}")
        with self._change() as payment:
            applied = payment.amount - payment.unapplied
            if amount < applied:
                raise LedgerError(f"payment {payment.pk} already has {applied} applied")
            payment.amount = amount
            payment.updated_at = clock.now()
            payment._write("amount", "updated_at")
        self._take(payment, "amount", "updated_at")

    def set_status(self, status: str) -> None:
        """Move the payment to a new status and re-derive every invoice it touches."""
        try:
            status = self.Status(status)
        except ValueError:
            raise LedgerError(f"no such payment status: {status!r}") from None
        with self._change() as payment:
            if status == payment.status:
                return
            if status not in self.TRANSITIONS[payment.status]:
                raise LedgerError(f"a {payment.status} payment cannot become {status}")
            payment.status = status
            payment.updated_at = clock.now()
            payment._write("status", "updated_at")
            touched = Invoice.objects.filter(pk__in=payment.allocations.values("invoice_id"))
            for invoice in touched.select_for_update().order_by("pk"):
                invoice._derive(invoice.settlement())
                invoice._write_ledger()
        self._take(payment, "status", "updated_at")


class PaymentAllocation(PartnerOwned):
    """The part of a payment applied to one invoice; made by Payment.allocate only."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="one_allocation_per_pair"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to invoice {self.invoice_id}"


class Credit(PartnerOwned):
    """A credit (credit memo, write-off) applied to one invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits")
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    reference = models.CharField(max_length=255, blank=True)
    connection = models.ForeignKey(
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_positive")]

    def __str__(self) -> str:
        return f"Credit {self.reference or self.pk} {self.amount} {self.currency}"

    @classmethod
    def apply(
        cls,
        invoice: Invoice,
        amount: Decimal,
        *,
        date: dt.date | None = None,
        reference: str = "",
        connection: "Connection | None" = None,
    ) -> "Credit":
        """Apply a credit to an invoice; refused beyond what the invoice may take."""
        amount = quantize(amount, invoice.currency)
        if amount <= 0:
            raise LedgerError("a credit must be positive")
        with invoice._change() as locked:
            if locked.is_void:
                raise LedgerError(f"invoice {locked.number} is void")
            room = locked.room(locked.settlement(), Payment.Origin.EXTERNAL)
            if amount > room:
                raise LedgerError(f"invoice {locked.number} can take a credit of at most {room}")
            return cls.objects.create(
                partner_id=locked.partner_id,
                invoice=locked,
                amount=amount,
                currency=locked.currency,
                date=date or clock.today(),
                reference=reference,
                connection=connection,
            )

    def remove(self) -> None:
        """Take the credit off its invoice, as when the source deletes it."""
        with self.invoice._change():
            Credit.objects.filter(pk=self.pk).delete()


class Deposit(PartnerOwned):
    """A processor payout: the payments in it, less fees, as it reached the bank."""

    amount = money_field(help_text="The payout: what reached the bank.")
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    processor_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"Deposit {self.processor_reference or self.pk} {self.amount} {self.currency}"

    def lines_total(self) -> Decimal:
        return quantize(self.lines.aggregate(s=Sum("amount"))["s"] or ZERO, self.currency)

    def is_balanced(self) -> bool:
        """Return True if the lines add up to the payout."""
        return self.lines_total() == self.amount


class DepositLine(PartnerOwned):
    class Kind(models.TextChoices):
        PAYMENT = "payment"
        FEE = "fee"
        SURCHARGE = "surcharge"
        OTHER = "other"

    deposit = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit_lines"
    )
    amount = money_field(help_text="Negative for fees.")
    description = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
