from arbridge.ledger.models import Contact, Customer


def test_it_lists_customers_newest_first(api_client, partner, customer):
    newer = Customer.objects.create(partner=partner, name="Umbrella", billing_state="CA")

    items = api_client.get("/api/v1/customers").json()["items"]

    assert [c["id"] for c in items] == [newer.id, customer.id]
    assert items[0]["name"] == "Umbrella"
    assert items[0]["billing_state"] == "CA"
    assert items[1]["email"] == "ap@globex.example"
    assert items[1]["is_unknown"] is False


def test_it_marks_a_connections_unknown_customer(api_client, partner, connection):
    unknown = Customer.objects.create(partner=partner, name="Unknown", unknown_for=connection)

    item = api_client.get(f"/api/v1/customers/{unknown.id}").json()

    assert item["name"] == "Unknown"
    assert item["is_unknown"] is True


def test_it_gets_a_customer_with_contacts(api_client, partner, customer):
    Contact.objects.create(
        partner=partner,
        customer=customer,
        name="Pat Payable",
        email="pat@globex.example",
        is_billing=True,
    )

    response = api_client.get(f"/api/v1/customers/{customer.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Globex"
    assert [(c["name"], c["email"], c["is_billing"]) for c in body["contacts"]] == [
        ("Pat Payable", "pat@globex.example", True)
    ]


def test_customers_are_found_by_name_or_email_and_archived_or_not(api_client, partner, customer):
    gone = Customer.objects.create(partner=partner, name="Umbrella", archived=True)

    def names(**query):
        return [c["name"] for c in api_client.get("/api/v1/customers", query).json()["items"]]

    assert names(search="glob") == ["Globex"]
    assert names(search="AP@GLOBEX") == ["Globex"]
    assert names(archived="false") == ["Globex"]
    assert names(archived="true") == [gone.name]
    assert names(search="brella", archived="false") == []
