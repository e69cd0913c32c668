"""A read-only key reads everything and changes nothing; a write key does both.

The write operations come from the API's own OpenAPI document, so a new one is
tried here as soon as it exists.
"""

import json

import pytest
from django.test import Client

from arbridge.api.views import SAFE_METHODS, api
from arbridge.core.models import ApiKey, Connection
from arbridge.integrations.models import SyncRun
from tests.api.test_isolation import BODIES, resource

SCHEMA = api.get_openapi_schema()
WRITES = [
    (method.upper(), path)
    for path, operations in SCHEMA["paths"].items()
    for method in operations
    if method.upper() not in SAFE_METHODS
]
READS = [
    path for path, operations in SCHEMA["paths"].items() if "get" in operations and "{" not in path
]


@pytest.fixture
def read_client(partner, alice) -> Client:
    _, raw = ApiKey.issue(partner, "reporting", created_by=alice, scope=ApiKey.Scope.READ)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def call(client: Client, method: str, path: str, rows) -> object:
    url = path.replace("{id}", str(rows[resource(path)].id)) if "{id}" in path else path
    body = BODIES.get((method, path), {})
    return client.generic(method, url, json.dumps(body), "application/json")


def test_there_are_writes_to_try():
    assert ("POST", "/api/v1/connections/{id}/sync") in WRITES
    assert ("DELETE", "/api/v1/webhook-endpoints/{id}") in WRITES


@pytest.mark.parametrize("method, path", WRITES)
def test_a_read_only_key_is_refused_every_write(read_client, own_rows, method, path):
    rows_before = {model: model.objects.count() for model in own_rows}
    runs_before = SyncRun.objects.count()

    response = call(read_client, method, path, own_rows)

    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "read_only_key"
    assert "read-only" in response.json()["error"]["message"]
    assert {model: model.objects.count() for model in own_rows} == rows_before
    assert SyncRun.objects.count() == runs_before


@pytest.mark.parametrize("method, path", WRITES)
def test_a_write_key_is_let_through_every_write(api_client, own_rows, method, path):
    response = call(api_client, method, path, own_rows)

    # Past the scope check: whatever the operation answers, it is not the key's 403.
    assert response.status_code != 403, response.content
    assert response.status_code < 500, response.content


@pytest.mark.parametrize("method, path", WRITES)
def test_every_write_documents_the_403(method, path):
    operation = SCHEMA["paths"][path][method.lower()]
    assert 403 in operation["responses"]


@pytest.mark.parametrize("path", READS)
def test_a_read_only_key_reads_everything(read_client, own_rows, path):
    response = read_client.get(path)

    assert response.status_code == 200, response.content


def test_a_read_only_key_cannot_sync_a_connection(read_client, own_rows):
    connection = own_rows[Connection]
    runs = SyncRun.objects.filter(connection=connection)
    before = runs.count()

    response = read_client.post(f"/api/v1/connections/{connection.pk}/sync")

    assert response.status_code == 403
    assert runs.count() == before


def test_a_key_made_without_a_scope_is_read_only(partner, own_rows):
    _, raw = ApiKey.issue(partner, "unstated")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    assert client.get("/api/v1/connections").status_code == 200
    response = client.post(f"/api/v1/connections/{own_rows[Connection].pk}/sync")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "read_only_key"
