"""Collect as a person would: the worklist, send now, a promise, a pause, a template previewed."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from arbridge.collections.models import CustomerPolicy
from arbridge.core import clock
from arbridge.ledger.models import Contact, Customer, Invoice
from tests.conftest import PASSWORD
from tests.e2e.test_invoice_list import screenshot

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]


@pytest.fixture
def globex(partner) -> Customer:
    customer = Customer.objects.create(partner=partner, name="Globex Corporation")
    Contact.objects.create(
        partner=partner, customer=customer, email="hank@globex.example", is_billing=True
    )
    Invoice.objects.create(
        partner=partner,
        customer=customer,
        number="INV-1001",
        issue_date=clock.today() - dt.timedelta(days=40),
        due_date=clock.today() - dt.timedelta(days=10),
        total=Decimal("1500.00"),
    )
    return customer


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_work_the_list_send_now_promise_pause_and_preview(
    page: Page, live_server, alice, globex, inbox
):
    sign_in(page, f"{live_server.url}/")
    page.get_by_role("link", name="Collections").click()
    row = page.locator("[data-testid=worklist] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Globex Corporation")
    expect(row).to_contain_text("1,500.00 USD")
    expect(row.locator("td").nth(2)).to_have_text("10")
    screenshot(page, "collections-worklist")

    row.get_by_role("button", name="Send now").click()
    expect(page.locator(".messages")).to_contain_text("Reminder sent to hank@globex.example")
    assert "INV-1001" in inbox.to("hank@globex.example")[0].get_content()
    expect(row).to_contain_text("by hand")

    row.get_by_role("link", name="Globex Corporation").click()
    page.get_by_label("Promised amount").fill("1500.00")
    page.get_by_label("Promised to pay by").fill(str(clock.today() + dt.timedelta(days=3)))
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text("Promise to pay recorded")
    page.get_by_label("Reason").fill("Waiting on their approver")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("paused")).to_be_visible()
    assert CustomerPolicy.objects.get(customer=globex).paused

    page.get_by_role("link", name="Collections", exact=True).first.click()
    expect(row).to_contain_text("Paused")
    expect(row).to_contain_text("Promised 1,500.00 USD")

    page.get_by_role("link", name="Sequences and templates").click()
    page.get_by_role("link", name="Standard").click()
    page.get_by_role("link", name="T+7").click()
    page.get_by_label("Subject").fill("{{ customer.name }}: {{ balance }} is a week late")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-subject")).to_have_text(
        "Globex Corporation: 1,500.00 USD is a week late"
    )
    expect(page.get_by_test_id("preview-body")).to_contain_text("INV-1001")
    screenshot(page, "collections-preview")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Step T+7 saved")
