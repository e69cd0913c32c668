"""Every failure is JSON of one shape, and the OpenAPI document says so."""

import re

import pytest
from django.test import Client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_path_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/nothing-here"), 404, "not_found")


def test_missing_row_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/invoices/999999"), 404, "not_found")


def test_wrong_method_is_a_json_405(api_client):
    response = api_client.delete("/api/v1/invoices")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_bad_parameter_is_a_json_422(api_client):
    error = assert_error(api_client.get("/api/v1/invoices?limit=500"), 422, "invalid")

    assert "limit" in error["message"]


@pytest.mark.parametrize(
    "query",
    ["status=unpaid", "customer=abc", "customer=0", "updated_since=yesterday", "id=1&limit=0"],
)
def test_bad_filters_are_json_422s(api_client, query):
    assert_error(api_client.get(f"/api/v1/invoices?{query}"), 422, "invalid")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "LTE", "MA", "%00", "Zm9v"])
def test_a_cursor_we_did_not_issue_is_a_json_400(api_client, cursor):
    assert_error(api_client.get(f"/api/v1/invoices?cursor={cursor}"), 400, "invalid_cursor")


def test_openapi_documents_the_error_shape(db):
    schema = Client().get("/api/v1/openapi.json").json()

    assert schema["info"]["version"] == "1"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "422"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_docs_page_loads_no_outside_assets(db):
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert '"validatorUrl": null' in html


def test_an_unknown_parameter_is_a_json_422(api_client):
    error = assert_error(api_client.get("/api/v1/invoices?stauts=open"), 422, "invalid")

    assert "stauts" in error["message"]
