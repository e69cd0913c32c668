"""No partner reads or acts on another's rows through any endpoint.

The endpoints come from the API's own OpenAPI document, so a new endpoint is
tried here as soon as it exists; a new resource or id filter fails until it is
added to RESOURCES or FILTERS below.
"""

import json
import re

import pytest
from django.db import models

from arbridge.api.views import api
from arbridge.autopay.models import Enrollment, Rule
from arbridge.collections.models import CustomerPolicy, ReminderEmail, Sequence
from arbridge.core.models import Connection
from arbridge.hooks.models import Delivery, Endpoint
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import Customer, Deposit, Invoice, Payment
from arbridge.portal.models import PortalLink

# The first path segment after /api/v1/ (the first two under autopay/) -> the model it serves.
RESOURCES: dict[str, type[models.Model]] = {
    "autopay/enrollments": Enrollment,
    "autopay/rules": Rule,
    "autopay/upcoming": Invoice,  # one charge coming up per invoice, by its id
    "customers": Customer,
    "invoices": Invoice,
    "payments": Payment,
    "deposits": Deposit,
    "connections": Connection,
    "sync-runs": SyncRun,
    "exceptions": ExceptionItem,
    "webhook-endpoints": Endpoint,
    "webhook-deliveries": Delivery,
    "sequences": Sequence,
    "sends": ReminderEmail,
    "pauses": CustomerPolicy,
    "portal-links": PortalLink,
}
# Query parameters that take another row's id -> that row's model.
FILTERS: dict[str, type[models.Model]] = {
    "customer": Customer,
    "connection": Connection,
    "endpoint": Endpoint,
}
# Integer query parameters that are not ids.
NOT_IDS = {"days"}
PAGING = {"cursor", "limit"}
# Operations that take a body: a valid one, so that only the id decides the answer.
BODIES = {
    ("PUT", "/api/v1/sequences/{id}"): {"name": "Renamed", "steps": []},
    ("POST", "/api/v1/customers/{id}/portal-links"): {},
}
# What an operation answers for the partner's own row when not a success: a payment
# recorded in the books is not refundable here (tests/api/test_writes.py refunds one).
OWN_ANSWERS = {("POST", "/api/v1/payments/{id}/refund"): 409}

SCHEMA = api.get_openapi_schema()
# Figures are sums, not rows: tests/metrics/test_isolation.py checks each holds only its own.
FIGURES = "/api/v1/figures"
ENDPOINTS = [
    (method.upper(), path, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if not path.startswith(FIGURES)
]
ROW_ENDPOINTS = [(m, p) for m, p, _ in ENDPOINTS if "{" in p]
LIST_ENDPOINTS = [(p, op) for m, p, op in ENDPOINTS if "{" not in p and m == "GET"]


def resource(path: str) -> type[models.Model]:
    parts = path.removeprefix("/api/v1/").split("/")
    return RESOURCES.get("/".join(parts[:2])) or RESOURCES[parts[0]]


def test_every_endpoint_is_covered():
    assert {resource(p) for _, p in ROW_ENDPOINTS} == set(RESOURCES.values())
    assert {resource(p) for p, _ in LIST_ENDPOINTS} == set(RESOURCES.values())


@pytest.mark.parametrize("method, path", ROW_ENDPOINTS)
def test_another_partners_id_is_not_found(api_client, own_rows, outsider_rows, method, path):
    assert re.findall(r"{(\w+)}", path) == ["id"]
    model = resource(path)
    runs_before = SyncRun.objects.count()

    body = BODIES.get((method, path))
    if body is None and method == "PATCH":
        body = {}

    def call(row):
        url = path.replace("{id}", str(row.id))
        if body is None:
            return api_client.generic(method, url)
        return api_client.generic(method, url, json.dumps(body), "application/json")

    response = call(outsider_rows[model])

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert SyncRun.objects.count() == runs_before
    outsider = type(outsider_rows[model]).objects.filter(pk=outsider_rows[model].pk)
    assert outsider.exists() and str(outsider.get()) == str(outsider_rows[model])
    # The same endpoint does serve the partner's own row.
    own = call(own_rows[model])
    expected = (
        (OWN_ANSWERS[method, path],) if (method, path) in OWN_ANSWERS else (200, 201, 202, 204)
    )
    assert own.status_code in expected, own.content


@pytest.mark.parametrize("path, operation", LIST_ENDPOINTS)
def test_lists_hold_only_the_partners_rows(api_client, own_rows, outsider_rows, path, operation):
    model = resource(path)

    ids = [item["id"] for item in api_client.get(path).json()["items"]]

    assert ids == [own_rows[model].id]


@pytest.mark.parametrize("path, operation", LIST_ENDPOINTS)
def test_filtering_by_another_partners_ids_finds_nothing(
    api_client, own_rows, outsider_rows, path, operation
):
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] != "query" or name in PAGING | NOT_IDS:
            continue
        if parameter["schema"].get("type") != "integer":
            continue
        outsider_id = outsider_rows[FILTERS[name]].id

        response = api_client.get(path, {name: outsider_id})

        assert response.status_code == 200
        assert response.json()["items"] == [], (path, name)
