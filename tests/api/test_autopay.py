"""Auto pay through the API: enroll with evidence, un-enroll, rules, the charges coming up."""

import datetime as dt
import json

import pytest
import time_machine

from arbridge.autopay.models import Enrollment, Rule
from arbridge.core.models import ApiKey, AuditEntry
from arbridge.ledger.models import Customer
from arbridge.payments.models import SavedMethod

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(NOW, tick=False):
        yield


def saved(customer: Customer, kind: str = "card", last4: str = "4242") -> SavedMethod:
    return SavedMethod.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        processor="sandbox",
        token=f"pm_{customer.pk}_{last4}",
        kind=kind,
        brand="visa" if kind == "card" else "bank account",
        last4=last4,
    )


def post(api_client, path: str, body: dict):
    return api_client.post(path, json.dumps(body), content_type="application/json")


def patch(api_client, path: str, body: dict):
    return api_client.patch(path, json.dumps(body), content_type="application/json")


EVIDENCE = {
    "authorized_by": "Dana Reyes, controller",
    "authorized_at": "2026-11-20T10:00:00Z",
    "how": "signed auto pay form",
    "reference": "DOC-118",
}


def test_the_partner_enrolls_a_customer_with_the_evidence_and_un_enrolls(api_client, customer):
    method = saved(customer)

    created = post(api_client, "/api/v1/autopay/enrollments", {"customer": customer.pk, **EVIDENCE})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["customer"] == {"id": customer.pk, "name": "Globex"}
    assert body["status"] == "active"
    assert body["source"] == "partner"
    assert body["method"] == {
        "id": method.pk, "kind": "card", "brand": "visa", "last4": "4242", "removed": False
    }  # fmt: skip
    evidence = body["evidence"]
    assert evidence["authorized_by"] == "Dana Reyes, controller"
    assert evidence["authorized_at"] == "2026-11-20T10:00:00+00:00"
    assert (evidence["how"], evidence["reference"]) == ("signed auto pay form", "DOC-118")
    assert evidence["recorded_by"] == "API key accounting export"
    assert api_client.get(f"/api/v1/autopay/enrollments/{body['id']}").json() == body

    gone = api_client.delete(f"/api/v1/autopay/enrollments/{body['id']}")

    assert gone.status_code == 204
    assert Enrollment.objects.get(pk=body["id"]).status == Enrollment.Status.CANCELLED
    again = api_client.delete(f"/api/v1/autopay/enrollments/{body['id']}")
    assert again.status_code == 204
    listed = api_client.get("/api/v1/autopay/enrollments", {"status": "active"}).json()
    assert listed["items"] == []


def test_the_partner_puts_an_enrolled_customer_in_the_pilot_and_out(api_client, customer):
    saved(customer)
    body = post(api_client, "/api/v1/autopay/enrollments", {"customer": customer.pk, **EVIDENCE})
    url = f"/api/v1/autopay/enrollments/{body.json()['id']}"

    def patch(data):
        return api_client.patch(url, json.dumps(data), "application/json")

    assert patch({"pilot": True}).json()["pilot"] is True
    assert Enrollment.objects.get().pilot
    assert patch({"pilot": False}).json()["pilot"] is False
    assert patch({"pilot": "yes"}).status_code == 422
    assert AuditEntry.objects.filter(action="autopay.pilot_changed").count() == 2
    api_client.delete(url)
    refused = patch({"pilot": True})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_enrolled"
    assert not Enrollment.objects.get().pilot


def test_a_bank_account_needs_the_mandate_text(api_client, customer):
    account = saved(customer, "ach", "6789")
    body = {"customer": customer.pk, "method": account.pk, **EVIDENCE}

    refused = post(api_client, "/api/v1/autopay/enrollments", body)
    assert refused.status_code == 422
    assert "authorization" in refused.json()["error"]["message"]

    mandate = "I authorize Acme IT to debit my account for invoices when due."
    created = post(api_client, "/api/v1/autopay/enrollments", {**body, "authorization": mandate})
    assert created.status_code == 201
    assert created.json()["authorization"] == mandate


def test_enrolling_needs_a_method_evidence_and_a_past_authorization(api_client, customer):
    none = post(api_client, "/api/v1/autopay/enrollments", {"customer": customer.pk, **EVIDENCE})
    assert (none.status_code, none.json()["error"]["code"]) == (409, "no_method")

    saved(customer)
    for missing in ("authorized_by", "authorized_at", "how"):
        body = {"customer": customer.pk, **EVIDENCE}
        del body[missing]
        assert post(api_client, "/api/v1/autopay/enrollments", body).status_code == 422
    future = {"customer": customer.pk, **EVIDENCE, "authorized_at": "2026-12-01T00:00:00Z"}
    assert post(api_client, "/api/v1/autopay/enrollments", future).status_code == 422
    assert not Enrollment.objects.exists()


def test_another_partners_customer_or_method_cannot_be_enrolled(
    api_client, customer, outsider_customer
):
    theirs = saved(outsider_customer)
    saved(customer)

    for body in (
        {"customer": outsider_customer.pk, **EVIDENCE},
        {"customer": customer.pk, "method": theirs.pk, **EVIDENCE},
    ):
        response = post(api_client, "/api/v1/autopay/enrollments", body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not Enrollment.objects.exists()


def test_rules_are_created_changed_and_removed(api_client, partner):
    created = post(
        api_client,
        "/api/v1/autopay/rules",
        {"trigger": "before_due", "days": 3, "terms": ["Net 30", "Net 15"], "amount_cap": "2500"},
    )

    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["trigger"], rule["days"], rule["priority"]) == ("before_due", 3, 100)
    assert (rule["terms"], rule["amount_cap"]) == (["Net 30", "Net 15"], "2500.00")
    assert Rule.objects.get().term_names == {"net 30", "net 15"}

    changed = patch(api_client, f"/api/v1/autopay/rules/{rule['id']}", {"amount_cap": None})
    assert changed.status_code == 200
    assert (changed.json()["amount_cap"], changed.json()["days"]) == (None, 3)
    assert patch(api_client, f"/api/v1/autopay/rules/{rule['id']}", {"days": -1}).status_code == 422

    assert api_client.delete(f"/api/v1/autopay/rules/{rule['id']}").status_code == 204
    assert api_client.get("/api/v1/autopay/rules").json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"trigger": "someday"},
        {"trigger": "after_due", "amount_cap": "-1"},
        {"trigger": "after_due", "amount_cap": "1e20"},
        {"trigger": "after_due", "terms": ["Net, 30"]},
        {"trigger": "after_due", "days": 400},
    ],
)
def test_a_rule_out_of_bounds_is_a_json_422(api_client, body):
    response = post(api_client, "/api/v1/autopay/rules", body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


def test_upcoming_charges_soonest_first_a_page_at_a_time(api_client, partner, make_invoice):
    Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_DUE, days=0)
    names = ("Globex", "Initech", "Umbrella")
    for n, name in enumerate(names):
        customer = Customer.objects.create(partner=partner, name=name)
        Enrollment.enroll(saved(customer), source=Enrollment.Source.PARTNER)
        make_invoice(customer, f"INV-{n}", "120.00", due_date=dt.date(2026, 12, 10 - 3 * n))
    later = Customer.objects.get(name="Globex")
    make_invoice(later, "INV-LATE", due_date=dt.date(2027, 2, 1))  # beyond 30 days

    first = api_client.get("/api/v1/autopay/upcoming", {"limit": 2}).json()
    rest = api_client.get(
        "/api/v1/autopay/upcoming", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    items = first["items"] + rest["items"]
    assert [(i["invoice"]["number"], i["charge_on"]) for i in items] == [
        ("INV-2", "2026-12-04"),
        ("INV-1", "2026-12-07"),
        ("INV-0", "2026-12-10"),
    ]
    assert items[0]["amount"] == "120.00"
    assert items[0]["method"]["last4"] == "4242"
    assert rest["next_cursor"] is None
    ninety = api_client.get("/api/v1/autopay/upcoming", {"days": 90}).json()["items"]
    assert ninety[-1]["invoice"]["number"] == "INV-LATE"
    one = api_client.get("/api/v1/autopay/upcoming", {"customer": later.pk}).json()["items"]
    assert [i["invoice"]["number"] for i in one] == ["INV-0"]
    assert api_client.get("/api/v1/autopay/upcoming", {"cursor": "bm9wZQ"}).status_code == 400


def test_another_partners_key_sees_none_of_it(client, other_partner, own_rows):
    _, raw = ApiKey.issue(other_partner, "theirs")
    headers = {"Authorization": f"Bearer {raw}"}

    for path in ("enrollments", "rules", "upcoming"):
        response = client.get(f"/api/v1/autopay/{path}", headers=headers)
        assert response.json()["items"] == [], path
