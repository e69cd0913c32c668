import pytest
from django.test import Client

from arbridge.core.models import ApiKey


def test_it_lists_with_a_valid_key(api_client, customer):
    response = api_client.get("/api/v1/customers")

    assert response.status_code == 200
    assert [c["name"] for c in response.json()["items"]] == ["Globex"]


def test_it_requires_a_key(db, customer):
    response = Client().get("/api/v1/customers")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    ["Bearer arb_not-a-real-key", "Bearer ", "Token whatever", "Basic YWxpY2U6cHc="],
)
def test_it_rejects_a_wrong_key(db, header):
    response = Client(headers={"Authorization": header}).get("/api/v1/invoices")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_it_rejects_a_revoked_key(api_client, api_key, customer):
    ApiKey.objects.authenticate(api_key).revoke()

    response = api_client.get("/api/v1/customers")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_it_serves_the_key_owners_partner(db, other_partner, charlie, customer, outsider_customer):
    _, raw = ApiKey.issue(other_partner, "charlie's key", created_by=charlie)

    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/customers")

    assert [c["name"] for c in response.json()["items"]] == ["Initech"]
