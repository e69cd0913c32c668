"""Collections through the API: sequences, sends (once per Idempotency-Key) and pauses."""

import datetime as dt
import json

import pytest

from arbridge.collections import reminders
from arbridge.collections.models import CustomerPolicy, ReminderEmail, Sequence
from arbridge.core import clock
from arbridge.core.models import AuditEntry
from arbridge.ledger.models import Contact

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

STEPS = [
    {"offset_days": 5, "subject_template": "{{ what }}: five days late", "body_template": "Pay"},
    {
        "offset_days": 20,
        "subject_template": "Final: {{ what }}",
        "body_template": "Now",
        "is_final": True,
    },
]


def send_json(client, method: str, path: str, body: dict, **headers):
    return client.generic(method, path, json.dumps(body), "application/json", headers=headers)


@pytest.fixture
def hank(customer) -> Contact:
    return Contact.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        name="Hank",
        email="hank@globex.example",
        is_billing=True,
    )


@pytest.fixture
def overdue(customer, make_invoice):
    return make_invoice(customer, "INV-1001", "1500.00", due_date=clock.today() - dt.timedelta(5))


def test_a_sequence_is_created_for_customers_and_replaced(api_client, customer, partner):
    created = send_json(
        api_client,
        "POST",
        "/api/v1/sequences",
        {"name": "Firm", "steps": STEPS, "customers": [customer.pk]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Firm" and not body["is_default"]
    assert [s["offset_days"] for s in body["steps"]] == [5, 20]
    assert body["steps"][1]["is_final"] and body["customers"] == [customer.pk]
    assert CustomerPolicy.objects.get(customer=customer).sequence_id == body["id"]

    replaced = send_json(
        api_client,
        "PUT",
        f"/api/v1/sequences/{body['id']}",
        {"name": "Firmer", "steps": [STEPS[1] | {"subject_template": "Last: {{ what }}"}]},
    )
    assert replaced.status_code == 200
    assert [(s["offset_days"], s["subject_template"]) for s in replaced.json()["steps"]] == [
        (20, "Last: {{ what }}")
    ]
    assert replaced.json()["customers"] == []  # Globex follows the default again
    listed = api_client.get("/api/v1/sequences").json()["items"]
    assert [s["name"] for s in listed] == ["Firmer"]


@pytest.mark.parametrize(
    "steps, code",
    [
        ([STEPS[0], STEPS[0]], "duplicate_step"),
        ([STEPS[0] | {"body_template": "{% for x in %}"}], "invalid_template"),
    ],
)
def test_bad_steps_are_refused(api_client, steps, code):
    response = send_json(api_client, "POST", "/api/v1/sequences", {"name": "X", "steps": steps})

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not Sequence.objects.exists()


def test_the_default_sequence_is_not_deleted_nor_given_customers(api_client, partner, customer):
    default = Sequence.default_for(partner)
    path = f"/api/v1/sequences/{default.pk}"

    assert api_client.delete(path).status_code == 409
    response = send_json(
        api_client, "PUT", path, {"name": "Std", "steps": STEPS, "customers": [customer.pk]}
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "default_sequence"
    assert default.steps.count() == 6


def test_deleting_a_sequence_returns_its_customers_to_the_default(api_client, customer):
    created = send_json(
        api_client,
        "POST",
        "/api/v1/sequences",
        {"name": "Firm", "steps": STEPS, "customers": [customer.pk]},
    ).json()

    assert api_client.delete(f"/api/v1/sequences/{created['id']}").status_code == 204
    assert CustomerPolicy.objects.get(customer=customer).sequence is None


def test_a_send_goes_once_per_idempotency_key(api_client, customer, hank, overdue, inbox):
    first = send_json(
        api_client, "POST", "/api/v1/sends", {"customer": customer.pk}, **{"Idempotency-Key": "k1"}
    )
    again = send_json(
        api_client, "POST", "/api/v1/sends", {"customer": customer.pk}, **{"Idempotency-Key": "k1"}
    )

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    body = first.json()
    assert body["kind"] == "manual" and body["status"] == "sent"
    assert body["recipients"] == ["hank@globex.example"]
    assert body["invoices"] == [{"invoice_id": overdue.pk, "number": "INV-1001", "step": "by hand"}]
    assert len(inbox.to("hank@globex.example")) == 1

    detail = api_client.get(f"/api/v1/sends/{body['id']}").json()
    assert "INV-1001" in detail["body"] and "Pay online: " in detail["body"]
    assert [s["id"] for s in api_client.get("/api/v1/sends?status=sent").json()["items"]] == [
        body["id"]
    ]
    assert api_client.get("/api/v1/sends?status=bounced").json()["items"] == []


def test_a_send_with_nothing_open_is_a_conflict(api_client, customer, hank, inbox):
    response = send_json(api_client, "POST", "/api/v1/sends", {"customer": customer.pk})

    assert response.status_code == 409 and response.json()["error"]["code"] == "nothing_to_send"
    assert not ReminderEmail.objects.exists() and inbox.messages == []


def test_a_pause_holds_reminders_until_it_is_deleted(api_client, partner, customer, overdue):
    created = send_json(
        api_client, "POST", "/api/v1/pauses", {"customer": customer.pk, "reason": "In talks"}
    )
    assert created.status_code == 201
    assert (
        created.json()["reason"] == "In talks" and created.json()["customer"]["id"] == customer.pk
    )
    again = send_json(api_client, "POST", "/api/v1/pauses", {"customer": customer.pk})
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert not reminders.chasable(partner.pk).exists()
    assert [p["id"] for p in api_client.get("/api/v1/pauses").json()["items"]] == [
        created.json()["id"]
    ]

    assert api_client.delete(f"/api/v1/pauses/{created.json()['id']}").status_code == 204
    assert api_client.get(f"/api/v1/pauses/{created.json()['id']}").status_code == 404
    assert list(reminders.chasable(partner.pk)) == [overdue]
    # The audit log says who paused and resumed, as for a pause made on the dashboard.
    actions = AuditEntry.objects.filter(target=str(customer)).values_list("action", flat=True)
    assert sorted(actions) == ["collections.paused", "collections.resumed"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/api/v1/sends", lambda c: {"customer": c}),
        ("POST", "/api/v1/pauses", lambda c: {"customer": c}),
        ("POST", "/api/v1/sequences", lambda c: {"name": "X", "steps": [], "customers": [c]}),
    ],
)
def test_a_body_naming_another_partners_customer_is_not_found(
    api_client, outsider_customer, inbox, method, path, body
):
    response = send_json(api_client, method, path, body(outsider_customer.pk))

    assert response.status_code == 404
    assert not CustomerPolicy.objects.exists() and not ReminderEmail.objects.exists()
    assert not Sequence.objects.exists()


def test_replacing_a_sequence_with_another_partners_customer_is_not_found(
    api_client, partner, outsider_customer
):
    firm = Sequence.objects.create(partner=partner, name="Firm")
    response = send_json(
        api_client,
        "PUT",
        f"/api/v1/sequences/{firm.pk}",
        {"name": "Mine now", "steps": [], "customers": [outsider_customer.pk]},
    )

    assert response.status_code == 404
    firm.refresh_from_db()
    assert firm.name == "Firm" and not CustomerPolicy.objects.exists()
