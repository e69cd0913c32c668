"""A customer opens their portal link and pays two invoices, one of them partly, by card.

The invoices come from the sandbox QuickBooks, and the payment is written back
there, linked to both. The card number is typed on the sandbox processor's own
page; arbridge sees a token, and neither a request to arbridge nor a row of its
database holds the number. Pay is double-clicked: the button disables itself
and the server charges once anyway.
"""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Contact, Customer, Invoice, Payment
from arbridge.payments.models import Checkout
from arbridge.portal.models import PortalLink
from tests.e2e.test_invoice_list import screenshot
from tests.numbers import assert_not_sent, assert_nowhere_in_database

pytestmark = pytest.mark.browser
pytest_plugins = [
    "tests.payments.fixtures",
    "tests.portal.fixtures",
    "tests.integrations.qbo.fixtures",
]
CARD = "4242 4242 4242 4242"


@pytest.fixture
def books(qbo, company, sync) -> dict:
    """Globex owes two invoices in QuickBooks, one overdue; both synced into arbridge."""
    globex = company.customer("Globex Corporation", "ap@globex.example")
    today = dt.date.today()
    overdue = company.invoice(
        globex, "1500.00", DocNumber="INV-1001", DueDate=str(today - dt.timedelta(days=5))
    )
    current = company.invoice(
        globex, "450.00", DocNumber="INV-1002", DueDate=str(today + dt.timedelta(days=20))
    )
    sync(qbo)
    return {"overdue": overdue, "current": current}


def local(remote: dict) -> Invoice:
    ref = ExternalRef.objects.get(entity="invoice", remote_id=remote["Id"])
    return Invoice.objects.get(pk=ref.local_id)


@pytest.fixture
def globex(books) -> Customer:
    customer = local(books["overdue"]).customer
    Contact.objects.create(
        partner=customer.partner, customer=customer, email="hank@globex.example", is_billing=True
    )
    return customer


def test_a_customer_pays_two_invoices_one_partly_by_card(
    page: Page, live_server, processor, company, books, globex
):
    overdue, current = local(books["overdue"]), local(books["current"])
    link = PortalLink.issue(globex)
    # Everything the browser sends to arbridge (the processor is another server).
    sent_to_arbridge = []
    page.on(
        "request",
        lambda r: (
            r.url.startswith(live_server.url)
            and sent_to_arbridge.append((r.url, r.post_data or ""))
        ),
    )

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
    page.get_by_label("Card number").fill(CARD)
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

    # Written back to QuickBooks: one payment linked to both invoices, for what each got.
    [remote] = company.payments_of(books["overdue"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("1050.00")
    assert {line["LinkedTxn"][0]["TxnId"]: line["Amount"] for line in remote["Line"]} == {
        books["overdue"]["Id"]: Decimal("600.00"),
        books["current"]["Id"]: Decimal("450.00"),
    }
    assert Decimal(company.read("Invoice", books["overdue"]["Id"])["Balance"]) == Decimal("900.00")

    # The card number went to the processor only.
    assert sent_to_arbridge
    assert_not_sent(sent_to_arbridge, CARD)
    assert_nowhere_in_database(CARD)
