"""Reading lists: pages with a Link header, conditions, fields and order."""

from tests.sandbox.connectwise.api import CW


def test_it_pages_with_a_link_to_the_next_page(cw: CW):
    for number in range(5):
        cw.company(f"Client {number}")

    first = cw.api.get("/company/companies", params={"pageSize": 2, "orderBy": "id asc"})
    second = cw.api.get(first.links["next"]["url"])
    third = cw.api.get(second.links["next"]["url"])

    names = [row["name"] for page in (first, second, third) for row in page.json()]
    assert names == [f"Client {number}" for number in range(5)]
    assert "next" not in third.links


def test_it_refuses_pages_of_more_than_1000(cw: CW):
    response = cw.api.get("/finance/invoices", params={"pageSize": 1001})

    assert response.status_code == 400


def test_it_filters_on_last_updated(cw: CW, clock):
    old = cw.company("Old Client")
    clock.advance(hours=1)
    new = cw.company("New Client")

    rows = cw.get("/company/companies", conditions="lastUpdated > [2026-03-02T17:30:00Z]")

    assert [row["id"] for row in rows] == [new["id"]]
    assert old["id"] not in [row["id"] for row in rows]


def test_it_filters_with_in_and_nested_fields(cw: CW):
    a, b, c = cw.company("A"), cw.company("B"), cw.company("C")
    cw.invoice(a, "10.00")
    kept = cw.invoice(b, "20.00")
    cw.invoice(c, "30.00")

    rows = cw.get(
        "/finance/invoices",
        conditions=f'company/id in ({b["id"]}, 999) and total >= 15 and type = "standard"',
    )

    assert [row["id"] for row in rows] == [kept["id"]]


def test_it_refuses_conditions_it_cannot_read(cw: CW):
    response = cw.api.get("/finance/invoices", params={"conditions": "total >> 3"})

    assert response.status_code == 400


def test_it_answers_only_the_fields_asked_for(cw: CW):
    cw.company("Bluebird Dental")

    assert cw.get("/company/companies", fields="id") == [{"id": 1}]


def test_a_deleted_company_stays_flagged(cw: CW):
    company = cw.company("Harbor Logistics")

    assert cw.delete(f"/company/companies/{company['id']}").status_code == 204

    assert cw.get(f"/company/companies/{company['id']}")["deletedFlag"] is True


def test_a_deleted_invoice_is_gone(cw: CW):
    invoice = cw.invoice(cw.company("Harbor Logistics"), "10.00")

    cw.delete(f"/finance/invoices/{invoice['id']}")

    assert cw.api.get(f"/finance/invoices/{invoice['id']}").status_code == 404


def test_billing_contacts_are_flagged(cw: CW):
    company = cw.company("Cedar Law Group")
    cw.contact(company, "Pat", "Partner", "pat@cedar.example")
    billing = cw.contact(company, "Ada", "Payable", "ap@cedar.example", billing=True)

    rows = cw.get("/company/contacts", conditions="defaultBillingFlag = true")

    assert [row["id"] for row in rows] == [billing["id"]]


def test_it_serves_an_invoice_pdf(cw: CW):
    invoice = cw.invoice(cw.company("Cedar Law Group"), "10.00")

    response = cw.api.get(f"/finance/invoices/{invoice['id']}/pdf")

    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_products_are_found_by_the_invoices_they_are_billed_on(cw: CW):
    company = cw.company("Bluebird Dental")
    first, second, third = (cw.invoice(company, "45.00") for _ in range(3))
    for invoice in (first, second, third):
        cw.product(invoice, "MANAGED-SVC", 1, "45.00")

    rows = cw.get("/procurement/products",
                  conditions=f"invoice/id in ({first['id']}, {third['id']})")  # fmt: skip

    assert [row["invoice"]["id"] for row in rows] == [first["id"], third["id"]]
    assert rows[0]["invoice"]["identifier"] == first["invoiceNumber"]
    assert rows[0]["extPrice"] == 45


def test_a_deleted_invoice_leaves_its_products_unbilled(cw: CW):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "250.00")
    product = cw.product(invoice, "ONSITE-HR", 2, "125.00")

    cw.delete(f"/finance/invoices/{invoice['id']}")

    assert cw.get(f"/procurement/products/{product['id']}")["invoice"] is None
    assert cw.get("/procurement/products", conditions="invoice/id > 0") == []
