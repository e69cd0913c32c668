from django.urls import reverse

from arbridge.core.models import AuditEntry, Connection, Membership
from arbridge.integrations.models import SyncRun

CONNECTIONS = reverse("dashboard:connections")


def test_it_lists_connections_with_their_last_sync(client, alice, connection, sync_run):
    Connection.objects.create(partner=connection.partner, kind="halopsa", name="Halo (prod)")
    client.force_login(alice)
    page = client.get(CONNECTIONS).content.decode()
    assert "QuickBooks Online" in page
    assert "Primary" in page
    assert "Connected" in page
    assert "5\xa0minutes ago" in page
    assert "HaloPSA" in page
    assert "Halo (prod)" in page
    assert "Not yet connected" in page
    assert "Never" in page
    assert f"?connection={connection.pk}" in page


def test_sync_now_queues_a_manual_run(client, alice, connection):
    client.force_login(alice)
    response = client.post(reverse("dashboard:sync_now", args=[connection.pk]), follow=True)
    assert response.redirect_chain == [(CONNECTIONS, 302)]
    run = SyncRun.objects.get()
    assert run.connection == connection
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert f"run {run.pk}" in response.content.decode()
    assert AuditEntry.objects.filter(action="connection.sync_requested", actor=alice).exists()


def test_sync_now_is_for_owners_and_admins(client, bob, connection):
    client.force_login(bob)
    assert "Sync now" not in client.get(CONNECTIONS).content.decode()
    response = client.post(reverse("dashboard:sync_now", args=[connection.pk]))
    assert response.status_code == 403
    assert not SyncRun.objects.exists()

    Membership.objects.filter(user=bob).update(role=Membership.Role.ADMIN)
    assert "Sync now" in client.get(CONNECTIONS).content.decode()
    client.post(reverse("dashboard:sync_now", args=[connection.pk]))
    assert SyncRun.objects.count() == 1


def test_sync_now_only_by_post(client, alice, connection):
    client.force_login(alice)
    assert client.get(reverse("dashboard:sync_now", args=[connection.pk])).status_code == 405
    assert not SyncRun.objects.exists()
