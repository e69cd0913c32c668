"""GET /metrics: what operators scrape, behind ARBRIDGE_METRICS_TOKEN."""

import datetime as dt

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from arbridge.integrations.models import Connection, OutboundCommand, SyncRun, WebhookEvent

NOW = dt.datetime(2025, 4, 15, 12, tzinfo=dt.UTC)


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = "scrape-me"
    return "scrape-me"


@pytest.fixture
def work(partner, other_partner):
    with time_machine.travel(NOW - dt.timedelta(minutes=10), tick=False):
        books = Connection.objects.create(
            partner=partner,
            kind="qbo",
            status="connected",
            last_synced_at=NOW - dt.timedelta(minutes=7),
        )
        psa = Connection.objects.create(partner=other_partner, kind="halopsa", status="error")
        for n, status in enumerate(["pending", "pending", "in_flight", "done", "dead"]):
            OutboundCommand.objects.create(
                partner=partner,
                connection=books,
                action="create_payment",
                idempotency_key=f"k{n}",
                status=status,
            )
        WebhookEvent.objects.create(partner=partner, source="qbo", dedupe_key="e1", body=b"{}")
        WebhookEvent.objects.create(
            partner=partner, source="qbo", dedupe_key="e2", body=b"{}", status="failed"
        )
        SyncRun.objects.create(partner=other_partner, connection=psa, status="failed")
    return books, psa


def scrape(client, token: str) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_it_reports_lag_outbox_inbox_and_failures(client, token, work):
    books, psa = work
    found = scrape(client, token)
    lag = {labels: v for (name, labels), v in found.items() if name == "arbridge_sync_lag_seconds"}
    assert (
        lag[
            (
                ("connection", str(books.pk)),
                ("kind", "qbo"),
                ("partner", str(books.partner_id)),
                ("status", "connected"),
            )
        ]
        == 420
    )
    # Never synced: lag since it was made, ten minutes ago.
    assert (
        lag[
            (
                ("connection", str(psa.pk)),
                ("kind", "halopsa"),
                ("partner", str(psa.partner_id)),
                ("status", "error"),
            )
        ]
        == 600
    )
    assert found["arbridge_outbox_depth", (("status", "pending"),)] == 2
    assert found["arbridge_outbox_depth", (("status", "in_flight"),)] == 1
    assert found["arbridge_outbox_oldest_age_seconds", ()] == 600
    assert found["arbridge_webhook_inbox_depth", ()] == 1
    assert found["arbridge_job_failures_total", (("job", "outbox"),)] == 1
    assert found["arbridge_job_failures_total", (("job", "sync"),)] == 1
    assert found["arbridge_job_failures_total", (("job", "webhook"),)] == 1


def test_a_wrong_or_missing_token_is_refused(client, token, work):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401


def test_with_no_token_set_there_is_no_endpoint(client, settings, work):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
