"""A customer turns auto pay on in the portal with a new card, then a bank account, then off.

The card and account numbers are typed on the sandbox processor's own page;
arbridge keeps its token, the words the customer agreed to, and the time,
address and browser they agreed from.
"""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from arbridge.autopay.models import Enrollment
from arbridge.ledger.models import Customer
from arbridge.portal.models import PortalLink
from tests.e2e.test_invoice_list import screenshot
from tests.numbers import assert_not_sent, assert_nowhere_in_database

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]
CARD = "4242 4242 4242 4242"
ACCOUNT = "000123456789"


@pytest.fixture
def globex(partner) -> Customer:
    return Customer.objects.create(
        partner=partner, name="Globex Corporation", email="ap@globex.example"
    )


def test_a_customer_enrolls_in_auto_pay_and_stops(
    page: Page, live_server, processor, partner, globex
):
    link = PortalLink.issue(globex)
    sent_to_arbridge = []
    page.on(
        "request",
        lambda r: (
            r.url.startswith(live_server.url)
            and sent_to_arbridge.append((r.url, r.post_data or ""))
        ),
    )
    page.goto(f"{live_server.url}{link.get_absolute_url()}")
    page.get_by_role("link", name="Turn on auto pay").click()
    expect(page.get_by_role("heading", name="Auto pay")).to_be_visible()

    page.get_by_role("button", name="Add a card").click()
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    assert page.url.startswith(processor.credentials["base_url"])
    page.get_by_label("Card number").fill(CARD)
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Turn on auto pay")).to_be_visible()
    expect(page.locator("#autopay-authorization")).to_contain_text(
        "I authorize Acme IT to charge the card shown"
    )
    screenshot(page, "portal-autopay-confirm")
    # Not agreed yet: refused, and nothing enrolled.
    page.get_by_role("button", name="Turn on auto pay").click()
    expect(page.get_by_role("alert")).to_contain_text("needs the authorization to be agreed to")
    assert not Enrollment.objects.exists()
    page.get_by_label("I agree to the authorization above").check()
    agreed_at = dt.datetime.now(dt.UTC)
    page.get_by_role("button", name="Turn on auto pay").click()

    expect(page.locator("#autopay-method")).to_have_text("Visa ending 4242")
    expect(page.get_by_text("Auto pay is on with Visa ending 4242.")).to_be_visible()
    screenshot(page, "portal-autopay-on")
    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.is_active and enrollment.source == Enrollment.Source.PORTAL
    assert enrollment.authorization.startswith("I authorize Acme IT to charge the card shown")
    assert enrollment.evidence["ip"] == "127.0.0.1"
    assert "Chrome" in enrollment.evidence["user_agent"]
    at = dt.datetime.fromisoformat(enrollment.evidence["at"])
    assert abs(at - agreed_at) < dt.timedelta(minutes=1)

    page.get_by_role("button", name="Turn off auto pay").click()
    expect(page.get_by_text("Auto pay is off.")).to_be_visible()
    expect(page.get_by_role("link", name="Use Visa ending 4242 for auto pay")).to_be_visible()
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.locator("#autopay-status")).to_contain_text("Turn on auto pay")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.CANCELLED
    assert "charge the card shown" in enrollment.authorization

    assert_not_sent(sent_to_arbridge, CARD)
    assert_nowhere_in_database(CARD)


def test_a_customer_enrolls_a_bank_account_with_its_mandate(
    page: Page, live_server, processor, partner, globex
):
    link = PortalLink.issue(globex)
    page.goto(f"{live_server.url}{link.get_absolute_url()}")
    page.get_by_role("link", name="Auto pay", exact=True).click()

    page.get_by_role("button", name="Add a bank account (ACH)").click()
    expect(page.get_by_role("heading", name="Pay by bank account (ACH)")).to_be_visible()
    page.get_by_label("Account holder").fill("Globex Corporation")
    page.get_by_label("Routing number").fill("110000000")
    page.get_by_label("Account number").fill(ACCOUNT)
    page.get_by_label("I authorize").check()
    page.get_by_role("button", name="Continue").click()

    mandate = page.locator("#autopay-authorization")
    expect(mandate).to_contain_text("debit the bank account shown")
    shown = mandate.inner_text()
    page.get_by_label("I agree to the authorization above").check()
    page.get_by_role("button", name="Turn on auto pay").click()

    expect(page.locator("#autopay-method")).to_contain_text("ending 6789")
    screenshot(page, "portal-autopay-ach")
    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.method.kind == "ach" and enrollment.authorization == shown
    assert "Chrome" in enrollment.evidence["user_agent"]
    assert_nowhere_in_database(ACCOUNT)
