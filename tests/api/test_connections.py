from django.test import Client

from arbridge.core.models import ApiKey, AuditEntry, Connection
from arbridge.integrations.models import SyncRun


def test_it_lists_connections_without_credentials(api_client, connection):
    response = api_client.get("/api/v1/connections")

    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["id"] == connection.id
    assert item["kind"] == "qbo"
    assert item["kind_name"] == "QuickBooks Online"
    assert item["role"] == "primary"
    assert item["status"] == "connected"
    assert "credentials" not in item
    assert b"secret-access-token" not in response.content
    assert b"secret-refresh" not in response.content


def test_it_gets_a_connection_without_credentials(api_client, connection):
    response = api_client.get(f"/api/v1/connections/{connection.id}")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme books"
    assert b"secret" not in response.content


def test_sync_queues_a_manual_run(api_client, connection):
    response = api_client.post(f"/api/v1/connections/{connection.id}/sync")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["trigger"] == "manual"
    assert body["connection"]["id"] == connection.id
    run = SyncRun.objects.get(pk=body["id"])
    assert (run.connection_id, run.partner_id, run.trigger) == (
        connection.id,
        connection.partner_id,
        SyncRun.Trigger.MANUAL,
    )
    assert api_client.get(f"/api/v1/sync-runs/{run.id}").status_code == 200
    [entry] = AuditEntry.objects.filter(action="connection.sync_requested")
    assert entry.target == str(connection) and entry.detail["via"].startswith("API key")


def test_sync_refuses_a_connection_not_yet_connected(api_client, connection):
    connection.status = Connection.Status.PENDING
    connection.save()

    response = api_client.post(f"/api/v1/connections/{connection.id}/sync")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_connected"
    assert not SyncRun.objects.exists()


def test_sync_requires_a_live_key(api_client, api_key, connection):
    ApiKey.objects.authenticate(api_key).revoke()

    assert api_client.post(f"/api/v1/connections/{connection.id}/sync").status_code == 401
    assert Client().post(f"/api/v1/connections/{connection.id}/sync").status_code == 401
    assert not SyncRun.objects.exists()


def test_sync_takes_the_key_without_a_csrf_token(api_key, connection):
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {api_key}"})

    assert client.post(f"/api/v1/connections/{connection.id}/sync").status_code == 202
