"""The figures a finance person reads: DSO, aging, overdue rate, days to pay, collections.

Every figure is per currency (amounts in two currencies are never added) and
leaves out void and archived invoices. The database does the adding, in whole
cents (`Cents`): SQLite adds decimals as floats, integers exactly.

Figures over time (DSO, invoiced against collected) are in history.py.

The definitions, as the pages state them:

- AR: what customers owe, the open balances of unpaid invoices.
- Aging: AR by days past the due date (the issue date when there is none).
- Simple DSO: AR at the end of a period / invoiced in the period x its days.
- Countback DSO: walk back month by month from the end of the period,
  taking each month's invoicing off AR and adding its days, and for the
  month AR runs out in, the fraction of its days AR covers.
- Overdue rate: unpaid invoices past their due date / unpaid invoices.
- Average days to pay: days from invoice date to payment date, weighted by
  the amount paid, over payments in the period.
- Hours reclaimed: payments and deposits written back by arbridge x the
  minutes a person would spend entering each.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Aggregate,
    BigIntegerField,
    Count,
    FloatField,
    Func,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO, quantize
from arbridge.integrations.models import Connection, ExceptionItem, OutboundCommand
from arbridge.ledger.models import Customer, Invoice, Payment
from arbridge.metrics.models import MetricsSettings
from arbridge.payments.models import UnmatchedFunds

UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
# The buckets of days past due, each with its first and last day (None: open-ended).
BUCKETS: dict[str, tuple[int | None, int | None]] = {
    "current": (None, 0),
    "1-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}
BUCKET_LABELS = {
    "current": "Current",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "90+": "Over 90 days",
}
# The write-backs a person would otherwise key in by hand.
WRITTEN_BACK = ("create_payment", "create_deposit")
WINDOW_DAYS = 90


# -- SQL helpers ---------------------------------------------------------------------


class Cents(Aggregate):
    """SUM of an amount in whole cents: exact on SQLite, which adds decimals as floats."""

    function = "SUM"
    template = "%(function)s(CAST(ROUND(%(expressions)s * 100) AS BIGINT))"
    output_field = BigIntegerField()


class DaysBetween(Func):
    """The days from one date column to another (later minus earlier), as a number."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        later, earlier = (compiler.compile(e) for e in self.get_source_expressions())
        return f"({later[0]} - {earlier[0]})", (*later[1], *earlier[1])

    def as_sqlite(self, compiler, connection, **extra):
        later, earlier = (compiler.compile(e) for e in self.get_source_expressions())
        return f"(julianday({later[0]}) - julianday({earlier[0]}))", (*later[1], *earlier[1])


def money(cents: int | None, currency: str) -> Decimal:
    return quantize(Decimal(cents or 0).scaleb(-2), currency)


def ratio(part: Decimal | int, whole: Decimal | int, places: str = "0.1") -> Decimal | None:
    """Return part/whole as a Decimal rounded half-up, or None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return ratio(Decimal(part) * 100, whole)


# -- periods ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days from start to end, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def last(cls, days: int = WINDOW_DAYS, end: dt.date | None = None) -> Period:
        end = end or clock.today()
        return cls(end - dt.timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    """Return the first day of the month before the one `day` is in."""
    return month_start(month_start(day) - dt.timedelta(days=1))


def periods(grain: str, count: int, end: dt.date | None = None) -> list[Period]:
    """Return the last `count` weeks (Monday to Sunday) or months up to `end`, oldest first.

    The last one ends at `end`, so it may be partial.
    """
    end = end or clock.today()
    found: list[Period] = []
    if grain == "week":
        start = end - dt.timedelta(days=end.weekday())
        for _ in range(count):
            found.append(Period(start, min(start + dt.timedelta(days=6), end)))
            start -= dt.timedelta(days=7)
    elif grain == "month":
        start = month_start(end)
        for _ in range(count):
            last = start.replace(day=calendar.monthrange(start.year, start.month)[1])
            found.append(Period(start, min(last, end)))
            start = previous_month(start)
    else:
        raise ValueError(f"grain is week or month, not {grain!r}")
    return found[::-1]


# -- the rows figures read -----------------------------------------------------------


def receivables(partner: Partner | int) -> QuerySet:
    """Invoices that count: neither void nor archived."""
    return (
        Invoice.objects.for_partner(partner).filter(archived=False).exclude(status="void")
    ).order_by()


def unpaid(partner: Partner | int) -> QuerySet:
    return receivables(partner).filter(status__in=UNPAID)


def collected_payments(partner: Partner | int, period: Period) -> QuerySet:
    """Payments that succeeded, dated in the period."""
    return (
        Payment.objects.for_partner(partner)
        .filter(status=Payment.Status.SUCCEEDED, date__range=(period.start, period.end))
        .order_by()
    )


# -- AR and aging -----------------------------------------------------------------------


def due_between(first: dt.date | None, last: dt.date | None) -> Q:
    """Invoices whose due date (or issue date, lacking one) falls in [first, last]."""
    own, fallback = Q(), Q(due_date__isnull=True)
    if first is not None:
        own &= Q(due_date__gte=first)
        fallback &= Q(issue_date__gte=first)
    if last is not None:
        own &= Q(due_date__lte=last)
        fallback &= Q(issue_date__lte=last)
    return (own & Q(due_date__isnull=False)) | fallback


def bucket_filter(bucket: str, as_of: dt.date) -> Q:
    """Invoices in an aging bucket on a day: days past due from its first to its last."""
    fewest, most = BUCKETS[bucket]
    latest_due = None if fewest is None else as_of - dt.timedelta(days=fewest)
    earliest_due = None if most is None else as_of - dt.timedelta(days=most)
    return due_between(earliest_due, latest_due)


@dataclass
class Aging:
    """AR in one currency (for one customer, or all) by bucket: amounts and invoice counts."""

    currency: str
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    customer_id: int | None = None
    customer_name: str = ""

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def overdue(self) -> Decimal:
        return self.total - self.amounts["current"]

    def pack(self) -> tuple:
        """Return the row as plain ints and strings: small to keep, quick to read back."""
        cents = tuple(int(self.amounts[b].scaleb(2)) for b in BUCKETS)
        counts = tuple(self.counts[b] for b in BUCKETS)
        return (self.currency, self.customer_id, self.customer_name, cents, counts)

    @classmethod
    def unpack(cls, packed: tuple) -> Aging:
        currency, customer_id, name, cents, counts = packed
        return cls(
            currency,
            {b: money(c, currency) for b, c in zip(BUCKETS, cents, strict=True)},
            dict(zip(BUCKETS, counts, strict=True)),
            customer_id,
            name,
        )

    def buckets(self) -> list[tuple[str, str, Decimal, int]]:
        return [(b, BUCKET_LABELS[b], self.amounts[b], self.counts[b]) for b in BUCKETS]


def aging(partner: Partner | int, as_of: dt.date | None = None) -> dict[str, Aging]:
    """Return AR by aging bucket, per currency."""
    rows = _aging_rows(unpaid(partner), ("currency",), as_of or clock.today())
    return {row.currency: row for row in rows}


def aging_by_customer(partner: Partner | int, as_of: dt.date | None = None) -> list[Aging]:
    """Return AR by aging bucket per customer and currency, largest first."""
    rows = _aging_rows(unpaid(partner), ("customer_id", "currency"), as_of or clock.today())
    # Names are read apart: grouping by them too would sort every unpaid invoice by name.
    names = dict(Customer.objects.for_partner(partner).values_list("id", "name"))
    for row in rows:
        row.customer_name = names.get(row.customer_id, "")
    return sorted(rows, key=lambda r: (r.currency, -r.total, r.customer_name, r.customer_id or 0))


def largest_debtors(
    partner: Partner | int, currency: str, as_of: dt.date | None = None, count: int = 5
) -> list[Aging]:
    """Return the aging of the `count` customers owing most in a currency, largest first."""
    owing = unpaid(partner).filter(currency=currency)
    top = list(
        owing.values("customer_id")
        .annotate(c=Cents("balance"))
        .order_by("-c", "customer_id")
        .values_list("customer_id", flat=True)[:count]
    )
    rows = _aging_rows(
        owing.filter(customer_id__in=top), ("customer_id", "currency"), as_of or clock.today()
    )
    names = dict(Customer.objects.filter(pk__in=top).values_list("id", "name"))
    for row in rows:
        row.customer_name = names.get(row.customer_id, "")
    return sorted(rows, key=lambda r: (-r.total, r.customer_name, r.customer_id or 0))


def aging_totals(rows: list[Aging]) -> list[Aging]:
    """Return the per-currency totals of per-customer aging rows."""
    totals: dict[str, Aging] = {}
    for row in rows:
        total = totals.setdefault(row.currency, Aging(row.currency))
        for bucket in BUCKETS:
            total.amounts[bucket] += row.amounts[bucket]
            total.counts[bucket] += row.counts[bucket]
    return [totals[c] for c in sorted(totals)]


def _aging_rows(invoices: QuerySet, keys: tuple[str, ...], as_of: dt.date) -> list[Aging]:
    # Days past due, from the due date or the issue date, compared as dates.
    due_on = Coalesce("due_date", "issue_date")
    sums = {}
    for bucket, (fewest, most) in BUCKETS.items():
        condition = Q()
        if fewest is not None:
            condition &= Q(due_on__lte=as_of - dt.timedelta(days=fewest))
        if most is not None:
            condition &= Q(due_on__gte=as_of - dt.timedelta(days=most))
        sums[f"a_{bucket}"] = Cents("balance", filter=condition)
        sums[f"n_{bucket}"] = Count("id", filter=condition)
    found = []
    for row in invoices.annotate(due_on=due_on).values(*keys).annotate(**sums).order_by():
        currency = row["currency"]
        found.append(
            Aging(
                currency=currency,
                amounts={b: money(row[f"a_{b}"], currency) for b in BUCKETS},
                counts={b: row[f"n_{b}"] for b in BUCKETS},
                customer_id=row.get("customer_id"),
                customer_name=row.get("customer__name", ""),
            )
        )
    return found


def outstanding(partner: Partner | int) -> dict[str, Decimal]:
    """Return AR today (the open balances), per currency."""
    rows = unpaid(partner).values("currency").annotate(c=Cents("balance")).order_by("currency")
    return {row["currency"]: money(row["c"], row["currency"]) for row in rows}


@dataclass
class Overdue:
    currency: str
    unpaid_count: int
    overdue_count: int
    unpaid_amount: Decimal
    overdue_amount: Decimal

    @property
    def rate(self) -> Decimal | None:
        """The share of unpaid invoices that are past due, in percent."""
        return percent(self.overdue_count, self.unpaid_count)

    @property
    def amount_rate(self) -> Decimal | None:
        return percent(self.overdue_amount, self.unpaid_amount)


def overdue(partner: Partner | int, as_of: dt.date | None = None) -> dict[str, Overdue]:
    """Return the overdue invoice rate (by count and by amount) per currency."""
    return overdue_of(aging(partner, as_of))


def overdue_of(aging: dict[str, Aging]) -> dict[str, Overdue]:
    """Return the overdue rates from the aging: unpaid invoices past due are its late buckets."""
    return {
        c: Overdue(c, row.count, row.count - row.counts["current"], row.total, row.overdue)
        for c, row in aging.items()
    }


# -- money in -------------------------------------------------------------------------------


@dataclass
class MethodTotal:
    currency: str
    method: str
    label: str
    count: int
    amount: Decimal


# -- what needs a person -----------------------------------------------------------------


@dataclass
class Attention:
    unmatched: dict[str, tuple[int, Decimal]]  # currency -> (count, amount)
    exceptions: dict[str, int]  # kind label -> open count

    @property
    def exception_count(self) -> int:
        return sum(self.exceptions.values())


def attention(partner: Partner | int) -> Attention:
    """Return money no invoice was matched to, and open exceptions by kind."""
    unmatched = (
        UnmatchedFunds.objects.for_partner(partner)
        .filter(status=UnmatchedFunds.Status.OPEN)
        .values("currency")
        .annotate(n=Count("id"), c=Cents("amount"))
        .order_by("currency")
    )
    labels = dict(ExceptionItem.Kind.choices)
    kinds = (
        ExceptionItem.objects.for_partner(partner)
        .filter(status=ExceptionItem.Status.OPEN)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    return Attention(
        {r["currency"]: (r["n"], money(r["c"], r["currency"])) for r in unmatched},
        {str(labels.get(r["kind"], r["kind"])): r["n"] for r in kinds},
    )


@dataclass
class Reclaimed:
    payments: int
    deposits: int
    minutes_per_entry: int

    @property
    def entries(self) -> int:
        return self.payments + self.deposits

    @property
    def hours(self) -> Decimal:
        return ratio(self.entries * self.minutes_per_entry, 60) or Decimal("0.0")


def reclaimed(partner: Partner | int, period: Period, minutes_per_entry: int) -> Reclaimed:
    """Return the payments and deposits written back in the period, and the hours they saved."""
    rows = dict(
        OutboundCommand.objects.for_partner(partner)
        .filter(
            status=OutboundCommand.Status.DONE,
            action__in=WRITTEN_BACK,
            updated_at__date__range=(period.start, period.end),
        )
        .values_list("action")
        .annotate(n=Count("id"))
        .order_by()
    )
    payments, deposits = (rows.get(action, 0) for action in WRITTEN_BACK)
    return Reclaimed(payments, deposits, minutes_per_entry)


def live_since(partner: Partner | int) -> dt.date | None:
    """Return the day arbridge went live: as set, or else the day of the first connection."""
    if day := MetricsSettings.of(partner).live_since:
        return day
    first = Connection.objects.for_partner(partner).order_by("created_at").first()
    return first.created_at.date() if first else None
