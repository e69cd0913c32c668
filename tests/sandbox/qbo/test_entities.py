"""Creating, reading, updating, deleting and voiding through the v3 API."""

from decimal import Decimal

from tests.sandbox.qbo.api import fault


def test_it_creates_and_reads_a_customer(qbo):
    created = qbo.customer(
        "Riverside Law LLP",
        PrimaryEmailAddr={"Address": "ap@riverside.example"},
        BillAddr={"Line1": "1 Main St", "City": "Austin", "CountrySubDivisionCode": "TX"},
    )

    read = qbo.read("Customer", created["Id"])
    assert read == created
    assert read["DisplayName"] == read["FullyQualifiedName"] == "Riverside Law LLP"
    assert read["SyncToken"] == "0"
    assert read["Active"] is True
    assert read["Balance"] == 0
    assert read["MetaData"]["CreateTime"] == read["MetaData"]["LastUpdatedTime"]


def test_it_builds_display_name_from_the_name_parts(qbo):
    customer = qbo.create("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace"})

    assert customer["DisplayName"] == "Ada Lovelace"


def test_it_refuses_a_duplicate_display_name(qbo):
    qbo.customer("Harbor Realty")

    response = qbo.post("customer", {"DisplayName": "harbor realty"})

    assert response.status_code == 400
    assert fault(response)["code"] == "6240"


def test_it_refuses_unknown_fields(qbo):
    response = qbo.post("customer", {"DisplayName": "Cedar Dental", "FavouriteColour": "blue"})

    assert response.status_code == 400
    assert fault(response)["code"] == "2010"
    assert "FavouriteColour" in fault(response)["Detail"]


def test_it_requires_a_customer_on_an_invoice(qbo):
    response = qbo.post("invoice", {"Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail"}]})

    assert response.status_code == 400
    assert fault(response)["code"] == "2020"


def test_an_invoice_totals_its_lines_and_follows_its_terms(qbo):
    net30 = qbo.query("SELECT * FROM Term WHERE Name = 'Net 30'")["Term"][0]
    customer = qbo.customer()
    lines = [
        {
            "DetailType": "SalesItemLineDetail",
            "Description": "Managed services, per device",
            "SalesItemLineDetail": {"Qty": 12, "UnitPrice": Decimal("45.50")},
        },
        {"Amount": Decimal("99.99"), "DetailType": "SalesItemLineDetail"},
    ]

    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TxnDate": "2026-03-02",
            "SalesTermRef": {"value": net30["Id"]},
            "Line": lines,
        },
    )

    assert invoice["TotalAmt"] == invoice["Balance"] == Decimal("645.99")
    assert [line.get("Amount") for line in invoice["Line"]] == [
        Decimal("546.00"),
        Decimal("99.99"),
        Decimal("645.99"),
    ]
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["Line"][1]["SalesItemLineDetail"]["ItemRef"]["name"] == "Services"
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Summit Dental Group"}
    assert invoice["SalesTermRef"]["name"] == "Net 30"
    assert invoice["DueDate"] == "2026-04-01"
    assert invoice["DocNumber"] == "1001"


def test_an_invoice_takes_its_customers_terms_and_address(qbo):
    net15 = qbo.query("SELECT * FROM Term WHERE Name = 'Net 15'")["Term"][0]
    address = {"Line1": "9 Harbor Way", "City": "Tampa", "PostalCode": "33602"}
    customer = qbo.customer(SalesTermRef={"value": net15["Id"]}, BillAddr=address)

    invoice = qbo.invoice(customer, "100.00", TxnDate="2026-01-10")

    assert invoice["DueDate"] == "2026-01-25"
    assert invoice["BillAddr"] == address


def test_a_stated_amount_must_match_quantity_times_rate(qbo):
    customer = qbo.customer()
    line = {
        "Amount": Decimal("100.00"),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"Qty": 3, "UnitPrice": Decimal("30")},
    }

    response = qbo.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})

    assert response.status_code == 400
    assert fault(response)["code"] == "6070"


def test_a_sparse_update_changes_only_what_it_names(qbo):
    customer = qbo.customer(PrimaryEmailAddr={"Address": "old@summit.example"})

    updated = qbo.write(
        "Customer",
        {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "PrimaryEmailAddr": {"Address": "ap@summit.example"},
        },
    )

    assert updated["SyncToken"] == "1"
    assert updated["PrimaryEmailAddr"] == {"Address": "ap@summit.example"}
    assert updated["DisplayName"] == "Summit Dental Group"


def test_a_full_update_replaces_the_entity(qbo):
    customer = qbo.customer(Notes="Prefers email", CompanyName="Summit Dental Group")

    updated = qbo.write(
        "Customer",
        {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "DisplayName": "Summit Dental"},
    )

    assert updated["DisplayName"] == "Summit Dental"
    assert "Notes" not in updated
    assert "CompanyName" not in updated


def test_an_update_with_a_stale_sync_token_is_refused(qbo):
    customer = qbo.customer()
    body = {"Id": customer["Id"], "SyncToken": "0", "sparse": True}
    qbo.write("Customer", {**body, "Notes": "first"})

    response = qbo.post("customer", {**body, "Notes": "second"})

    assert response.status_code == 400
    assert fault(response)["code"] == "5010"
    assert fault(response)["Message"] == "Stale Object Error"
    assert qbo.read("Customer", customer["Id"])["Notes"] == "first"


def test_updating_a_sparse_invoice_recomputes_its_total(qbo):
    invoice = qbo.invoice(qbo.customer(), "100.00")
    lines = [{"Amount": Decimal("75.00"), "DetailType": "SalesItemLineDetail"}]

    updated = qbo.write(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
    )

    assert updated["TotalAmt"] == updated["Balance"] == Decimal("75.00")
    assert updated["DocNumber"] == invoice["DocNumber"]


def test_deleting_an_invoice_leaves_nothing_to_read(qbo):
    invoice = qbo.invoice(qbo.customer(), "100.00")

    deleted = qbo.write("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")

    assert deleted == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}
    response = qbo.get(f"invoice/{invoice['Id']}")
    assert response.status_code == 400
    assert fault(response)["code"] == "610"
    assert "Invoice" not in qbo.query("SELECT * FROM Invoice")


def test_a_customer_cannot_be_deleted_only_made_inactive(qbo):
    customer = qbo.customer()

    response = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0"}, operation="delete")
    assert response.status_code == 400

    qbo.write("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert "Customer" not in qbo.query("SELECT * FROM Customer")
    inactive = qbo.query("SELECT * FROM Customer WHERE Active = false")["Customer"]
    assert [c["Id"] for c in inactive] == [customer["Id"]]


def test_voiding_an_invoice_zeroes_it_and_marks_its_note(qbo):
    invoice = qbo.invoice(qbo.customer(), "120.00", "30.00", PrivateNote="March services")

    voided = qbo.write(
        "Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void"
    )

    assert voided["TotalAmt"] == voided["Balance"] == 0
    assert all(line["Amount"] == 0 for line in voided["Line"])
    assert voided["PrivateNote"] == "Voided - March services"
    assert voided["SyncToken"] == "1"
    assert qbo.read("Invoice", invoice["Id"])["PrivateNote"].startswith("Voided")


def test_it_answers_a_fault_for_an_unknown_entity(qbo):
    response = qbo.post("spaceship", {"Name": "Enterprise"})

    assert response.status_code == 400
    assert fault(response)["Message"] == "Unsupported Operation"


def test_a_new_company_has_quickbooks_starting_lists(qbo):
    accounts = {a["Name"]: a for a in qbo.query("SELECT * FROM Account")["Account"]}
    terms = [t["Name"] for t in qbo.query("SELECT * FROM Term")["Term"]]

    assert accounts["Undeposited Funds"]["AccountSubType"] == "UndepositedFunds"
    assert accounts["Accounts Receivable (A/R)"]["Classification"] == "Asset"
    assert terms == ["Due on receipt", "Net 15", "Net 30", "Net 60"]


def test_company_info_names_the_company(qbo, realm):
    response = qbo.get(f"companyinfo/{realm}", minorversion="75")

    assert response.status_code == 200
    assert response.json()["CompanyInfo"]["CompanyName"] == "Acme IT Services"
