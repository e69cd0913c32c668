from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun


def test_it_lists_runs_filtered_by_connection_and_status(api_client, partner, connection):
    other = Connection.objects.create(partner=partner, kind="halopsa", role="secondary")
    done = SyncRun.objects.create(
        partner=partner, connection=connection, status=SyncRun.Status.SUCCEEDED, created=12
    )
    queued = SyncRun.objects.create(partner=partner, connection=connection)
    elsewhere = SyncRun.objects.create(partner=partner, connection=other)

    def ids(query: str = "") -> list[int]:
        return [r["id"] for r in api_client.get(f"/api/v1/sync-runs{query}").json()["items"]]

    assert ids() == [elsewhere.id, queued.id, done.id]
    assert ids(f"?connection={connection.id}") == [queued.id, done.id]
    assert ids("?status=succeeded") == [done.id]
    assert ids(f"?connection={other.id}&status=succeeded") == []


def test_it_gets_a_run(api_client, partner, connection):
    run = SyncRun.objects.create(
        partner=partner,
        connection=connection,
        status=SyncRun.Status.FAILED,
        errors=1,
        error_message="token expired",
    )

    body = api_client.get(f"/api/v1/sync-runs/{run.id}").json()

    assert body["status"] == "failed"
    assert body["error_message"] == "token expired"
    assert body["connection"] == {"id": connection.id, "kind": "qbo", "name": "Acme books"}
