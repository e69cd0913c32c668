import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from arbridge.core.models import Membership
from arbridge.ledger.models import Customer
from tests.dashboard.conftest import make_invoice

INVOICES = reverse("dashboard:invoices")


@pytest.fixture
def more_invoices(customer, invoice, partner):
    """Initech's two invoices beside Globex's INV-1001."""
    initech = Customer.objects.create(partner=partner, name="Initech")
    make_invoice(initech, "INV-1002", "99.00", due_date=dt.date(2025, 4, 30))
    paid = make_invoice(initech, "INV-2001", "10.00")
    paid.set_source_balance(0)


def numbers_in(response) -> list[str]:
    return [invoice.number for invoice in response.context["invoices"]]


def test_it_lists_invoices(client, alice, invoice, more_invoices):
    client.force_login(alice)
    response = client.get(INVOICES)
    assert response.status_code == 200
    assert numbers_in(response) == ["INV-2001", "INV-1002", "INV-1001"]
    page = response.content.decode()
    assert "Globex Corporation" in page
    assert "1,500.00 USD" in page
    assert "1,000.00 USD" in page
    assert "Partially paid" in page


def test_a_viewer_may_read_invoices(client, bob, invoice):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    client.force_login(bob)
    assert numbers_in(client.get(INVOICES)) == ["INV-1001"]


@pytest.mark.parametrize(
    "q, numbers",
    [
        ("INV-1002", ["INV-1002"]),
        ("inv-100", ["INV-1002", "INV-1001"]),
        ("initech", ["INV-2001", "INV-1002"]),
        ("Globex", ["INV-1001"]),
        ("nobody", []),
    ],
)
def test_it_searches_by_number_or_customer(client, alice, more_invoices, q, numbers):
    client.force_login(alice)
    assert numbers_in(client.get(INVOICES, {"q": q})) == numbers


@time_machine.travel(dt.datetime(2025, 4, 15, 12, tzinfo=dt.UTC), tick=False)
@pytest.mark.parametrize(
    "status, numbers",
    [
        ("paid", ["INV-2001"]),
        ("open", ["INV-1002"]),
        ("partially_paid", ["INV-1001"]),
        ("overdue", ["INV-1001"]),
        ("void", []),
        ("", ["INV-2001", "INV-1002", "INV-1001"]),
        ("bogus", ["INV-2001", "INV-1002", "INV-1001"]),
    ],
)
def test_it_filters_by_status(client, alice, more_invoices, status, numbers):
    client.force_login(alice)
    assert numbers_in(client.get(INVOICES, {"status": status})) == numbers


def test_search_and_filter_combine(client, alice, more_invoices):
    client.force_login(alice)
    assert numbers_in(client.get(INVOICES, {"q": "initech", "status": "open"})) == ["INV-1002"]


def test_htmx_gets_only_the_table(client, alice, more_invoices):
    client.force_login(alice)
    response = client.get(INVOICES, {"q": "initech"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "INV-1002" in page
    assert "INV-1001" not in page
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client, alice, more_invoices):
    client.force_login(alice)
    response = client.get(
        INVOICES,
        {"q": "initech"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    page = response.content.decode()
    assert "<html" in page
    assert 'value="initech"' in page


def test_it_paginates_keeping_the_search(client, alice, customer):
    for n in range(55):
        make_invoice(customer, f"P-{n:03}", "1.00")
    make_invoice(customer, "OTHER-1", "1.00")
    client.force_login(alice)
    first = client.get(INVOICES, {"q": "P-"})
    assert len(numbers_in(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert "?q=P-&amp;page=2" in first.content.decode()
    second = client.get(INVOICES, {"q": "P-", "page": 2})
    assert numbers_in(second) == [f"P-{n:03}" for n in range(4, -1, -1)]


def test_the_invoice_page_shows_lines_payments_credits_and_links(client, alice, invoice):
    client.force_login(alice)
    response = client.get(reverse("dashboard:invoice", args=[invoice.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Invoice INV-1001" in page
    assert "Globex Corporation" in page
    assert "Partially paid" in page
    # Lines: quantity, unit price and amount.
    assert "Per-seat support, March" in page
    assert '<td class="num">20</td>' in page
    assert '<td class="num">60.00</td>' in page
    assert "1,200.00 USD" in page
    assert "Offsite backup, 1 TB" in page
    # The card payment and the credit memo.
    assert "ch_4242" in page
    assert "400.00 USD" in page
    assert "CM-7" in page
    assert "100.00 USD" in page
    # Balance after both.
    assert "1,000.00 USD" in page
    # The record it is linked to in QuickBooks.
    assert "<code>1337</code>" in page
    assert "QuickBooks Online" in page


def test_the_invoice_page_of_an_unknown_id_is_404(client, alice, invoice):
    client.force_login(alice)
    response = client.get(reverse("dashboard:invoice", args=[invoice.pk + 1000]))
    assert response.status_code == 404


def test_the_list_costs_the_same_queries_for_many_rows(
    client, alice, partner, django_assert_max_num_queries
):
    for n in range(30):
        customer = Customer.objects.create(partner=partner, name=f"Customer {n}")
        make_invoice(customer, f"INV-{n}", "10.00")
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        response = client.get(INVOICES)
    assert len(numbers_in(response)) == 30
