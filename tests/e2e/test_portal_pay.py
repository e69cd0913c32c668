"""A customer opens their portal link and pays two invoices, one of them partly, by card.

The card number is typed on the sandbox processor's own page; arbridge sees a
token. Pay is double-clicked: the button disables itself and the server
charges once anyway.
"""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from arbridge.core import clock
from arbridge.ledger.models import Contact, Customer, Invoice, InvoiceLine, Payment
from arbridge.payments.models import Checkout
from arbridge.portal.models import PortalLink
from tests.e2e.test_invoice_list import screenshot

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]


def make_invoice(customer: Customer, number: str, total: str, due_in_days: int) -> Invoice:
    invoice = Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        issue_date=clock.today() - dt.timedelta(days=30),
        due_date=clock.today() + dt.timedelta(days=due_in_days),
        total=Decimal(total),
    )
    InvoiceLine.objects.create(
        partner_id=customer.partner_id,
        invoice=invoice,
        item="Managed services",
        description=f"Per-seat support, {number}",
        amount=Decimal(total),
    )
    return invoice


@pytest.fixture
def globex(partner) -> Customer:
    customer = Customer.objects.create(partner=partner, name="Globex Corporation")
    Contact.objects.create(
        partner=partner, customer=customer, email="hank@globex.example", is_billing=True
    )
    return customer


def test_a_customer_pays_two_invoices_one_partly_by_card(
    page: Page, live_server, processor, globex
):
    overdue = make_invoice(globex, "INV-1001", "1500.00", due_in_days=-5)
    current = make_invoice(globex, "INV-1002", "450.00", due_in_days=20)
    link = PortalLink.issue(globex)

    page.goto(f"{live_server.url}{link.get_absolute_url()}")
    expect(page.get_by_role("heading", name="Invoices for Globex Corporation")).to_be_visible()
    expect(page.locator("#open-invoices")).to_contain_text("Overdue")
    screenshot(page, "portal-invoices")

    page.get_by_label("Pay invoice INV-1001").check()
    page.get_by_label("Amount to pay on invoice INV-1001").fill("600.00")
    page.get_by_label("Pay invoice INV-1002").check()
    page.get_by_role("button", name="Pay selected invoices").click()

    expect(page.get_by_role("heading", name="How would you like to pay?")).to_be_visible()
    expect(page.locator("#checkout-lines")).to_contain_text("1,050.00 USD")
    page.get_by_label("Credit or debit card").check()
    page.get_by_role("button", name="Continue").click()

    # The processor's own page: the card number goes there, not to arbridge.
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    assert page.url.startswith(processor.credentials["base_url"])
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Review and pay")).to_be_visible()
    expect(page.get_by_text("Visa ending 4242")).to_be_visible()
    screenshot(page, "portal-review")
    page.get_by_role("button", name="Pay 1,050.00 USD").dblclick()

    expect(page.get_by_role("heading", name="Thank you for your payment")).to_be_visible()
    expect(page.locator("#checkout-lines")).to_contain_text("600.00 USD")
    expect(page.locator("#checkout-lines")).to_contain_text("450.00 USD")
    screenshot(page, "portal-receipt")

    checkout = Checkout.objects.get()
    assert checkout.status == Checkout.Status.SUCCEEDED
    expect(page.locator("#processor-reference")).to_have_text(checkout.processor_reference)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == Decimal("1050.00")
    overdue.refresh_from_db(), current.refresh_from_db()
    assert (overdue.balance, overdue.status) == (Decimal("900.00"), Invoice.Status.PARTIALLY_PAID)
    assert (current.balance, current.status) == (Decimal("0.00"), Invoice.Status.PAID)
