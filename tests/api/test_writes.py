"""The API's writes beyond syncs: exceptions resolved and retried, portal links, refunds.

Refunds go through the sandbox processor on loopback (tests.payments.fixtures),
as a payment taken on the portal would.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from arbridge.autopay.models import Enrollment
from arbridge.core.models import AuditEntry
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import Contact, Deposit, DepositLine, Invoice, Payment
from arbridge.payments import events, services
from arbridge.payments.models import UnmatchedFunds
from arbridge.portal.models import PortalLink

pytest_plugins = ["tests.payments.fixtures"]


@pytest.fixture
def problem(partner, connection) -> ExceptionItem:
    return ExceptionItem.objects.create(
        partner=partner, connection=connection, kind="other", title="Customer missing"
    )


def test_an_exception_is_resolved_once(api_client, problem):
    response = api_client.post(f"/api/v1/exceptions/{problem.pk}/resolve")

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    problem.refresh_from_db()
    assert problem.status == ExceptionItem.Status.RESOLVED
    assert api_client.post(f"/api/v1/exceptions/{problem.pk}/resolve").status_code == 200
    [entry] = AuditEntry.objects.filter(action="exception.resolved")
    assert entry.detail["via"].startswith("API key accounting export")


def test_retrying_an_exception_syncs_again_once(api_client, problem, connection):
    response = api_client.post(f"/api/v1/exceptions/{problem.pk}/retry")

    assert response.status_code == 202
    assert response.json()["status"] == "resolved"
    assert SyncRun.objects.filter(connection=connection).count() == 1
    again = api_client.post(f"/api/v1/exceptions/{problem.pk}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_resolved"
    assert SyncRun.objects.filter(connection=connection).count() == 1


def test_an_exception_with_nothing_to_retry_is_a_conflict(api_client, partner):
    item = ExceptionItem.objects.create(partner=partner, kind="other", title="Look at this")

    response = api_client.post(f"/api/v1/exceptions/{item.pk}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nothing_to_retry"
    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.OPEN


def test_a_portal_link_opens_the_customers_portal(api_client, customer):
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/portal-links", {"days": 30}, "application/json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    link = PortalLink.objects.get()
    assert body["url"] == f"http://testserver{link.get_absolute_url()}"
    assert link.customer == customer
    assert link.expires_at - link.created_at == dt.timedelta(days=30)
    listed = api_client.get(f"/api/v1/customers/{customer.pk}/portal-links").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    # The customer follows it into their portal.
    opened = Client().get(body["url"].removeprefix("http://testserver"), follow=True)
    assert opened.status_code == 200
    assert customer.name in opened.content.decode()


def test_a_portal_link_lasts_the_default_when_not_told(api_client, customer):
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/portal-links", {}, "application/json"
    )

    assert response.status_code == 201, response.content
    link = PortalLink.objects.get()
    assert link.expires_at - link.created_at == dt.timedelta(days=90)


@pytest.mark.parametrize("days", [1, "30", True, 0])
def test_a_portal_link_lasts_one_of_the_offered_periods(api_client, customer, days):
    response = api_client.post(
        f"/api/v1/customers/{customer.pk}/portal-links", {"days": days}, "application/json"
    )

    assert response.status_code == 422
    assert not PortalLink.objects.exists()


def test_revoked_links_are_not_listed(api_client, customer):
    PortalLink.issue(customer).revoke()

    listed = api_client.get(f"/api/v1/customers/{customer.pk}/portal-links").json()

    assert listed["items"] == []


def test_a_revoked_link_no_longer_opens_the_portal(api_client, customer):
    url = api_client.post(
        f"/api/v1/customers/{customer.pk}/portal-links", {}, "application/json"
    ).json()["url"]
    link = PortalLink.objects.get()
    portal = Client()
    assert portal.get(url, follow=True).status_code == 200  # opened: a session in the portal

    response = api_client.post(f"/api/v1/portal-links/{link.pk}/revoke")

    assert response.status_code == 200, response.content
    assert response.json()["revoked_at"] is not None
    # Neither the link nor the session it opened lets the customer in any longer.
    assert Client().get(url).status_code == 410
    invoices = f"/portal/{customer.partner.slug}/invoices/"
    assert portal.get(invoices)["Location"] == f"/portal/{customer.partner.slug}/"
    assert api_client.get(f"/api/v1/customers/{customer.pk}/portal-links").json()["items"] == []
    assert api_client.get("/api/v1/portal-links").json()["items"] == []
    assert api_client.get(f"/api/v1/portal-links/{link.pk}").json()["revoked_at"] is not None
    # Revoking again changes nothing, and is recorded once.
    assert api_client.post(f"/api/v1/portal-links/{link.pk}/revoke").status_code == 200
    [entry] = AuditEntry.objects.filter(action="portal_link.revoked")
    assert entry.detail["via"].startswith("API key accounting export")


def test_links_emailed_to_contacts_are_not_the_apis(api_client, customer):
    link = PortalLink.issue_sign_in(customer, "ap@globex.example")

    assert api_client.post(f"/api/v1/portal-links/{link.pk}/revoke").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_customers_contacts_are_listed(api_client, customer, outsider_customer):
    hank = Contact.objects.create(
        partner_id=customer.partner_id, customer=customer, name="Hank", email="hank@globex.example"
    )
    Contact.objects.create(
        partner_id=outsider_customer.partner_id, customer=outsider_customer, name="Milton"
    )

    listed = api_client.get(f"/api/v1/customers/{customer.pk}/contacts").json()

    assert [(c["id"], c["name"], c["email"]) for c in listed["items"]] == [
        (hank.pk, "Hank", "hank@globex.example")
    ]


def test_a_card_payment_is_refunded_in_full(
    api_client, customer, make_invoice, processor_settings, tokenize, sandbox_processor
):
    invoice = make_invoice(customer, "INV-7", "150.00")
    checkout = services.open_checkout(customer, {invoice: Decimal("150.00")})
    checkout = services.choose_method(checkout, tokenize())
    payment = services.pay(checkout.key).payment
    assert payment.status == Payment.Status.SUCCEEDED

    response = api_client.post(f"/api/v1/payments/{payment.pk}/refund")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("150.00")
    again = api_client.post(f"/api/v1/payments/{payment.pk}/refund")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_refundable"


def test_money_matched_from_a_bank_transfer_is_not_refunded_here(
    api_client, customer, make_invoice, processor_settings
):
    invoice = make_invoice(customer, "INV-9", "80.00")
    funds = UnmatchedFunds.objects.create(
        partner=customer.partner, reference="WIRE-77", amount=Decimal("80.00"), currency="USD"
    )
    payment = events.apply_unmatched(funds, {invoice: Decimal("80.00")})

    response = api_client.post(f"/api/v1/payments/{payment.pk}/refund")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_refundable"
    assert "bank transfer" in response.json()["error"]["message"]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_a_refund_while_the_processor_is_unreachable_is_a_503_and_refunds_nothing(
    api_client, customer, make_invoice, processor_settings, tokenize
):
    invoice = make_invoice(customer, "INV-10", "60.00")
    checkout = services.open_checkout(customer, {invoice: Decimal("60.00")})
    payment = services.pay(services.choose_method(checkout, tokenize()).key).payment
    # The processor moves out of reach: the discard port, where nothing answers.
    processor_settings.credentials = {
        **processor_settings.credentials,
        "base_url": "http://127.0.0.1:9",
    }
    processor_settings.save()

    response = api_client.post(f"/api/v1/payments/{payment.pk}/refund")

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "processor_unavailable"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_a_payment_recorded_in_the_books_is_not_refunded_here(api_client, customer, connection):
    payment = Payment.objects.create(
        partner=customer.partner, customer=customer, connection=connection, amount=Decimal("5.00")
    )

    response = api_client.post(f"/api/v1/payments/{payment.pk}/refund")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_refundable"
    assert "processor" in response.json()["error"]["message"]
    payment.refresh_from_db()
    assert payment.status != Payment.Status.REFUNDED


def test_invoices_are_not_touched_by_a_refused_refund(
    api_client, customer, connection, make_invoice
):
    invoice = make_invoice(customer, "INV-8")
    payment = Payment.objects.create(
        partner=customer.partner, customer=customer, connection=connection, amount=Decimal("5.00")
    )

    api_client.post(f"/api/v1/payments/{payment.pk}/refund")

    assert Invoice.objects.get(pk=invoice.pk).balance == Decimal("100.00")


@pytest.mark.parametrize("body", ["[null, null]", '"30"', "30", "null"])
def test_a_portal_links_body_is_an_object(api_client, customer, body):
    url = f"/api/v1/customers/{customer.pk}/portal-links"

    response = api_client.post(url, body, "application/json")

    assert response.status_code in (400, 422), response.content
    assert not PortalLink.objects.exists()


def test_a_deposit_shows_its_payments_and_fees(api_client, customer, connection):
    payment = Payment.objects.create(
        partner=customer.partner, customer=customer, connection=connection, amount=Decimal("100.00")
    )
    deposit = Deposit.objects.create(
        partner=customer.partner, amount=Decimal("97.10"), processor_reference="po_1"
    )
    for kind, amount, paid in (("payment", "100.00", payment), ("fee", "-2.90", None)):
        DepositLine.objects.create(
            partner=customer.partner,
            deposit=deposit,
            kind=kind,
            amount=Decimal(amount),
            payment=paid,
        )

    listed = api_client.get("/api/v1/deposits").json()["items"]
    detail = api_client.get(f"/api/v1/deposits/{deposit.pk}").json()

    assert [(d["id"], d["amount"], d["processor_reference"]) for d in listed] == [
        (deposit.pk, "97.10", "po_1")
    ]
    assert sorted(
        (line["kind"], line["amount"], line["payment_id"]) for line in detail["lines"]
    ) == [
        ("fee", "-2.90", None),
        ("payment", "100.00", payment.pk),
    ]


def test_auto_pay_is_cancelled_and_its_authorization_kept(api_client, customer):
    enrollment = Enrollment.objects.create(
        partner=customer.partner, customer=customer, authorization="I agree", evidence={"ip": "x"}
    )

    response = api_client.delete(f"/api/v1/autopay/enrollments/{enrollment.pk}")

    assert response.status_code == 204, response.content
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.CANCELLED
    assert enrollment.authorization == "I agree" and enrollment.evidence["ip"] == "x"
    assert AuditEntry.objects.filter(action="autopay.unenrolled").count() == 1
    listed = api_client.get("/api/v1/autopay/enrollments", {"status": "cancelled"}).json()
    assert [e["id"] for e in listed["items"]] == [enrollment.pk]
    assert api_client.get("/api/v1/autopay/enrollments", {"status": "active"}).json()["items"] == []
    again = api_client.delete(f"/api/v1/autopay/enrollments/{enrollment.pk}")
    assert again.status_code == 204
    assert AuditEntry.objects.filter(action="autopay.unenrolled").count() == 1
