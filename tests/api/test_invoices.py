import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.ledger.models import Credit, Customer, InvoiceLine, Payment


def numbers(api_client, query: str = "") -> list[str]:
    response = api_client.get(f"/api/v1/invoices{query}")
    assert response.status_code == 200, response.content
    return [i["number"] for i in response.json()["items"]]


def test_it_lists_invoices_with_money_as_strings(api_client, customer, connection, make_invoice):
    invoice = make_invoice(
        customer, "INV-1001", "1234.50", connection=connection, due_date=dt.date(2025, 3, 31)
    )

    [item] = api_client.get("/api/v1/invoices").json()["items"]

    assert item["id"] == invoice.id
    assert item["number"] == "INV-1001"
    assert item["total"] == "1234.50"
    assert item["balance"] == "1234.50"
    assert item["currency"] == "USD"
    assert item["status"] == "open"
    assert item["issue_date"] == "2025-03-01"
    assert item["due_date"] == "2025-03-31"
    assert item["customer"] == {"id": customer.id, "name": "Globex"}
    assert item["connection"] == {"id": connection.id, "kind": "qbo", "name": "Acme books"}


def test_it_filters_by_number_status_customer_and_connection(
    api_client, partner, customer, connection, make_invoice
):
    other_customer = Customer.objects.create(partner=partner, name="Umbrella")
    halo = Connection.objects.create(partner=partner, kind="halopsa", role="secondary")
    make_invoice(customer, "A-1", connection=connection)
    make_invoice(customer, "A-2", connection=halo, status="paid", balance=Decimal(0))
    make_invoice(other_customer, "B-1", connection=connection)
    make_invoice(other_customer, "B-2", status="void", balance=Decimal(0))

    assert numbers(api_client) == ["B-2", "B-1", "A-2", "A-1"]
    assert numbers(api_client, "?number=A-2") == ["A-2"]
    assert numbers(api_client, "?number=A") == []
    assert numbers(api_client, "?status=open") == ["B-1", "A-1"]
    assert numbers(api_client, f"?customer={customer.id}") == ["A-2", "A-1"]
    assert numbers(api_client, f"?connection={connection.id}") == ["B-1", "A-1"]
    assert numbers(api_client, f"?connection={halo.id}") == ["A-2"]
    assert numbers(api_client, f"?customer={other_customer.id}&status=open") == ["B-1"]
    assert numbers(api_client, f"?customer={customer.id}&connection={halo.id}") == ["A-2"]


def test_it_filters_by_update_time(api_client, customer, make_invoice):
    with time_machine.travel(dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        make_invoice(customer, "OLD")
    with time_machine.travel(dt.datetime(2025, 4, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        make_invoice(customer, "NEW")

    assert numbers(api_client, "?updated_since=2025-04-01T09:00:00Z") == ["NEW", "OLD"]
    assert numbers(api_client, "?updated_since=2025-04-01T09:00:01Z") == ["NEW"]
    assert numbers(api_client, "?updated_since=2025-04-02T10:00:00%2B01:00") == ["NEW"]
    assert numbers(api_client, "?updated_since=2025-04-02T09:00:00-01:00") == []


@pytest.mark.parametrize(
    "value", ["2025-04-02T09:00:00", "2025-04-02", "1743584400", "9999-12-31T23:59:59-01:00"]
)
def test_update_time_needs_a_full_timestamp_with_offset(api_client, value):
    response = api_client.get("/api/v1/invoices", {"updated_since": value})

    assert response.status_code == 422
    assert "updated_since" in response.json()["error"]["message"]


def test_it_gets_an_invoice_with_lines_allocations_and_credits(
    api_client, partner, customer, make_invoice
):
    invoice = make_invoice(customer, "INV-7", "300.00", memo="March services")
    InvoiceLine.objects.create(
        partner=partner,
        invoice=invoice,
        position=1,
        item="Managed seats",
        quantity=Decimal("12"),
        unit_price=Decimal("20.8333"),
        amount=Decimal("250.00"),
    )
    InvoiceLine.objects.create(
        partner=partner, invoice=invoice, position=2, item="Backup", amount=Decimal("50.00")
    )
    payment = Payment.objects.create(
        partner=partner,
        customer=customer,
        amount=Decimal("100.00"),
        status=Payment.Status.SUCCEEDED,
        date=dt.date(2025, 3, 10),
    )
    payment.allocate(invoice, Decimal("100.00"))
    Credit.apply(invoice, Decimal("25.00"), reference="goodwill")

    response = api_client.get(f"/api/v1/invoices/{invoice.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["memo"] == "March services"
    assert (body["total"], body["balance"], body["status"]) == (
        "300.00",
        "175.00",
        "partially_paid",
    )
    assert [
        (line["item"], line["quantity"], line["unit_price"], line["amount"])
        for line in body["lines"]
    ] == [
        ("Managed seats", "12.0000", "20.8333", "250.00"),
        ("Backup", "1.0000", "0.0000", "50.00"),
    ]
    assert body["allocations"] == [
        {
            "payment_id": payment.id,
            "amount": "100.00",
            "payment_status": "succeeded",
            "payment_date": "2025-03-10",
        }
    ]
    assert [(c["amount"], c["reference"]) for c in body["credits"]] == [("25.00", "goodwill")]


@pytest.mark.parametrize("count", [2, 20])
def test_listing_takes_the_same_queries_for_any_number_of_rows(
    api_client, partner, connection, make_invoice, django_assert_max_num_queries, count
):
    for n in range(count):
        customer = Customer.objects.create(partner=partner, name=f"Customer {n}")
        make_invoice(customer, f"INV-{n}", connection=connection)
    api_client.get("/api/v1/invoices")  # the first request records the key's last use

    # The key, then the page with its customers and connections joined.
    with django_assert_max_num_queries(2):
        response = api_client.get("/api/v1/invoices")

    assert len(response.json()["items"]) == count


def test_overdue_invoices_are_unpaid_and_past_due(api_client, customer, make_invoice):
    today = clock.today()
    late = make_invoice(customer, "INV-LATE", due_date=today - dt.timedelta(days=1))
    make_invoice(customer, "INV-DUE-TODAY", due_date=today)
    make_invoice(
        customer, "INV-PAID-LATE", status="paid", balance=0, due_date=today - dt.timedelta(days=9)
    )

    def numbers(overdue: str) -> list[str]:
        items = api_client.get("/api/v1/invoices", {"overdue": overdue}).json()["items"]
        return [i["number"] for i in items]

    assert numbers("true") == [late.number]
    assert numbers("false") == ["INV-PAID-LATE", "INV-DUE-TODAY"]
