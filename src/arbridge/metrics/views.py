"""The dashboard home (figures, charts, sync status), the aging report, the drills, CSV exports.

Every page reads through `request.partner` (member_required), so no figure,
row or export ever holds another partner's data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership, Partner
from arbridge.integrations.models import Connection, SyncRun
from arbridge.ledger.models import Customer
from arbridge.metrics import cache, charts, exports, figures, history
from arbridge.metrics.figures import BUCKET_LABELS, BUCKETS, Period
from arbridge.metrics.models import MetricsSettings

GRAINS = {"month": 12, "week": 13}
WINDOWS = (30, 90, 365)
PAGE_SIZE = 50


class FigureParams(forms.Form):
    """What the home page shows: a currency, the period of its figures, the charts' grain."""

    currency = forms.CharField(required=False, max_length=3)
    days = forms.TypedChoiceField(
        choices=[(d, f"Last {d} days") for d in WINDOWS], coerce=int, required=False
    )
    grain = forms.ChoiceField(choices=[("month", "Monthly"), ("week", "Weekly")], required=False)


def ordered(found: set[str], partner: Partner) -> list[str]:
    """Return the currencies the partner has figures in, its default first."""
    return sorted(
        found | {partner.default_currency}, key=lambda c: (c != partner.default_currency, c)
    )


def read_params(request: HttpRequest) -> tuple[str, int, str]:
    """Return the currency asked for (upper case, maybe none), the period's days and the grain."""
    form = FigureParams(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    return (
        (data.get("currency") or "").upper(),
        data.get("days") or 90,
        data.get("grain") or "month",
    )


def pick(currency: str, available: list[str]) -> str:
    return currency if currency in available else available[0]


def period_labels(spans: list[Period], grain: str) -> list[str]:
    """Label the x axis short: "Mar 4" for weeks; "Mar" for months, with the year at January."""
    if grain == "week":
        return [f"{s.start:%b %-d}" for s in spans]
    return [
        f"{s.start:%b ’%y}" if i == 0 or s.start.month == 1 else f"{s.start:%b}"
        for i, s in enumerate(spans)
    ]


def invoices_link(**params) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('metrics:invoices')}?{urlencode(query)}"


def issued_link(currency: str, span: Period) -> str:
    return invoices_link(currency=currency, issued_from=span.start, issued_to=span.end)


def bucket_link(bucket: str, currency: str, customer: int | None = None) -> str:
    base = reverse("metrics:bucket", args=[bucket])
    query = {"currency": currency, **({"customer": customer} if customer else {})}
    return f"{base}?{urlencode(query)}"


def autopay_marker(first: dt.date | None, spans: list[Period]) -> tuple[int, str] | None:
    """Return the slot of the period in which auto pay first collected money, to flag it."""
    for i, span in enumerate(spans):
        if first is not None and span.start <= first <= span.end:
            return i, "Auto pay on"
    return None


def dso_chart(currency: str, grain: str, spans: list[Period], series, autopay_since) -> str:
    labels = period_labels(spans, grain)
    points = series.get(currency, [])
    links = [invoices_link(currency=currency, open_on=s.end) for s in spans]
    return charts.line_chart(
        f"DSO trend ({currency}), days at the end of each {grain}",
        labels,
        [
            charts.Series("Countback DSO", [p.countback for p in points], links),
            charts.Series("Simple DSO (90 days)", [p.simple for p in points], links),
        ],
        "Days",
        "chart-dso",
        marker=autopay_marker(autopay_since, spans),
        unit=" days",
    )


def aging_chart(currency: str, rows: list[figures.Aging], total: figures.Aging | None) -> str:
    """Stacked bars of the buckets: all customers, then the largest few."""
    bars = ([total] if total else []) + rows
    labels = ["All customers" if r.customer_id is None else r.customer_name[:14] for r in bars]
    series = [
        charts.Series(
            BUCKET_LABELS[bucket],
            [r.amounts[bucket] for r in bars],
            [bucket_link(bucket, currency, r.customer_id) for r in bars],
        )
        for bucket in BUCKETS
    ]
    return charts.bar_chart(
        f"Aging ({currency}), open balances by days past due",
        labels,
        series,
        currency,
        "chart-aging",
        stacked=True,
        palette=charts.AGING_COLOURS,
    )


def flows_chart(currency: str, grain: str, spans: list[Period], rows) -> str:
    found = rows.get(currency, [history.Flow(currency, s) for s in spans])
    return charts.bar_chart(
        f"Invoiced and collected ({currency}) each {grain}",
        period_labels(spans, grain),
        [
            charts.Series(
                "Invoiced",
                [f.invoiced for f in found],
                [
                    invoices_link(currency=currency, issued_from=s.start, issued_to=s.end)
                    for s in spans
                ],
            ),
            charts.Series(
                "Collected",
                [f.collected for f in found],
                [invoices_link(currency=currency, paid_from=s.start, paid_to=s.end) for s in spans],
            ),
        ],
        currency,
        "chart-flows",
    )


@dataclass
class SyncStatus:
    connection: Connection
    lag: dt.timedelta | None
    last_run_status: str | None
    failed_runs: int
    open_exceptions: int
    last_error: str


def sync_status(partner: Partner) -> list[SyncStatus]:
    """Return each connection's last sync, lag, latest run and errors of the last day."""
    latest = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-id")
    day_ago = clock.now() - dt.timedelta(days=1)
    rows = (
        Connection.objects.for_partner(partner)
        .defer("credentials")
        .annotate(
            last_run_status=Subquery(latest.values("status")[:1]),
            last_error=Subquery(latest.exclude(error_message="").values("error_message")[:1]),
            failed_runs=Count(
                "sync_runs",
                filter=Q(sync_runs__status="failed", sync_runs__queued_at__gte=day_ago),
                distinct=True,
            ),
            open_exceptions=Count("exceptions", filter=Q(exceptions__status="open"), distinct=True),
        )
    )
    now = clock.now()
    return [
        SyncStatus(
            c,
            now - c.last_synced_at if c.last_synced_at else None,
            c.last_run_status,
            c.failed_runs,
            c.open_exceptions,
            c.last_error or c.status_detail,
        )
        for c in rows
    ]


def ledger_figures(partner: Partner, days: int, grain: str) -> dict:
    """Work out the figures that only the ledger moves (kept per fingerprint, cache.py)."""
    today = clock.today()
    period = Period.last(days, today)
    aging = figures.aging(partner, today)
    owed = {c: row.total for c, row in aging.items()}
    over_time = history.overview(partner, grain, GRAINS[grain], period, owed)
    return {
        "period": period,
        "over_time": over_time,
        "aging": aging,
        "currencies": set(aging) | set(over_time.dso),
        "debtors": {c: figures.largest_debtors(partner, c, today) for c in aging},
        "overdue": figures.overdue_of(aging),
    }


@member_required()
def home(request: HttpRequest) -> HttpResponse:
    partner = request.partner
    asked, days, grain = read_params(request)
    key = cache.fingerprint(partner)
    found = cache.remember(
        key, f"home:{days}:{grain}", lambda: ledger_figures(partner, days, grain)
    )
    available = ordered(found["currencies"], partner)
    currency = pick(asked, available)
    over_time, aging, period = found["over_time"], found["aging"], found["period"]
    spans = over_time.spans
    svg = {
        "dso": dso_chart(
            currency, grain, spans, over_time.dso, over_time.autopay_since.get(currency)
        ),
        "aging": aging_chart(currency, found["debtors"].get(currency, []), aging.get(currency)),
        "flows": flows_chart(currency, grain, spans, over_time.flows),
    }
    overdue = found["overdue"]
    minutes = MetricsSettings.of(partner).minutes_per_entry
    reclaimed = cache.remember(
        key, f"reclaimed:{days}:{minutes}", lambda: figures.reclaimed(partner, period, minutes)
    )
    attention = figures.attention(partner)
    ctx = {
        "page": "overview",
        "currencies": available,
        "windows": WINDOWS,
        "currency": currency,
        "period": period,
        "days": days,
        "grain": grain,
        "counts": {
            "open": sum(o.unpaid_count for o in overdue.values()),
            "overdue": sum(o.overdue_count for o in overdue.values()),
        },
        "open_exceptions": attention.exception_count,
        "outstanding": {c: row.total for c, row in sorted(aging.items())},
        "aging": aging.get(currency),
        "overdue": overdue.get(currency),
        "dso": over_time.dso.get(currency, [None])[-1],
        "flow": over_time.period_flows.get(currency),
        "days_to_pay": over_time.days_to_pay.get(currency),
        "methods": [m for m in over_time.methods if m.currency == currency],
        "attention": attention,
        "reclaimed": reclaimed,
        "live_since": over_time.live_since,
        "before_after": over_time.before_after.get(currency),
        "sync_status": sync_status(partner),
        # The charts escape every text they draw (charts.py).
        "charts": {name: mark_safe(markup) for name, markup in svg.items()},  # noqa: S308
    }
    return render(request, "metrics/home.html", ctx)


# -- the aging report and the drills ----------------------------------------------------


@member_required()
def aging_report(request: HttpRequest) -> HttpResponse:
    asked, _, _ = read_params(request)
    key = cache.fingerprint(request.partner)
    packed = cache.remember(
        key, "aging", lambda: [r.pack() for r in figures.aging_by_customer(request.partner)]
    )
    available = ordered({p[0] for p in packed}, request.partner)
    currency = pick(asked, available)
    mine = [p for p in packed if p[0] == currency]
    # Largest first, a page at a time: a partner may have thousands of customers.
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [figures.Aging.unpack(p) for p in page.object_list]
    # Added up in whole cents: one Decimal per bucket, not one per customer.
    sums = [sum(column) for column in zip(*(p[3] for p in mine), strict=True)] or [0] * 5
    counts = [sum(column) for column in zip(*(p[4] for p in mine), strict=True)] or [0] * 5
    total = figures.Aging.unpack((currency, None, "", sums, counts))
    ctx = {
        "page": "reports",
        "currency": currency,
        "currencies": available,
        "rows": page,
        "total": total if mine else None,
        "buckets": [(b, BUCKET_LABELS[b]) for b in BUCKETS],
        "today": clock.today(),
    }
    return render(request, "metrics/aging.html", ctx)


class DrillForm(forms.Form):
    currency = forms.CharField(required=False, max_length=3)
    customer = forms.IntegerField(required=False, min_value=1)
    issued_from = forms.DateField(required=False)
    issued_to = forms.DateField(required=False)
    paid_from = forms.DateField(required=False)
    paid_to = forms.DateField(required=False)
    open_on = forms.DateField(required=False)


def drill(request: HttpRequest, bucket: str | None = None) -> tuple[dict, object]:
    """Return what a drill asked for (its filters, as text) and the invoices behind it."""
    form = DrillForm(request.GET)
    if not form.is_valid():
        raise Http404("Not a drill this page knows.")
    data = form.cleaned_data
    today = clock.today()
    rows = figures.receivables(request.partner).select_related("customer")
    said = {}
    if currency := (data["currency"] or "").upper():
        rows = rows.filter(currency=currency)
        said["Currency"] = currency
    if data["customer"]:
        customer = Customer.objects.for_partner(request.partner).filter(pk=data["customer"])
        found = customer.first()
        if found is None:
            raise Http404("No such customer.")
        rows = rows.filter(customer=found)
        said["Customer"] = found.name
    if bucket is not None:
        rows = rows.filter(status__in=figures.UNPAID).filter(figures.bucket_filter(bucket, today))
        said["Aging"] = (
            f"{BUCKET_LABELS[bucket]} past due" if bucket != "current" else "Not yet due"
        )
    if data["issued_from"]:
        rows = rows.filter(issue_date__gte=data["issued_from"])
        said["Issued from"] = f"{data['issued_from']:%b %-d, %Y}"
    if data["issued_to"]:
        rows = rows.filter(issue_date__lte=data["issued_to"])
        said["Issued through"] = f"{data['issued_to']:%b %-d, %Y}"
    if data["open_on"]:
        day = data["open_on"]
        settled_after = Q(allocations__payment__date__gt=day) | Q(credits__date__gt=day)
        rows = (
            rows.filter(issue_date__lte=day)
            .filter(Q(status__in=figures.UNPAID) | settled_after)
            .distinct()
        )
        said["Owed at the end of"] = f"{day:%b %-d, %Y}"
    if data["paid_from"] and data["paid_to"]:
        rows = rows.filter(
            allocations__payment__status="succeeded",
            allocations__payment__date__range=(data["paid_from"], data["paid_to"]),
        ).distinct()
        said["Paid"] = f"{data['paid_from']:%b %-d, %Y} – {data['paid_to']:%b %-d, %Y}"
    rows = rows.annotate(due_on=Coalesce("due_date", "issue_date")).order_by("due_on", "id")
    return said, rows


@member_required()
def invoices(request: HttpRequest, bucket: str | None = None) -> HttpResponse:
    if bucket is not None and bucket not in BUCKETS:
        raise Http404("No such aging bucket.")
    said, rows = drill(request, bucket)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"page": "reports", "said": said, "invoices": page, "bucket": bucket}
    return render(request, "metrics/invoices.html", ctx)


@member_required()
def export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in exports.TABLES:
        raise Http404("No such table.")
    return exports.response(request.partner, table)


# -- settings ---------------------------------------------------------------------------------


class SettingsForm(forms.ModelForm):
    class Meta:
        model = MetricsSettings
        fields = ["minutes_per_entry", "live_since"]
        widgets = {"live_since": forms.DateInput(attrs={"type": "date"})}


@member_required(Membership.can_manage)
def metrics_settings(request: HttpRequest) -> HttpResponse:
    found = MetricsSettings.of(request.partner)
    form = SettingsForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        form.instance.updated_at = clock.now()
        form.save()
        AuditEntry.record(
            request.partner,
            "metrics.settings_changed",
            actor=request.user,
            fields=form.changed_data,
        )
        messages.success(request, "Report settings saved.")
        return redirect("metrics:settings")
    return render(request, "metrics/settings.html", {"page": "reports", "form": form})
