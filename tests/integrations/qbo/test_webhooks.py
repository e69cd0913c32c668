import datetime as dt
import json
from decimal import Decimal

import pytest

from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun, WebhookEvent
from arbridge.integrations.tasks import sweep_webhook_events
from arbridge.ledger.models import Invoice, Payment
from arbridge.sandbox.qbo.app import CLIENT_ID, VERIFIER_TOKEN
from arbridge.sandbox.qbo.webhooks import sign

URL = "/webhooks/qbo"


def post(client, body: bytes, signature: str | None = None):
    headers = {"intuit-signature": sign(VERIFIER_TOKEN, body) if signature is None else signature}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def cloud_event(realm: str, entity: str, id: str, operation: str = "updated") -> dict:
    return {
        "specversion": "1.0",
        "id": f"{entity}-{id}-{operation}",
        "source": "intuit.test",
        "type": f"qbo.{entity}.{operation}.v1",
        "time": "2026-03-02T09:00:00.000Z",
        "intuitentityid": id,
        "intuitaccountid": realm,
        "data": {},
    }


@pytest.fixture
def invoice(qbo, company, sync) -> dict:
    """An invoice in QuickBooks that arbridge has synced."""
    globex = company.customer("Globex", "ap@globex.example")
    invoice = company.invoice(globex, "100.00", "50.00")
    sync(qbo)
    return invoice


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", "garbage"])
def test_a_forged_signature_is_refused_and_nothing_is_stored(client, qbo, invoice, signature):
    body = json.dumps([cloud_event(qbo.remote_account, "invoice", invoice["Id"])]).encode()

    response = post(client, body, signature)

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_body_signed_with_another_token_is_refused(client, qbo, invoice):
    body = json.dumps([cloud_event(qbo.remote_account, "invoice", invoice["Id"])]).encode()

    response = post(client, body, sign("someone-elses-token", body))

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_the_verifier_token_setting_decides(client, settings, qbo, invoice):
    settings.QBO_WEBHOOK_KEY = "configured-token"  # ARBRIDGE_QBO_WEBHOOK_KEY
    body = json.dumps([cloud_event(qbo.remote_account, "invoice", invoice["Id"])]).encode()

    assert post(client, body).status_code == 401
    assert post(client, body, sign("configured-token", body)).status_code == 200


@pytest.mark.parametrize("webhook_format", ["cloudevents", "legacy"])
def test_a_change_in_quickbooks_arrives_by_webhook(
    company, invoice, deliver, receiver, webhook_format
):
    company.update("Invoice", invoice["Id"], DueDate="2026-05-01")

    assert deliver() == 1

    body = json.loads(receiver.deliveries[-1][0])
    assert isinstance(body, list) == (webhook_format == "cloudevents")
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert bytes(event.body) == receiver.deliveries[-1][0]
    assert Invoice.objects.get().due_date == dt.date(2026, 5, 1)


def test_the_same_delivery_twice_is_stored_and_applied_once(
    client, company, invoice, deliver, receiver
):
    company.pay(invoice, "40.00")
    deliver()
    body, headers = receiver.deliveries[-1]

    response = client.post(URL, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
    payment = Payment.objects.get()
    assert payment.amount == Decimal("40.00")
    assert payment.origin == Payment.Origin.EXTERNAL
    assert Invoice.objects.get().balance == Decimal("110.00")


def test_deliveries_out_of_order_leave_the_newest_version(
    client, company, invoice, receiver, django_capture_on_commit_callbacks
):
    # Two changes, delivered newest first and then again: each delivery reads
    # the invoice as it is now, and the older one changes nothing.
    receiver.holding = True
    company.update("Invoice", invoice["Id"], DueDate="2026-05-01")
    company.sandbox.flush_webhooks()
    company.update("Invoice", invoice["Id"], DueDate="2026-06-01")
    company.sandbox.flush_webhooks()
    older, newer = receiver.deliveries[-2:]

    with django_capture_on_commit_callbacks(execute=True):
        for body, headers in (newer, older, newer, older):
            client.post(URL, data=body, content_type="application/json", headers=headers)

    assert Invoice.objects.get().due_date == dt.date(2026, 6, 1)
    events = WebhookEvent.objects.all()
    assert [event.status for event in events] == [WebhookEvent.Status.PROCESSED] * 2


def test_a_stale_hint_does_not_undo_a_newer_sync(client, qbo, company, invoice, sync, receiver):
    company.update("Invoice", invoice["Id"], DueDate="2026-05-01")
    company.sandbox.flush_webhooks()  # stored, its job not run yet
    company.update("Invoice", invoice["Id"], DueDate="2026-06-01")
    sync(qbo)
    event = WebhookEvent.objects.get()

    from arbridge.integrations.tasks import process

    process(event.pk)

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Invoice.objects.get().due_date == dt.date(2026, 6, 1)


def test_a_company_no_connection_knows_is_acknowledged_and_ignored(client, qbo, invoice):
    body = json.dumps([cloud_event("5550001111", "invoice", "1")]).encode()

    response = post(client, body)

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


def test_a_disconnected_connection_gets_nothing(client, qbo, invoice):
    Connection.objects.filter(pk=qbo.pk).update(status=Connection.Status.DISCONNECTED)
    body = json.dumps([cloud_event(qbo.remote_account, "invoice", invoice["Id"])]).encode()

    response = post(client, body)

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_no_notification_is_a_bad_request(client, qbo):
    response = post(client, b'{"hello": "world"}')

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_hint_that_cannot_be_fetched_falls_back_to_a_sync(
    client, qbo, company, invoice, django_capture_on_commit_callbacks
):
    # The grant is revoked in QuickBooks: the fetch is refused, a sync is owed instead.
    token = qbo.credentials["token"]["access_token"]
    company.sandbox.store.auth.revoke(CLIENT_ID, token)
    body = json.dumps([cloud_event(qbo.remote_account, "invoice", invoice["Id"])]).encode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body)
    callbacks[0]()  # the job, and nothing else: the sync it owes is checked below

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "AuthError" in event.error or "InvalidGrant" in event.error
    run = SyncRun.objects.get(connection=qbo, status=SyncRun.Status.QUEUED)
    assert run.trigger == SyncRun.Trigger.WEBHOOK


def test_a_delivery_whose_job_was_lost_is_swept_up(
    client, company, invoice, receiver, time_machine
):
    company.update("Invoice", invoice["Id"], DueDate="2026-05-01")
    company.sandbox.flush_webhooks()  # stored; its job lost with the transaction's callbacks
    event = WebhookEvent.objects.get()
    assert sweep_webhook_events() == 0  # too recent: its job may still be on its way

    time_machine.move_to(clock.now() + dt.timedelta(minutes=2))
    assert sweep_webhook_events() == 1

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Invoice.objects.get().due_date == dt.date(2026, 5, 1)
