"""The partner turns auto pay on, adds two rules, reorders them and enrolls a customer."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from arbridge.autopay.models import AutopaySettings, Enrollment, Rule
from arbridge.core import clock
from arbridge.ledger.models import Customer, Invoice
from arbridge.payments.models import SavedMethod
from tests.conftest import PASSWORD
from tests.e2e.test_invoice_list import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def globex(partner) -> Customer:
    customer = Customer.objects.create(partner=partner, name="Globex Corporation")
    SavedMethod.objects.create(
        partner=partner,
        customer=customer,
        processor="sandbox",
        token="pm_globex",
        kind="card",
        brand="visa",
        last4="4242",
    )
    Invoice.objects.create(
        partner=partner,
        customer=customer,
        number="INV-1001",
        issue_date=clock.today(),
        due_date=clock.today() + dt.timedelta(days=12),
        total=Decimal("640.00"),
        balance=Decimal("640.00"),
        terms="Net 30",
    )
    return customer


def add_rule(page: Page, trigger: str, days: str, terms: str = "") -> None:
    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Charge").select_option(label=trigger)
    page.get_by_label("Days").fill(days)
    page.get_by_label("Terms").fill(terms)
    page.get_by_role("button", name="Save rule").click()


def test_the_partner_sets_up_auto_pay_and_enrolls_a_customer(
    page: Page, live_server, alice, partner, globex
):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Auto pay").click()
    expect(page.get_by_role("heading", name="Auto pay", exact=True)).to_be_visible()

    page.get_by_label("Auto pay is on").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Auto pay settings saved.")).to_be_visible()
    add_rule(page, "days after the due date", "0")
    add_rule(page, "days before the due date", "2", "Net 30")
    rows = page.locator("#autopay-rules tbody tr")
    expect(rows.nth(0)).to_contain_text("0 days after the due date")
    page.get_by_role("button", name="Move rule 2 up").click()
    expect(rows.nth(0)).to_contain_text("2 days before the due date")
    expect(rows.nth(0)).to_contain_text("Net 30")
    screenshot(page, "dashboard-autopay")
    assert [str(r) for r in Rule.objects.order_by("priority")] == [
        "2 days before the due date",
        "0 days after the due date",
    ]
    assert AutopaySettings.of(partner).enabled

    page.goto(f"{live_server.url}/customers/{globex.pk}/")
    page.get_by_role("link", name="Enroll in auto pay").click()
    expect(page.get_by_text("I authorize Acme IT to charge the card shown")).to_be_visible()
    page.get_by_label("How the customer authorized it").fill("Signed form, Dec 1")
    page.get_by_label("The customer agreed to the authorization shown").check()
    page.get_by_role("button", name="Enroll").click()
    expect(page.get_by_test_id("customer-autopay")).to_contain_text("Visa ending 4242")
    expect(page.get_by_test_id("customer-autopay")).to_contain_text("by alice")
    enrollment = Enrollment.objects.get(customer=globex)
    assert enrollment.evidence["how"] == "Signed form, Dec 1"
    assert "Chrome" in enrollment.evidence["user_agent"]

    page.get_by_role("link", name="Auto pay").click()
    page.get_by_role("link", name="Upcoming charges (next 30 days)").click()
    charges = page.locator("#upcoming-charges tbody tr")
    expect(charges).to_have_count(1)
    due = clock.today() + dt.timedelta(days=10)
    expect(charges.first).to_contain_text(f"{due:%b} {due.day}, {due.year}")
    expect(charges.first).to_contain_text("640.00")
    screenshot(page, "dashboard-autopay-upcoming")
