"""REST API v1: the figures of the dashboard home (arbridge.metrics.figures), per currency.

Money is a decimal string beside its currency; a ratio (percent, days) is a
decimal string too, or null where it has no meaning (nothing invoiced, no
payments). The definitions are the ones written on the dashboard.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from annotated_types import Interval
from django.http import HttpRequest
from ninja import Schema
from pydantic import StringConstraints

from arbridge.api.pagination import Page, PageQuery, paginate_sorted
from arbridge.api.schemas import DecimalString
from arbridge.api.views import LIST_ERRORS, api
from arbridge.core import clock
from arbridge.core.money import ZERO
from arbridge.metrics import cache, figures, history
from arbridge.metrics.figures import BUCKETS, Period
from arbridge.metrics.models import MetricsSettings

Days = Annotated[int, Interval(ge=1, le=3660)]
Count = Annotated[int, Interval(ge=1, le=120)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]


class PeriodOut(Schema):
    start: dt.date
    end: dt.date


class BucketOut(Schema):
    bucket: Literal[tuple(BUCKETS)]
    amount: DecimalString
    count: int


class MethodOut(Schema):
    method: str
    count: int
    amount: DecimalString


class CurrencyFiguresOut(Schema):
    currency: str
    outstanding: DecimalString
    aging: list[BucketOut]
    unpaid_count: int
    overdue_count: int
    overdue_rate: DecimalString | None
    overdue_amount_rate: DecimalString | None
    dso_simple: DecimalString | None
    dso_countback: DecimalString | None
    invoiced: DecimalString
    collected: DecimalString
    collected_by_autopay: DecimalString
    autopay_share: DecimalString | None
    average_days_to_pay: DecimalString | None
    payments_by_method: list[MethodOut]
    unmatched_amount: DecimalString
    unmatched_count: int


class ReclaimedOut(Schema):
    payments_written_back: int
    deposits_written_back: int
    minutes_per_entry: int
    hours: DecimalString


class WindowOut(Schema):
    period: PeriodOut
    dso_simple: DecimalString | None
    average_days_to_pay: DecimalString | None
    collected_share: DecimalString | None


class BeforeAfterOut(Schema):
    currency: str
    before: WindowOut
    after: WindowOut


class FiguresOut(Schema):
    period: PeriodOut
    currencies: list[CurrencyFiguresOut]
    open_exceptions: dict[str, int]
    reclaimed: ReclaimedOut
    live_since: dt.date | None
    before_after: list[BeforeAfterOut]


class SeriesPointOut(Schema):
    period: PeriodOut
    invoiced: DecimalString
    collected: DecimalString
    collected_by_autopay: DecimalString
    owed_at_end: DecimalString
    dso_simple: DecimalString | None
    dso_countback: DecimalString | None


class SeriesOut(Schema):
    currency: str
    points: list[SeriesPointOut]


class SeriesPage(Schema):
    grain: Literal["week", "month"]
    series: list[SeriesOut]


class CustomerAgingOut(Schema):
    customer_id: int
    customer_name: str
    currency: str
    aging: list[BucketOut]
    total: DecimalString


class AgingPage(Page[CustomerAgingOut]):
    pass


def buckets(row: figures.Aging) -> list[dict]:
    return [{"bucket": b, "amount": row.amounts[b], "count": row.counts[b]} for b in BUCKETS]


def window(found: history.Window) -> dict:
    return {
        "period": found.period,
        "dso_simple": found.dso,
        "average_days_to_pay": found.days_to_pay,
        "collected_share": found.collected_share,
    }


@api.get("/figures", response={200: FiguresOut, **LIST_ERRORS}, tags=["figures"])
def get_figures(request: HttpRequest, days: Days = 90):
    """Return the figures of the last `days` days (AR and aging as of today), per currency.

    Worked out once per change of the ledger; exceptions and write-backs show
    within two minutes.
    """
    key = cache.fingerprint(request.partner)
    return cache.remember(key, f"api:figures:{days}", lambda: figures_of(request.partner, days))


def figures_of(partner, days: int) -> dict:
    period = Period.last(days)
    aging = figures.aging(partner)
    overdue = figures.overdue_of(aging)
    over_time = history.overview(
        partner, "month", 1, period, {c: row.total for c, row in aging.items()}
    )
    dso = {currency: points[-1] for currency, points in over_time.dso.items()}
    flows = over_time.period_flows
    paid, attention = over_time.days_to_pay, figures.attention(partner)
    methods = over_time.methods
    found = sorted(set(aging) | set(flows) | set(attention.unmatched))
    settings = MetricsSettings.of(partner)
    saved = figures.reclaimed(partner, period, settings.minutes_per_entry)
    currencies = []
    for currency in found:
        age = aging.get(currency, figures.Aging(currency))
        late = overdue.get(currency)
        money_in = flows.get(currency, history.Flow(currency, period))
        days_sales = dso.get(currency)
        unmatched_count, unmatched = attention.unmatched.get(currency, (0, ZERO))
        currencies.append(
            {
                "currency": currency,
                "outstanding": age.total,
                "aging": buckets(age),
                "unpaid_count": late.unpaid_count if late else 0,
                "overdue_count": late.overdue_count if late else 0,
                "overdue_rate": late.rate if late else None,
                "overdue_amount_rate": late.amount_rate if late else None,
                "dso_simple": days_sales.simple if days_sales else None,
                "dso_countback": days_sales.countback if days_sales else None,
                "invoiced": money_in.invoiced,
                "collected": money_in.collected,
                "collected_by_autopay": money_in.autopay,
                "autopay_share": money_in.autopay_share,
                "average_days_to_pay": paid.get(currency),
                "payments_by_method": [
                    {"method": m.method, "count": m.count, "amount": m.amount}
                    for m in methods
                    if m.currency == currency
                ],
                "unmatched_amount": unmatched,
                "unmatched_count": unmatched_count,
            }
        )
    return {
        "period": period,
        "currencies": currencies,
        "open_exceptions": attention.exceptions,
        "reclaimed": {
            "payments_written_back": saved.payments,
            "deposits_written_back": saved.deposits,
            "minutes_per_entry": saved.minutes_per_entry,
            "hours": saved.hours,
        },
        "live_since": over_time.live_since,
        "before_after": [
            {"currency": currency, "before": window(before), "after": window(after)}
            for currency, (before, after) in over_time.before_after.items()
        ],
    }


@api.get("/figures/series", response={200: SeriesPage, **LIST_ERRORS}, tags=["figures"])
def get_series(request: HttpRequest, grain: Literal["week", "month"] = "month", count: Count = 12):
    """Return invoiced, collected and both DSOs for each of the last `count` weeks or months."""
    key = cache.fingerprint(request.partner)
    name = f"api:series:{grain}:{count}"
    return cache.remember(key, name, lambda: series_of(request.partner, grain, count))


def series_of(partner, grain: str, count: int) -> dict:
    spans = figures.periods(grain, count, clock.today())
    found = history.read(partner, history.start_for(spans[0].end))
    dso, flows = history.dso_series(found, spans), history.flows(found, spans)
    series = []
    for currency in sorted(set(dso) | set(flows)):
        money_in = flows.get(currency, [history.Flow(currency, s) for s in spans])
        points = dso.get(currency, [None] * len(spans))
        series.append(
            {
                "currency": currency,
                "points": [
                    {
                        "period": span,
                        "invoiced": f.invoiced,
                        "collected": f.collected,
                        "collected_by_autopay": f.autopay,
                        "owed_at_end": d.owed if d else ZERO,
                        "dso_simple": d.simple if d else None,
                        "dso_countback": d.countback if d else None,
                    }
                    for span, f, d in zip(spans, money_in, points, strict=True)
                ],
            }
        )
    return {"grain": grain, "series": series}


def aging_position(row: figures.Aging) -> tuple:
    """Where a customer's row stands: by currency, largest first (figures.aging_by_customer)."""
    return (row.currency, -row.total, row.customer_name, row.customer_id or 0)


@api.get("/figures/aging", response={200: AgingPage, **LIST_ERRORS}, tags=["figures"])
def get_aging(request: HttpRequest, page: PageQuery, currency: Currency = None):
    """Return each customer's open balances by aging bucket today, largest first per currency."""
    key = cache.fingerprint(request.partner)
    packed = cache.remember(
        key, "aging", lambda: [r.pack() for r in figures.aging_by_customer(request.partner)]
    )
    if currency is not None:
        packed = [p for p in packed if p[0] == currency.upper()]
    rows, next_cursor = paginate_sorted(
        [figures.Aging.unpack(p) for p in packed], page, aging_position, (str, Decimal, str, int)
    )
    return {
        "items": [
            {
                "customer_id": r.customer_id,
                "customer_name": r.customer_name,
                "currency": r.currency,
                "aging": buckets(r),
                "total": r.total,
            }
            for r in rows
        ],
        "next_cursor": next_cursor,
    }
