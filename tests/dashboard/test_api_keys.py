from django.test import Client
from django.urls import reverse

from arbridge.core.models import ApiKey, AuditEntry

API_KEYS = reverse("dashboard:api_keys")


def test_a_new_key_is_shown_once(client, alice):
    client.force_login(alice)
    response = client.post(API_KEYS, {"name": "Reporting", "scope": "read"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_key"]
    assert raw.startswith("arb_")
    assert raw in response.content.decode()
    key = ApiKey.objects.get()
    assert key.name == "Reporting"
    assert key.created_by == alice
    assert key.scope == ApiKey.Scope.READ
    assert ApiKey.objects.authenticate(raw) == key

    page = client.get(API_KEYS).content.decode()
    assert raw not in page
    assert f"{key.prefix}…" in page
    assert "Reporting" in page
    assert "Read only" in page
    assert AuditEntry.objects.filter(action="api_key.created", actor=alice).exists()


def test_a_key_needs_a_name(client, alice):
    client.force_login(alice)
    response = client.post(API_KEYS, {"name": "", "scope": "read"})
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_revoked_key_no_longer_opens_the_api(client, alice, partner):
    key, raw = ApiKey.issue(partner, "Zapier")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/invoices").status_code == 200

    client.force_login(alice)
    response = client.post(reverse("dashboard:revoke_api_key", args=[key.pk]), follow=True)
    assert "Key “Zapier” revoked." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in response.content.decode()
    assert api.get("/api/v1/invoices").status_code == 401


def test_keys_are_for_owners_and_admins(client, bob, api_key):
    client.force_login(bob)
    assert reverse("dashboard:api_keys") not in client.get("/").content.decode()
    assert client.get(API_KEYS).status_code == 403
    assert client.post(API_KEYS, {"name": "Mine"}).status_code == 403
    response = client.post(reverse("dashboard:revoke_api_key", args=[api_key.pk]))
    assert response.status_code == 403
    assert ApiKey.objects.get().is_active


def test_the_partner_chooses_the_keys_scope(client, alice):
    client.force_login(alice)
    form = client.get(API_KEYS).content.decode()
    assert 'value="read"' in form and 'value="write"' in form

    raw = client.post(API_KEYS, {"name": "Zapier", "scope": "write"}).context["raw_key"]

    key = ApiKey.objects.get()
    assert key.scope == ApiKey.Scope.WRITE
    assert "Read and write" in client.get(API_KEYS).content.decode()
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.post("/api/v1/pauses", {}, "application/json").status_code == 422


def test_a_read_only_keys_write_is_refused(client, alice, customer):
    client.force_login(alice)
    raw = client.post(API_KEYS, {"name": "Reporting", "scope": "read"}).context["raw_key"]
    api = Client(headers={"Authorization": f"Bearer {raw}"})

    response = api.post("/api/v1/pauses", {"customer": customer.pk}, "application/json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "read_only_key"
    assert api.get("/api/v1/pauses").status_code == 200


def test_a_key_needs_a_known_scope(client, alice):
    client.force_login(alice)
    response = client.post(API_KEYS, {"name": "Mine", "scope": "admin"})
    assert "Select a valid choice." in response.content.decode()
    assert not ApiKey.objects.exists()
