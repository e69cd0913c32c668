import pytest
from django.urls import reverse

from arbridge.ledger.models import Customer
from tests.dashboard.conftest import make_invoice

CUSTOMERS = reverse("dashboard:customers")


@pytest.fixture
def initech(partner) -> Customer:
    return Customer.objects.create(partner=partner, name="Initech", email="billing@initech.example")


@pytest.fixture
def archived(partner) -> Customer:
    customer = Customer.objects.create(partner=partner, name="Vandelay Industries")
    customer.archive()
    return customer


def names_in(response) -> list[str]:
    return [customer.name for customer in response.context["customers"]]


def test_it_lists_active_customers_with_invoice_counts(client, alice, invoice, initech, archived):
    make_invoice(initech, "INV-1002", "50.00")
    client.force_login(alice)
    response = client.get(CUSTOMERS)
    assert names_in(response) == ["Globex Corporation", "Initech"]
    rows = {c.name: (c.invoice_count, c.unpaid_count) for c in response.context["customers"]}
    assert rows == {"Globex Corporation": (1, 1), "Initech": (1, 1)}


@pytest.mark.parametrize(
    "archived_filter, names",
    [
        ("", ["Globex Corporation", "Initech"]),
        ("archived", ["Vandelay Industries"]),
        ("all", ["Globex Corporation", "Initech", "Vandelay Industries"]),
    ],
)
def test_it_filters_archived_customers(
    client, alice, customer, initech, archived, archived_filter, names
):
    client.force_login(alice)
    assert names_in(client.get(CUSTOMERS, {"archived": archived_filter})) == names


@pytest.mark.parametrize(
    "q, names", [("init", ["Initech"]), ("globex.example", ["Globex Corporation"]), ("zzz", [])]
)
def test_it_searches_by_name_or_email(client, alice, customer, initech, q, names):
    client.force_login(alice)
    assert names_in(client.get(CUSTOMERS, {"q": q})) == names


def test_htmx_gets_only_the_table(client, alice, customer, initech):
    client.force_login(alice)
    response = client.get(CUSTOMERS, {"q": "init"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "Initech" in page
    assert "Globex" not in page
    assert "<html" not in page


def test_the_customer_page_shows_billing_contacts_and_invoices(client, alice, customer, invoice):
    client.force_login(alice)
    response = client.get(reverse("dashboard:customer", args=[customer.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Globex Corporation" in page
    assert "hank@globex.example" in page
    # Homer is a contact but not a billing one.
    assert "homer@globex.example" not in page
    assert reverse("dashboard:invoice", args=[invoice.pk]) in page
    assert "INV-1001" in page
    assert "#58" in page
