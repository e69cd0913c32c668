from django.urls import reverse

from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun

SYNC_RUNS = reverse("dashboard:sync_runs")


def test_it_lists_runs_with_counts_errors_and_duration(client, alice, sync_run):
    client.force_login(alice)
    response = client.get(SYNC_RUNS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "QuickBooks Online" in page
    assert "Failed" in page
    assert "Customer 77 has no display name" in page
    assert '<td class="num">12</td>' in page
    assert '<td class="num error-text">1</td>' in page
    assert "1m 35s" in page


def test_it_filters_by_connection(client, alice, connection, sync_run):
    halo = Connection.objects.create(partner=connection.partner, kind="halopsa")
    other = SyncRun.objects.create(partner=connection.partner, connection=halo)
    client.force_login(alice)
    runs = client.get(SYNC_RUNS, {"connection": halo.pk}).context["runs"]
    assert list(runs) == [other]
    runs = client.get(SYNC_RUNS).context["runs"]
    assert list(runs) == [other, sync_run]
