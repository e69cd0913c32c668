import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from arbridge.integrations import outbox
from arbridge.integrations.models import ExceptionItem, OutboundCommand
from tests.integrations.vendor import TOKEN


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_credentials_are_never_shown(admin_client, connection):
    pages = [
        reverse("admin:core_connection_changelist"),
        reverse("admin:core_connection_change", args=[connection.pk]),
    ]
    for url in pages:
        page = admin_client.get(url).content.decode()
        assert "Fake Books" in page
        assert TOKEN not in page
    assert "token: ••••" in page


def test_saving_a_connection_keeps_its_credentials(admin_client, connection):
    url = reverse("admin:core_connection_change", args=[connection.pk])
    response = admin_client.post(
        url,
        {
            "partner": connection.partner_id,
            "kind": "fakevendor",
            "name": "Renamed Books",
            "status": "connected",
            "status_detail": "",
            "preferences": "{}",
            "remote_account": "",
        },
    )
    assert response.status_code == 302

    connection.refresh_from_db()
    assert connection.name == "Renamed Books"
    assert connection.credentials["token"] == TOKEN


def test_the_retry_action_redelivers_a_failed_write(
    admin_client, connection, vendor, django_capture_on_commit_callbacks
):
    vendor.fail_next(400)
    command = OutboundCommand.enqueue(connection, "create_payment", {}, "pay-1")
    outbox.deliver(command.pk)
    item = ExceptionItem.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:integrations_exceptionitem_changelist"),
            {"action": "retry", "_selected_action": [item.pk]},
        )

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.RESOLVED
