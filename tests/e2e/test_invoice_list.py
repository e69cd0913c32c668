"""Sign in, find invoices as a person would, and open one."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from arbridge.ledger.models import Customer, Invoice, InvoiceLine
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def make_invoice(customer: Customer, number: str, total: str, lines: list[tuple]) -> Invoice:
    invoice = Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        issue_date=dt.date(2025, 3, 1),
        due_date=dt.date(2025, 3, 31),
        total=Decimal(total),
        balance=Decimal(total),
    )
    for position, (item, description, quantity, price) in enumerate(lines, 1):
        InvoiceLine.objects.create(
            partner_id=customer.partner_id,
            invoice=invoice,
            position=position,
            item=item,
            description=description,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount=Decimal(quantity) * Decimal(price),
        )
    return invoice


@pytest.fixture
def invoices(partner) -> None:
    globex = Customer.objects.create(partner=partner, name="Globex Corporation")
    initech = Customer.objects.create(partner=partner, name="Initech")
    make_invoice(
        globex,
        "INV-1001",
        "1500.00",
        [
            ("Managed services", "Per-seat support", 20, 60),
            ("Backup", "Offsite backup, 1 TB", 1, 300),
        ],
    )
    make_invoice(initech, "INV-1002", "450.00", [("Firewall", "Firewall subscription", 1, 450)])
    paid = make_invoice(initech, "INV-1003", "99.00", [("Domain", "Domain renewal", 1, 99)])
    paid.set_source_balance(Decimal(0))


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot when ARBRIDGE_SCREENSHOT_DIR asks for them (to look at the pages)."""
    if directory := os.getenv("ARBRIDGE_SCREENSHOT_DIR"):
        page.screenshot(path=Path(directory) / f"{name}.png", full_page=True)


def test_sign_in_search_filter_and_open_an_invoice(page: Page, live_server, alice, invoices):
    page.goto(f"{live_server.url}/invoices/")
    # Not signed in: the login form, which returns to the invoices.
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()

    rows = page.locator("#invoice-table tbody tr")
    expect(rows).to_have_count(3)
    screenshot(page, "invoice-list")

    # Typing narrows the table in place (htmx) and keeps the URL shareable.
    page.get_by_label("Search invoices").fill("initech")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(f"{live_server.url}/invoices/?q=initech&status=")
    expect(page.locator("#invoice-table")).not_to_contain_text("Globex")

    page.get_by_label("Status").select_option("paid")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("INV-1003")
    expect(page).to_have_url(f"{live_server.url}/invoices/?q=initech&status=paid")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Search invoices").fill("")
    expect(rows).to_have_count(3)

    page.get_by_role("link", name="INV-1001").click()
    expect(page.get_by_role("heading", name="Invoice INV-1001")).to_be_visible()
    lines = page.locator("table.lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("Per-seat support")
    expect(lines.first).to_contain_text("1,200.00 USD")
    expect(page.locator("table.lines tfoot")).to_contain_text("1,500.00 USD")
    screenshot(page, "invoice")
