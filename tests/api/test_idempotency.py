"""Idempotency-Key on every write, tried on every POST in the OpenAPI document.

Each POST gets a body it accepts (WRITES_THAT_WORK below; a new POST fails
test_every_post_is_covered until it has one), then the same key is sent again:
the first answer comes back and nothing is done twice.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from arbridge.api.models import IdempotentRequest
from arbridge.api.tasks import purge_idempotency_keys
from arbridge.api.views import api
from arbridge.collections.models import CustomerPolicy, ReminderEmail
from arbridge.core import clock
from arbridge.core.models import ApiKey
from arbridge.hooks.models import Endpoint
from arbridge.ledger.models import Contact, Customer, Invoice, Payment
from arbridge.payments import services
from tests.api.test_isolation import resource

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

SCHEMA = api.get_openapi_schema()
POSTS = [path for path, operations in SCHEMA["paths"].items() if "post" in operations]
WEBHOOK = {"url": "http://127.0.0.1:9/hooks", "events": ["invoice.paid"]}

# POST path -> a function of the partner's rows giving a body the API accepts (or None).
WRITES_THAT_WORK = {
    "/api/v1/connections/{id}/sync": lambda rows: None,
    "/api/v1/webhook-endpoints": lambda rows: WEBHOOK,
    "/api/v1/webhook-endpoints/{id}/rotate": lambda rows: None,
    "/api/v1/webhook-deliveries/{id}/replay": lambda rows: None,
    "/api/v1/sequences": lambda rows: {"name": "Firm", "steps": []},
    "/api/v1/sends": lambda rows: {"customer": rows[Customer].pk},
    "/api/v1/pauses": lambda rows: {"customer": rows[Customer].pk},
    "/api/v1/customers/{id}/portal-links": lambda rows: {"days": 30},
    "/api/v1/portal-links/{id}/revoke": lambda rows: None,
    "/api/v1/exceptions/{id}/resolve": lambda rows: None,
    "/api/v1/exceptions/{id}/retry": lambda rows: None,
    "/api/v1/payments/{id}/refund": lambda rows: None,
    "/api/v1/autopay/enrollments": lambda rows: {
        "customer": rows[Customer].pk,
        "authorized_by": "Hank Scorpio, AP",
        "authorized_at": "2026-01-05T09:00:00Z",
        "how": "Signed form",
    },
    "/api/v1/autopay/rules": lambda rows: {"trigger": "after_due", "days": 3},
}
REFUND = "/api/v1/payments/{id}/refund"


@pytest.fixture
def rows(own_rows, request):
    """The partner's rows, with a customer who can be reminded of an overdue invoice.

    To refund, the payment is one taken through the sandbox processor.
    """
    customer = own_rows[Customer]
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("path") == REFUND:
        request.getfixturevalue("processor_settings")
        token = request.getfixturevalue("tokenize")()
        invoice = Invoice.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            number="INV-PAID",
            issue_date=clock.today(),
            total=Decimal("40.00"),
            balance=Decimal("40.00"),
        )
        checkout = services.open_checkout(customer, {invoice: Decimal("40.00")})
        own_rows[Payment] = services.pay(services.choose_method(checkout, token).key).payment
    CustomerPolicy.objects.filter(pk=own_rows[CustomerPolicy].pk).update(paused=False)
    Contact.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        name="Hank",
        email="hank@globex.example",
        is_billing=True,
    )
    Invoice.objects.filter(pk=own_rows[Invoice].pk).update(
        due_date=clock.today() - dt.timedelta(days=5)
    )
    return own_rows


def post(client: Client, path: str, rows, body, key: str | None = "key-1"):
    url = path.replace("{id}", str(rows[resource(path)].id)) if "{id}" in path else path
    headers = {"Idempotency-Key": key} if key else {}
    data = "" if body is None else json.dumps(body)
    return client.generic("POST", url, data, "application/json", headers=headers)


def counts() -> dict[str, int]:
    """How many rows of every model there are: a repeated write must change none."""
    return {
        m._meta.label: m.objects.count() for m in apps.get_models() if m is not IdempotentRequest
    }


def test_every_post_is_covered():
    assert set(POSTS) == set(WRITES_THAT_WORK)


@pytest.mark.parametrize("path", POSTS)
def test_every_post_documents_the_header(path):
    names = [p["name"] for p in SCHEMA["paths"][path]["post"].get("parameters", [])]
    assert "Idempotency-Key" in names


@pytest.mark.parametrize("path", POSTS)
def test_the_same_key_and_body_get_the_first_answer(api_client, rows, inbox, path):
    body = WRITES_THAT_WORK[path](rows)
    first = post(api_client, path, rows, body)
    assert 200 <= first.status_code < 300, first.content
    after_first = counts()

    again = post(api_client, path, rows, body)

    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert counts() == after_first


@pytest.mark.parametrize("path", POSTS)
def test_the_same_key_with_another_body_is_refused(api_client, rows, inbox, path):
    body = WRITES_THAT_WORK[path](rows)
    assert 200 <= post(api_client, path, rows, body).status_code < 300
    after_first = counts()

    other = post(api_client, path, rows, {**(body or {}), "note": "another"})

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert counts() == after_first


@pytest.mark.parametrize("path", POSTS)
def test_without_a_key_each_request_is_its_own(api_client, rows, inbox, path):
    body = WRITES_THAT_WORK[path](rows)

    first = post(api_client, path, rows, body, key=None)

    assert 200 <= first.status_code < 300
    assert "Idempotent-Replayed" not in first
    assert not IdempotentRequest.objects.exists()


def test_keys_are_per_partner(api_client, rows, other_partner, charlie):
    first = post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK)
    _, raw = ApiKey.issue(other_partner, "theirs", created_by=charlie, scope=ApiKey.Scope.WRITE)
    theirs = post(
        Client(headers={"Authorization": f"Bearer {raw}"}),
        "/api/v1/webhook-endpoints",
        rows,
        WEBHOOK,
    )

    assert first.status_code == theirs.status_code == 201
    assert first.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs


def test_a_key_expires_after_24_hours(api_client, rows):
    first = post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK)
    IdempotentRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=24, minutes=1))

    later = post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK)

    assert later.status_code == 201 and "Idempotent-Replayed" not in later
    assert later.json()["id"] != first.json()["id"]


def test_a_refused_request_does_not_hold_its_key(api_client, rows):
    refused = post(api_client, "/api/v1/webhook-endpoints", rows, {"url": "ftp://x"})
    assert refused.status_code == 422

    accepted = post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK)

    assert accepted.status_code == 201


def test_a_key_still_running_is_a_conflict(api_client, rows, partner):
    body = WRITES_THAT_WORK["/api/v1/webhook-endpoints"](rows)
    first = post(api_client, "/api/v1/webhook-endpoints", rows, body)
    IdempotentRequest.objects.update(status=None)

    again = post(api_client, "/api/v1/webhook-endpoints", rows, body)

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_key_in_use"


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "two words"])
def test_a_malformed_key_is_refused(api_client, rows, key):
    response = post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK, key=None)
    assert response.status_code == 201
    url = "/api/v1/webhook-endpoints"

    bad = api_client.post(url, WEBHOOK, "application/json", headers={"Idempotency-Key": key})

    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid"


def test_a_send_replayed_sends_one_email(api_client, rows, inbox):
    body = {"customer": rows[Customer].pk}
    first = post(api_client, "/api/v1/sends", rows, body)
    again = post(api_client, "/api/v1/sends", rows, body)

    assert first.status_code == again.status_code == 201
    assert ReminderEmail.objects.filter(kind=ReminderEmail.Kind.MANUAL).count() == 1
    assert len(inbox.to("hank@globex.example")) == 1


def test_a_delete_replayed_answers_as_the_first_did(api_client, rows):
    url = f"/api/v1/webhook-endpoints/{rows[Endpoint].pk}"
    first = api_client.delete(url, headers={"Idempotency-Key": "gone"})
    again = api_client.delete(url, headers={"Idempotency-Key": "gone"})

    assert first.status_code == again.status_code == 204
    assert again["Idempotent-Replayed"] == "true"
    assert api_client.delete(url).status_code == 404


def test_expired_keys_are_purged(api_client, rows):
    post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK, key="old")
    post(api_client, "/api/v1/webhook-endpoints", rows, WEBHOOK, key="new")
    IdempotentRequest.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )

    assert purge_idempotency_keys.call_local() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_a_key_without_a_valid_api_key_is_unauthorized(db):
    response = Client().post(
        "/api/v1/webhook-endpoints", WEBHOOK, "application/json", headers={"Idempotency-Key": ""}
    )

    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()
