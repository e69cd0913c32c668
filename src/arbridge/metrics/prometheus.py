"""`GET /metrics` for operators' Prometheus: sync lag, outbox, webhook inbox, job failures.

Read from the database at each scrape, so every web process reports the same
figures and none keeps counters of its own. The endpoint answers only a
request carrying `Authorization: Bearer <ARBRIDGE_METRICS_TOKEN>`; with no
token set it does not exist (404).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from arbridge.core import clock
from arbridge.integrations.models import Connection, OutboundCommand, SyncRun, WebhookEvent

# The text format every Prometheus server reads (newer clients default to 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OWED = (OutboundCommand.Status.PENDING, OutboundCommand.Status.IN_FLIGHT)


def age(oldest) -> float:
    return max((clock.now() - oldest).total_seconds(), 0.0) if oldest else 0.0


class DatabaseCollector:
    """Collect the operators' figures from the database at scrape time."""

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "arbridge_sync_lag_seconds",
            "Seconds since the connection last synced (never synced: since it was made).",
            labels=["partner", "connection", "kind", "status"],
        )
        live = Connection.objects.exclude(status=Connection.Status.DISCONNECTED).defer(
            "credentials"
        )
        for c in live.order_by("id"):
            lag.add_metric(
                [str(c.partner_id), str(c.pk), c.kind, c.status],
                age(c.last_synced_at or c.created_at),
            )
        yield lag

        owed = OutboundCommand.objects.filter(status__in=OWED).order_by()
        depth = GaugeMetricFamily(
            "arbridge_outbox_depth", "Writes owed to connections, by status.", labels=["status"]
        )
        counts = dict(owed.values_list("status").annotate(n=Count("id")))
        for status in OWED:
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        yield GaugeMetricFamily(
            "arbridge_outbox_oldest_age_seconds",
            "Age of the oldest write still owed.",
            value=age(owed.aggregate(m=Min("created_at"))["m"]),
        )

        inbox = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).order_by()
        found = inbox.aggregate(n=Count("id"), oldest=Min("received_at"))
        yield GaugeMetricFamily(
            "arbridge_webhook_inbox_depth",
            "Webhook deliveries stored, not yet processed.",
            value=found["n"],
        )
        yield GaugeMetricFamily(
            "arbridge_webhook_inbox_oldest_age_seconds",
            "Age of the oldest unprocessed webhook delivery.",
            value=age(found["oldest"]),
        )

        failures = CounterMetricFamily(
            "arbridge_job_failures",
            "Jobs that failed for good: sync runs failed, writes dead, deliveries failed.",
            labels=["job"],
        )
        failures.add_metric(["sync"], SyncRun.objects.filter(status=SyncRun.Status.FAILED).count())
        failures.add_metric(
            ["outbox"], OutboundCommand.objects.filter(status=OutboundCommand.Status.DEAD).count()
        )
        failures.add_metric(
            ["webhook"], WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count()
        )
        yield failures


def authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not authorized(request):
        response = HttpResponse(
            "A bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE)
