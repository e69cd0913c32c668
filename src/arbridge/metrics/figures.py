"""The figures a finance person reads: DSO, aging, overdue rate, days to pay, collections.

Every figure is per currency (amounts in two currencies are never added) and
leaves out void and archived invoices. The database does the adding, in whole
cents (`Cents`): SQLite adds decimals as floats, integers exactly.

What was owed at a past date is rebuilt from what happened: invoices by issue
date, less the succeeded payments applied to them (by payment date), their
credits (by credit date) and what their source settled by means arbridge
cannot see (by the day the invoice last changed). At today it equals the sum
of the open balances.

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

import bisect
import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Aggregate,
    BigIntegerField,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO, quantize
from arbridge.integrations.models import Connection, ExceptionItem, OutboundCommand
from arbridge.ledger.models import Credit, Invoice, Payment, PaymentAllocation
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
        return f"({later[0] - earlier[0]})", (*later[1], *earlier[1])

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

    def buckets(self) -> list[tuple[str, str, Decimal, int]]:
        return [(b, BUCKET_LABELS[b], self.amounts[b], self.counts[b]) for b in BUCKETS]


def aging(partner: Partner | int, as_of: dt.date | None = None) -> dict[str, Aging]:
    """Return AR by aging bucket, per currency."""
    rows = _aging_rows(unpaid(partner), ("currency",), as_of or clock.today())
    return {row.currency: row for row in rows}


def aging_by_customer(partner: Partner | int, as_of: dt.date | None = None) -> list[Aging]:
    """Return AR by aging bucket per customer and currency, largest first."""
    rows = _aging_rows(
        unpaid(partner), ("customer_id", "customer__name", "currency"), as_of or clock.today()
    )
    return sorted(rows, key=lambda r: (r.currency, -r.total, r.customer_name, r.customer_id or 0))


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
    late = Q(due_date__lt=as_of or clock.today())
    rows = (
        unpaid(partner)
        .values("currency")
        .annotate(
            n=Count("id"),
            late_n=Count("id", filter=late),
            a=Cents("balance"),
            late_a=Cents("balance", filter=late),
        )
        .order_by("currency")
    )
    return {
        r["currency"]: Overdue(
            r["currency"],
            r["n"],
            r["late_n"],
            money(r["a"], r["currency"]),
            money(r["late_a"], r["currency"]),
        )
        for r in rows
    }


# -- history: what was owed on each day ----------------------------------------------------


@dataclass
class Ledger:
    """Per day and currency: invoiced and settled, plus what was owed before the first day.

    `owed(currency, day)` and `invoiced(currency, start, end)` read it with prefix sums.
    """

    start: dt.date
    opening: dict[str, int]  # cents owed at the end of the day before `start`
    invoiced_days: dict[str, dict[dt.date, int]]
    settled_days: dict[str, dict[dt.date, int]]
    _prefix: dict = field(default_factory=dict, repr=False)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.opening) | set(self.invoiced_days) | set(self.settled_days))

    def _cumulative(self, kind: str, currency: str) -> tuple[list[dt.date], list[int]]:
        key = (kind, currency)
        if key not in self._prefix:
            days = getattr(self, f"{kind}_days").get(currency, {})
            ordered = sorted(days)
            running, sums = 0, []
            for day in ordered:
                running += days[day]
                sums.append(running)
            self._prefix[key] = (ordered, sums)
        return self._prefix[key]

    def _through(self, kind: str, currency: str, day: dt.date) -> int:
        """Return the cents of a kind from `start` through `day`."""
        ordered, sums = self._cumulative(kind, currency)
        i = bisect.bisect_right(ordered, day)
        return sums[i - 1] if i else 0

    def invoiced(self, currency: str, start: dt.date, end: dt.date) -> int:
        """Return the cents invoiced from start through end (within the ledger's days)."""
        before = start - dt.timedelta(days=1)
        return self._through("invoiced", currency, end) - self._through(
            "invoiced", currency, before
        )

    def owed(self, currency: str, day: dt.date) -> int:
        """Return the cents owed at the end of a day."""
        return (
            self.opening.get(currency, 0)
            + self._through("invoiced", currency, day)
            - self._through("settled", currency, day)
        )


def _by_day(rows: Iterable[dict], into: dict[str, dict[dt.date, int]], day_key: str) -> None:
    for row in rows:
        days = into.setdefault(row["currency"], {})
        day = row[day_key]
        if isinstance(day, dt.datetime):
            day = day.date()
        days[day] = days.get(day, 0) + (row["c"] or 0)


def settlements(partner: Partner | int) -> list[tuple[QuerySet, str]]:
    """Return the rows that settle receivables, each annotated `currency` and `day`, with the
    field holding their amount: applied succeeded payments, credits, source adjustments."""
    live = Q(invoice__archived=False) & ~Q(invoice__status="void")
    allocations = (
        PaymentAllocation.objects.filter(live, partner=partner, payment__status="succeeded")
        .annotate(currency=F("invoice__currency"), day=F("payment__date"))
        .order_by()
    )
    credits = Credit.objects.filter(live, partner=partner).annotate(day=F("date")).order_by()
    adjusted = (
        receivables(partner).filter(source_adjustment__gt=0).annotate(day=TruncDate("updated_at"))
    )
    return [(allocations, "amount"), (credits, "amount"), (adjusted, "source_adjustment")]


def ledger(partner: Partner | int, start: dt.date, end: dt.date) -> Ledger:
    """Read invoicing and settlements per day from start through end, and what was owed before."""
    before = start - dt.timedelta(days=1)
    opening: dict[str, int] = defaultdict(int)
    invoices = receivables(partner)
    for row in (
        invoices.filter(issue_date__lte=before).values("currency").annotate(c=Cents("total"))
    ):
        opening[row["currency"]] += row["c"] or 0
    invoiced: dict[str, dict[dt.date, int]] = {}
    _by_day(
        invoices.filter(issue_date__range=(start, end))
        .values("currency", "issue_date")
        .annotate(c=Cents("total")),
        invoiced,
        "issue_date",
    )
    settled: dict[str, dict[dt.date, int]] = {}
    for rows, amount in settlements(partner):
        for row in rows.filter(day__lte=before).values("currency").annotate(c=Cents(amount)):
            opening[row["currency"]] -= row["c"] or 0
        _by_day(
            rows.filter(day__range=(start, end))
            .values("currency", "day")
            .annotate(c=Cents(amount)),
            settled,
            "day",
        )
    return Ledger(start, dict(opening), invoiced, settled)


# -- DSO --------------------------------------------------------------------------------


def simple_dso(owed: Decimal | int, invoiced: Decimal | int, days: int) -> Decimal | None:
    """Return (AR / credit sales) x days in the period, to a tenth of a day."""
    return ratio(Decimal(owed) * days, invoiced)


def countback_dso(owed: Decimal | int, months: Iterable[tuple[Decimal | int, int]]) -> Decimal:
    """Return countback DSO: AR walked back over (sales, days) of months, latest first.

    Each month whose sales AR covers adds its days; the month AR runs out in adds
    the fraction of its days that the rest covers. AR beyond every month given
    counts only those months' days.
    """
    left, days = Decimal(owed), Decimal(0)
    for sales, month_days in months:
        if left <= 0:
            break
        sales = Decimal(sales)
        if left >= sales:
            left -= sales
            days += month_days
        else:
            days += left / sales * month_days
            left = Decimal(0)
    return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# How far back countback may walk, and so how much history a DSO reads.
COUNTBACK_MONTHS = 12


def months_back(book: Ledger, currency: str, end: dt.date) -> list[tuple[int, int]]:
    """Return (cents invoiced, days) of the months up to `end`, latest (and partial) first."""
    months, start = [], month_start(end)
    last = end
    for _ in range(COUNTBACK_MONTHS):
        if last < book.start:
            break
        first = max(start, book.start)
        months.append((book.invoiced(currency, first, last), (last - first).days + 1))
        last, start = start - dt.timedelta(days=1), previous_month(start)
    return months


@dataclass
class Dso:
    currency: str
    end: dt.date
    owed: Decimal
    invoiced: Decimal  # in the window ending at `end`
    simple: Decimal | None
    countback: Decimal | None


def dso_at(book: Ledger, currency: str, end: dt.date, window: int = WINDOW_DAYS) -> Dso:
    """Return both DSOs at the end of a day, simple over the `window` days before it."""
    owed = book.owed(currency, end)
    start = end - dt.timedelta(days=window - 1)
    invoiced = book.invoiced(currency, start, end)
    months = months_back(book, currency, end)
    return Dso(
        currency,
        end,
        money(owed, currency),
        money(invoiced, currency),
        simple_dso(owed, invoiced, window),
        countback_dso(owed, months) if any(sales for sales, _ in months) else None,
    )


def history_start(first: dt.date) -> dt.date:
    """Return the first day a DSO at `first` needs read: a year of countback months."""
    start = month_start(first)
    for _ in range(COUNTBACK_MONTHS - 1):
        start = previous_month(start)
    return min(start, first - dt.timedelta(days=WINDOW_DAYS))


def dso(partner: Partner | int, end: dt.date | None = None) -> dict[str, Dso]:
    """Return simple (over the last 90 days) and countback DSO at the end of a day."""
    end = end or clock.today()
    book = ledger(partner, history_start(end), end)
    return {currency: dso_at(book, currency, end) for currency in book.currencies}


def dso_series(partner: Partner | int, grain: str = "month", count: int = 12, end=None):
    """Return per currency the DSOs at the end of each of the last `count` weeks or months."""
    spans = periods(grain, count, end)
    book = ledger(partner, history_start(spans[0].end), spans[-1].end)
    return {
        currency: [dso_at(book, currency, span.end) for span in spans]
        for currency in book.currencies
    }


# -- money in -------------------------------------------------------------------------------


@dataclass
class Flow:
    """Invoiced and collected in one currency over one period."""

    currency: str
    period: Period
    invoiced: Decimal = ZERO
    invoice_count: int = 0
    collected: Decimal = ZERO
    payment_count: int = 0
    autopay: Decimal = ZERO

    @property
    def collected_share(self) -> Decimal | None:
        """Collected as a percentage of invoiced."""
        return percent(self.collected, self.invoiced)

    @property
    def autopay_share(self) -> Decimal | None:
        """The percentage of the money collected that auto pay charged."""
        return percent(self.autopay, self.collected)


def flows(partner: Partner | int, spans: list[Period]) -> dict[str, list[Flow]]:
    """Return invoiced, collected and collected by auto pay per currency, for each period."""
    first, last = spans[0].start, spans[-1].end
    whole = Period(first, last)
    starts = [span.start for span in spans]
    found: dict[str, list[Flow]] = {}

    def slot(currency: str, day: dt.date) -> Flow:
        if currency not in found:
            found[currency] = [Flow(currency, span) for span in spans]
        return found[currency][bisect.bisect_right(starts, day) - 1]

    invoiced = (
        receivables(partner)
        .filter(issue_date__range=(first, last))
        .values("currency", "issue_date")
        .annotate(c=Cents("total"), n=Count("id"))
    )
    for row in invoiced:
        flow = slot(row["currency"], row["issue_date"])
        flow.invoiced += money(row["c"], row["currency"])
        flow.invoice_count += row["n"]
    collected = (
        collected_payments(partner, whole)
        .values("currency", "date")
        .annotate(
            c=Cents("amount"),
            n=Count("id"),
            auto=Cents("amount", filter=Q(autopay_attempt__isnull=False)),
        )
    )
    for row in collected:
        flow = slot(row["currency"], row["date"])
        flow.collected += money(row["c"], row["currency"])
        flow.payment_count += row["n"]
        flow.autopay += money(row["auto"], row["currency"])
    return dict(sorted(found.items()))


def flow(partner: Partner | int, period: Period) -> dict[str, Flow]:
    return {currency: rows[0] for currency, rows in flows(partner, [period]).items()}


@dataclass
class MethodTotal:
    currency: str
    method: str
    label: str
    count: int
    amount: Decimal


def payments_by_method(partner: Partner | int, period: Period) -> list[MethodTotal]:
    """Return the payments collected in the period by method and currency, largest first."""
    labels = dict(Payment.Method.choices)
    rows = (
        collected_payments(partner, period)
        .values("currency", "method")
        .annotate(n=Count("id"), c=Cents("amount"))
    )
    found = [
        MethodTotal(
            r["currency"],
            r["method"],
            labels.get(r["method"], r["method"]),
            r["n"],
            money(r["c"], r["currency"]),
        )
        for r in rows
    ]
    return sorted(found, key=lambda m: (m.currency, -m.amount, m.method))


def days_to_pay(partner: Partner | int, period: Period) -> dict[str, Decimal]:
    """Return the days from invoice to payment, weighted by amount, for payments in the period."""
    rows = (
        PaymentAllocation.objects.filter(
            partner=partner,
            payment__status=Payment.Status.SUCCEEDED,
            payment__date__range=(period.start, period.end),
            invoice__archived=False,
        )
        .exclude(invoice__status="void")
        .values(currency=F("invoice__currency"))
        .annotate(
            weighted=Sum(
                F("amount") * DaysBetween("payment__date", "invoice__issue_date"),
                output_field=FloatField(),
            ),
            paid=Sum("amount", output_field=FloatField()),
        )
        .order_by()
    )
    return {
        r["currency"]: ratio(Decimal(repr(r["weighted"])), Decimal(repr(r["paid"])))
        for r in rows
        if r["paid"]
    }


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


# -- before and after arbridge ----------------------------------------------------------------


@dataclass
class Window:
    period: Period
    dso: Decimal | None
    days_to_pay: Decimal | None
    collected_share: Decimal | None


def live_since(partner: Partner | int) -> dt.date | None:
    """Return the day arbridge went live: as set, or else the day of the first connection."""
    if day := MetricsSettings.of(partner).live_since:
        return day
    first = Connection.objects.for_partner(partner).order_by("created_at").first()
    return first.created_at.date() if first else None


def before_after(
    partner: Partner | int, live: dt.date | None, today: dt.date | None = None
) -> dict[str, tuple[Window, Window]]:
    """Return per currency the 90 days before going live against the latest 90 days."""
    if live is None:
        return {}
    today = today or clock.today()
    before = Period.last(WINDOW_DAYS, live - dt.timedelta(days=1))
    after = Period.last(WINDOW_DAYS, today)
    book = ledger(partner, history_start(before.end), after.end)
    read = {p: (flow(partner, p), days_to_pay(partner, p)) for p in (before, after)}
    found = {}
    for currency in book.currencies:
        windows = []
        for period, (flows_in, paid_in) in read.items():
            money_in = flows_in.get(currency)
            windows.append(
                Window(
                    period,
                    dso_at(book, currency, period.end).simple,
                    paid_in.get(currency),
                    money_in.collected_share if money_in else None,
                )
            )
        found[currency] = (windows[0], windows[1])
    return found
