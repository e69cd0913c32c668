"""Figures over time: what was owed each day, DSO both ways, invoiced against collected.

One `History` is read per page: per currency and day, from a start day on,
the money invoiced, the money settling invoices (succeeded payments applied,
by payment date; credits, by credit date; what the source settled unseen, by
the day the invoice last changed) and the money collected. What was owed at
the end of a past day is today's AR less what was invoiced after that day,
plus what was settled after it: a balance is derived as exactly total less
those settlements (ledger/models.py), so the walk back is exact, and a day
before the first invoice owes nothing. Every figure over a period inside the
history is then arithmetic on prefix sums, with no further query.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO
from arbridge.ledger.models import Credit, Payment, PaymentAllocation
from arbridge.metrics.figures import (
    WINDOW_DAYS,
    Cents,
    DaysBetween,
    MethodTotal,
    Period,
    live_since,
    money,
    month_start,
    outstanding,
    percent,
    periods,
    previous_month,
    ratio,
    receivables,
)

# How far back countback may walk (and so how much history a DSO reads).
COUNTBACK_MONTHS = 12
# What a history sums per day: cents invoiced and how many invoices; cents settling
# them; cents of payments applied and those cents times the days from invoice to
# payment (for the days to pay); cents collected, how many payments, how much by auto
# pay; and, per method, "method:<m>" cents and "count:<m>" payments.
KINDS = ("invoiced", "invoices", "settled", "applied", "applied_days", "collected", "payments")


# -- the formulas -------------------------------------------------------------------------


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


# -- the history ----------------------------------------------------------------------------


@dataclass
class History:
    """Per currency and day from `start`: cents (or counts) of each of KINDS, and AR today."""

    start: dt.date
    owed_now: dict[str, int]
    days: dict[tuple[str, str], dict[dt.date, int]]
    _sums: dict = field(default_factory=dict, repr=False)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.owed_now) | {currency for _, currency in self.days})

    def _prefix(self, kind: str, currency: str) -> tuple[list[dt.date], list[int]]:
        key = (kind, currency)
        if key not in self._sums:
            days = self.days.get(key, {})
            ordered = sorted(days)
            running, sums = 0, []
            for day in ordered:
                running += days[day]
                sums.append(running)
            self._sums[key] = (ordered, sums)
        return self._sums[key]

    def through(self, kind: str, currency: str, day: dt.date) -> int:
        """Return the sum of a kind from `start` through `day`."""
        ordered, sums = self._prefix(kind, currency)
        i = bisect.bisect_right(ordered, day)
        return sums[i - 1] if i else 0

    def after(self, kind: str, currency: str, day: dt.date) -> int:
        """Return the sum of a kind after `day` (future-dated rows included)."""
        _, sums = self._prefix(kind, currency)
        return (sums[-1] if sums else 0) - self.through(kind, currency, day)

    def sum(self, kind: str, currency: str, period: Period) -> int:
        before = max(period.start, self.start) - dt.timedelta(days=1)
        return self.through(kind, currency, period.end) - self.through(kind, currency, before)

    def days_to_pay(self, currency: str, period: Period) -> Decimal | None:
        """Return the days from invoice to payment, weighted by amount, for payments in it."""
        applied = self.sum("applied", currency, period)
        weighted = self.sum("applied_days", currency, period)
        return ratio(Decimal(weighted), applied) if applied else None

    def methods(self, period: Period) -> list[MethodTotal]:
        """Return the money collected in the period by method and currency, largest first."""
        labels = dict(Payment.Method.choices)
        found = []
        for kind, currency in self.days:
            if kind.startswith("method:"):
                method = kind.removeprefix("method:")
                if cents := self.sum(kind, currency, period):
                    count = self.sum(f"count:{method}", currency, period)
                    label = labels.get(method, method)
                    found.append(
                        MethodTotal(currency, method, label, count, money(cents, currency))
                    )
        return sorted(found, key=lambda m: (m.currency, -m.amount, m.method))

    def first(self, kind: str, currency: str) -> dt.date | None:
        """Return the first day with some of a kind."""
        return next((d for d, v in sorted(self.days.get((kind, currency), {}).items()) if v), None)

    def owed(self, currency: str, day: dt.date) -> int:
        """Return the cents owed at the end of a day (on or after the day before `start`)."""
        return (
            self.owed_now.get(currency, 0)
            - self.after("invoiced", currency, day)
            + self.after("settled", currency, day)
        )


def settlements(partner: Partner | int) -> list[tuple[QuerySet, str]]:
    """Return the rows settling receivables, each annotated `currency` and `day`, with the
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


def read(
    partner: Partner | int, start: dt.date, owed_now: dict[str, Decimal] | None = None
) -> History:
    """Read a partner's history from `start` on: five grouped queries, and AR today unless
    given (as `outstanding` or the aging totals have it)."""
    days: dict[tuple[str, str], dict[dt.date, int]] = {}

    def add(kind: str, currency: str, day: dt.date, value: int | None) -> None:
        bucket = days.setdefault((kind, currency), {})
        bucket[day] = bucket.get(day, 0) + (value or 0)

    invoiced = (
        receivables(partner)
        .filter(issue_date__gte=start)
        .values("currency", "issue_date")
        .annotate(c=Cents("total"), n=Count("id"))
    )
    for row in invoiced:
        add("invoiced", row["currency"], row["issue_date"], row["c"])
        add("invoices", row["currency"], row["issue_date"], row["n"])
    (allocations, _), *others = settlements(partner)
    applied = (
        allocations.filter(day__gte=start)
        .values("currency", "day")
        .annotate(
            c=Cents("amount"),
            # Cents x days, exact: both are whole numbers.
            w=Cents(F("amount") * DaysBetween("payment__date", "invoice__issue_date")),
        )
    )
    for row in applied:
        add("settled", row["currency"], row["day"], row["c"])
        add("applied", row["currency"], row["day"], row["c"])
        add("applied_days", row["currency"], row["day"], row["w"])
    for rows, amount in others:
        for row in rows.filter(day__gte=start).values("currency", "day").annotate(c=Cents(amount)):
            add("settled", row["currency"], row["day"], row["c"])
    collected = (
        Payment.objects.for_partner(partner)
        .filter(status=Payment.Status.SUCCEEDED, date__gte=start)
        .values("currency", "date", "method")
        .annotate(
            c=Cents("amount"),
            n=Count("id"),
            auto=Cents("amount", filter=Q(autopay_attempt__isnull=False)),
        )
        .order_by()
    )
    for row in collected:
        currency, day, method = row["currency"], row["date"], row["method"]
        add("collected", currency, day, row["c"])
        add("payments", currency, day, row["n"])
        add("autopay", currency, day, row["auto"])
        add(f"method:{method}", currency, day, row["c"])
        add(f"count:{method}", currency, day, row["n"])
    if owed_now is None:
        owed_now = outstanding(partner)
    return History(start, {c: int(amount.scaleb(2)) for c, amount in owed_now.items()}, days)


def start_for(first_end: dt.date) -> dt.date:
    """Return the first day a DSO at `first_end` needs: its countback months, or 90 days."""
    start = month_start(first_end)
    for _ in range(COUNTBACK_MONTHS - 1):
        start = previous_month(start)
    return min(start, first_end - dt.timedelta(days=WINDOW_DAYS - 1))


# -- DSO ----------------------------------------------------------------------------------


@dataclass
class Dso:
    currency: str
    end: dt.date
    owed: Decimal
    invoiced: Decimal  # in the 90 days ending at `end`
    simple: Decimal | None
    countback: Decimal | None


def months_back(history: History, currency: str, end: dt.date) -> list[tuple[int, int]]:
    """Return (cents invoiced, days) of the months up to `end`, latest (and partial) first."""
    months, start, last = [], month_start(end), end
    for _ in range(COUNTBACK_MONTHS):
        if last < history.start:
            break
        span = Period(max(start, history.start), last)
        months.append((history.sum("invoiced", currency, span), span.days))
        last, start = start - dt.timedelta(days=1), previous_month(start)
    return months


def dso_at(history: History, currency: str, end: dt.date) -> Dso:
    """Return both DSOs at the end of a day, simple over the 90 days before it."""
    owed = history.owed(currency, end)
    invoiced = history.sum("invoiced", currency, Period.last(WINDOW_DAYS, end))
    months = months_back(history, currency, end)
    return Dso(
        currency,
        end,
        money(owed, currency),
        money(invoiced, currency),
        simple_dso(owed, invoiced, WINDOW_DAYS),
        countback_dso(owed, months) if any(sales for sales, _ in months) else None,
    )


def dso(partner: Partner | int, end: dt.date | None = None) -> dict[str, Dso]:
    """Return simple (over the last 90 days) and countback DSO at the end of a day."""
    end = end or clock.today()
    history = read(partner, start_for(end))
    return {currency: dso_at(history, currency, end) for currency in history.currencies}


def dso_series(history: History, spans: list[Period]) -> dict[str, list[Dso]]:
    """Return per currency both DSOs at the end of each period."""
    return {c: [dso_at(history, c, span.end) for span in spans] for c in history.currencies}


# -- money in --------------------------------------------------------------------------------


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


def flow_of(history: History, currency: str, period: Period) -> Flow:
    def total(kind: str) -> int:
        return history.sum(kind, currency, period)

    return Flow(
        currency,
        period,
        money(total("invoiced"), currency),
        total("invoices"),
        money(total("collected"), currency),
        total("payments"),
        money(total("autopay"), currency),
    )


def flows(history: History, spans: list[Period]) -> dict[str, list[Flow]]:
    """Return invoiced, collected and collected by auto pay per currency, for each period."""
    return {c: [flow_of(history, c, span) for span in spans] for c in history.currencies}


def flow(partner: Partner | int, period: Period) -> dict[str, Flow]:
    """Return invoiced and collected in one period, per currency."""
    history = read(partner, period.start)
    found = {c: flow_of(history, c, period) for c in history.currencies}
    return {c: f for c, f in found.items() if f.invoice_count or f.payment_count}


# -- before and after arbridge ----------------------------------------------------------------


@dataclass
class Window:
    period: Period
    dso: Decimal | None
    days_to_pay: Decimal | None
    collected_share: Decimal | None


def before_after(
    partner: Partner | int, history: History, live: dt.date | None, today: dt.date
) -> dict[str, tuple[Window, Window]]:
    """Return per currency the 90 days before going live against the latest 90 days.

    `history` must reach back 90 days before going live; read a longer one if not.
    """
    if live is None:
        return {}
    before = Period.last(WINDOW_DAYS, live - dt.timedelta(days=1))
    after = Period.last(WINDOW_DAYS, today)
    if history.start > before.start:
        history = read(partner, before.start, {c: money(v, c) for c, v in history.owed_now.items()})
    found = {}
    for currency in history.currencies:
        windows = [
            Window(
                period,
                dso_at(history, currency, period.end).simple,
                history.days_to_pay(currency, period),
                flow_of(history, currency, period).collected_share,
            )
            for period in (before, after)
        ]
        found[currency] = (windows[0], windows[1])
    return found


@dataclass
class Overview:
    """The figures over time the home page and the API show, from one history."""

    spans: list[Period]
    dso: dict[str, list[Dso]]
    flows: dict[str, list[Flow]]
    period_flows: dict[str, Flow]
    days_to_pay: dict[str, Decimal | None]
    methods: list[MethodTotal]
    autopay_since: dict[str, dt.date | None]  # the first auto pay charge, if in the history
    before_after: dict[str, tuple[Window, Window]]
    live_since: dt.date | None


def overview(
    partner: Partner | int,
    grain: str,
    count: int,
    period: Period,
    owed_now: dict[str, Decimal] | None = None,
) -> Overview:
    """Read once and work out the series, the period's figures and before vs after."""
    today = period.end
    spans = periods(grain, count, today)
    history = read(partner, min(start_for(spans[0].end), period.start), owed_now)
    live = live_since(partner)
    currencies = history.currencies
    return Overview(
        spans,
        dso_series(history, spans),
        flows(history, spans),
        {c: flow_of(history, c, period) for c in currencies},
        {c: history.days_to_pay(c, period) for c in currencies},
        history.methods(period),
        {c: history.first("autopay", c) for c in currencies},
        before_after(partner, history, live, today),
        live,
    )
