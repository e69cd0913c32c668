from decimal import Decimal

from arbridge.ledger.models import Payment


def test_it_lists_payments_with_money_as_strings(api_client, partner, customer, connection):
    payment = Payment.objects.create(
        partner=partner,
        customer=customer,
        amount=Decimal("1250.50"),
        status=Payment.Status.SUCCEEDED,
        method=Payment.Method.ACH,
        origin=Payment.Origin.EXTERNAL,
        connection=connection,
        reference="CHK 1001",
    )

    [item] = api_client.get("/api/v1/payments").json()["items"]

    assert item["id"] == payment.id
    assert item["amount"] == "1250.50"
    assert item["currency"] == "USD"
    assert item["method"] == "ach"
    assert item["customer"] == {"id": customer.id, "name": "Globex"}
    assert item["connection"]["kind"] == "qbo"


def test_it_filters_payments(api_client, partner, customer):
    pending = Payment.objects.create(partner=partner, customer=customer, amount=Decimal(5))
    failed = Payment.objects.create(partner=partner, amount=Decimal(7), status="failed")

    def ids(query: str) -> list[int]:
        return [p["id"] for p in api_client.get(f"/api/v1/payments{query}").json()["items"]]

    assert ids("?status=pending") == [pending.id]
    assert ids("?status=failed") == [failed.id]
    assert ids(f"?customer={customer.id}") == [pending.id]


def test_it_gets_a_payment_with_the_invoices_it_pays(api_client, partner, customer, make_invoice):
    first = make_invoice(customer, "INV-1", "60.00")
    second = make_invoice(customer, "INV-2", "40.00")
    payment = Payment.objects.create(
        partner=partner, customer=customer, amount=Decimal("100.00"), status="succeeded"
    )
    payment.allocate(first, Decimal("60.00"))
    payment.allocate(second, Decimal("15.25"))

    body = api_client.get(f"/api/v1/payments/{payment.id}").json()

    assert body["amount"] == "100.00"
    assert sorted((a["invoice_number"], a["amount"]) for a in body["allocations"]) == [
        ("INV-1", "60.00"),
        ("INV-2", "15.25"),
    ]
