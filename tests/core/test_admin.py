"""The Django admin for tenancy: API keys are inspected and revoked, never shown."""

import pytest
from django.contrib.auth.models import User

from arbridge.core.models import ApiKey, AuditEntry


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    return client


def test_an_api_key_page_shows_its_prefix_and_not_its_hash(admin_client, partner, alice):
    key, raw = ApiKey.issue(partner, "accounting export", created_by=alice)

    page = admin_client.get(f"/admin/core/apikey/{key.pk}/change/").content.decode()

    assert key.prefix in page
    assert key.key_hash not in page
    assert raw not in page


def test_keys_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/core/apikey/add/").status_code == 403


def test_selected_keys_can_be_revoked(admin_client, partner):
    key, raw = ApiKey.issue(partner, "old integration")

    admin_client.post(
        "/admin/core/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    assert ApiKey.objects.authenticate(raw) is None


def test_the_audit_log_is_read_only(admin_client, partner, alice):
    entry = AuditEntry.record(partner, "connection.created", actor=alice, target="qbo")

    assert admin_client.get("/admin/core/auditentry/").status_code == 200
    assert admin_client.get("/admin/core/auditentry/add/").status_code == 403
    page = admin_client.get(f"/admin/core/auditentry/{entry.pk}/change/").content.decode()
    assert entry.action in page
    assert 'name="_save"' not in page
    assert admin_client.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
