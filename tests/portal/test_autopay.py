"""Auto pay in the portal: a customer enrolls a card or bank account, sees it, and stops.

The card or account number is typed on the sandbox processor's own page (an
httpx client, as in test_pay.py); arbridge's pages are the Django test client.
"""

import datetime as dt

import pytest
from django.urls import reverse

from arbridge.autopay.enrollment import keep_method
from arbridge.autopay.models import Enrollment
from arbridge.core import clock
from arbridge.core.models import AuditEntry
from arbridge.payments.models import SavedMethod
from tests.portal.fixtures import enter_method, local

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

VISA = "4242424242424242"
ACCOUNT = "000123456789"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"


@pytest.fixture(autouse=True)
def collecting(processor):
    """Every test here collects through the sandbox processor."""


def add(portal, partner, kind: str, number: str) -> SavedMethod:
    """Add a method on the auto pay page, type it at the processor, come back to confirm it."""
    response = portal.post(
        reverse("portal:autopay_add_method", args=[partner.slug]), {"kind": kind}
    )
    assert response.status_code == 302
    back = enter_method(response["Location"], number)
    response = portal.get(local(back))
    method = SavedMethod.objects.get(last4=number[-4:])
    assert response["Location"] == reverse("portal:autopay_confirm", args=[partner.slug, method.pk])
    return method


def confirm(portal, partner, method: SavedMethod, **data):
    url = reverse("portal:autopay_confirm", args=[partner.slug, method.pk])
    return portal.post(url, data, HTTP_USER_AGENT=BROWSER)


def page(portal, partner) -> str:
    response = portal.get(reverse("portal:autopay", args=[partner.slug]))
    assert response.status_code == 200
    return response.content.decode()


def invoices_page(portal, partner) -> str:
    return portal.get(reverse("portal:invoices", args=[partner.slug])).content.decode()


def test_a_customer_enrolls_a_new_card(portal, partner, globex):
    assert "Turn on auto pay" in invoices_page(portal, partner)
    assert "Add a card" in page(portal, partner)

    method = add(portal, partner, "card", VISA)
    screen = portal.get(reverse("portal:autopay_confirm", args=[partner.slug, method.pk]))
    assert "I authorize Acme IT to charge the card shown" in screen.content.decode()
    before = clock.now()
    response = confirm(portal, partner, method, agree="on")

    assert response["Location"] == reverse("portal:autopay", args=[partner.slug])
    shown = page(portal, partner)
    assert "Visa ending 4242" in shown and "Turn off auto pay" in shown
    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.status == Enrollment.Status.ACTIVE and enrollment.is_active
    assert enrollment.source == Enrollment.Source.PORTAL
    assert enrollment.method == method and method.customer == globex
    assert "charge the card shown" in enrollment.authorization
    assert enrollment.evidence["ip"] == "127.0.0.1"
    assert enrollment.evidence["user_agent"] == BROWSER
    assert dt.datetime.fromisoformat(enrollment.evidence["at"]) >= before
    assert AuditEntry.objects.get(action="autopay.enrolled").target == str(globex)
    assert "Auto pay is on with Visa ending 4242" in invoices_page(portal, partner)


def test_a_bank_account_is_enrolled_with_its_debit_mandate_kept(portal, partner, globex):
    method = add(portal, partner, "ach", ACCOUNT)

    screen = portal.get(reverse("portal:autopay_confirm", args=[partner.slug, method.pk]))
    mandate = screen.context["authorization"]
    assert "debit the bank account shown" in mandate and mandate in screen.content.decode()
    confirm(portal, partner, method, agree="on")

    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.is_active and enrollment.method.kind == "ach"
    assert enrollment.authorization == mandate
    assert enrollment.evidence["user_agent"] == BROWSER and enrollment.evidence["ip"]
    assert "ending 6789" in page(portal, partner)


def test_a_saved_method_is_enrolled_without_typing_it_again(portal, partner, globex, tokenize):
    method = keep_method(globex, tokenize(VISA))
    assert "Use Visa ending 4242 for auto pay" in page(portal, partner)

    confirm(portal, partner, method, agree="on")

    assert Enrollment.objects.get(customer=globex).method == method


def test_nothing_is_enrolled_until_the_authorization_is_agreed_to(
    portal, partner, globex, tokenize
):
    method = keep_method(globex, tokenize(VISA))

    response = confirm(portal, partner, method)

    assert response.status_code == 400
    assert "needs the authorization to be agreed to" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_a_customer_un_enrolls_and_the_evidence_stays(portal, partner, globex, tokenize):
    method = keep_method(globex, tokenize(VISA))
    confirm(portal, partner, method, agree="on")

    response = portal.post(reverse("portal:autopay_unenroll", args=[partner.slug]))

    assert response["Location"] == reverse("portal:autopay", args=[partner.slug])
    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.status == Enrollment.Status.CANCELLED
    assert enrollment.evidence["user_agent"] == BROWSER
    assert enrollment.evidence["cancelled_by"] == "portal"
    assert "charge the card shown" in enrollment.authorization
    shown = page(portal, partner)
    assert "Turn off auto pay" not in shown and "Use Visa ending 4242 for auto pay" in shown


def test_a_removed_method_cannot_be_enrolled(portal, partner, globex, tokenize):
    method = keep_method(globex, tokenize(VISA))
    method.removed_at = clock.now()
    method.save()

    response = confirm(portal, partner, method, agree="on")

    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_a_method_the_processor_refuses_is_not_kept(portal, partner, globex):
    response = portal.get(reverse("portal:autopay_tokenized", args=[partner.slug]) + "?token=tok_x")

    assert response["Location"] == reverse("portal:autopay", args=[partner.slug])
    assert not SavedMethod.objects.exists()


def test_another_customers_method_cannot_be_enrolled(
    portal, partner, globex, initech, umbrella, tokenize, other_partner
):
    theirs = keep_method(initech, tokenize(VISA))
    url = reverse("portal:autopay_confirm", args=[partner.slug, theirs.pk])

    assert portal.get(url).status_code == 404
    assert portal.post(url, {"agree": "on"}).status_code == 404
    assert "4242" not in page(portal, partner)
    assert not Enrollment.objects.exists()


def test_another_partners_method_cannot_be_enrolled(portal, partner, umbrella):
    theirs = SavedMethod.objects.create(
        partner=umbrella.partner,
        customer=umbrella,
        processor="sandbox",
        token="pm_umbrella",
        kind="card",
        brand="visa",
        last4="1881",
    )

    response = confirm(portal, partner, theirs, agree="on")

    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_un_enrolling_stops_only_the_visitors_own_auto_pay(
    portal, partner, globex, initech, tokenize
):
    theirs = Enrollment.enroll(keep_method(initech, tokenize(VISA)), source="partner")

    portal.post(reverse("portal:autopay_unenroll", args=[partner.slug]))

    theirs.refresh_from_db()
    assert theirs.status == Enrollment.Status.ACTIVE


def test_auto_pay_needs_a_portal_session(client, partner):
    response = client.get(reverse("portal:autopay", args=[partner.slug]))

    assert response["Location"] == reverse("portal:billing_link", args=[partner.slug])


def test_switching_methods_keeps_the_authorization_it_replaces(portal, partner, globex, tokenize):
    card = keep_method(globex, tokenize(VISA))
    confirm(portal, partner, card, agree="on")
    assert "Add a bank account" in page(portal, partner)
    account = add(portal, partner, "ach", ACCOUNT)
    assert "Use another method" in page(portal, partner)

    confirm(portal, partner, account, agree="on")

    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.method == account and "debit the bank account" in enrollment.authorization
    [earlier] = enrollment.evidence["earlier"]
    assert "charge the card shown" in earlier["authorization"]
    assert earlier["evidence"]["user_agent"] == BROWSER and earlier["method"] == str(card)
    shown = page(portal, partner)
    assert "ending 6789" in shown and "Use Visa ending 4242 for auto pay" in shown
