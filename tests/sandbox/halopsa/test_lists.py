"""List GETs: Halo's paging, ordering and the filters arbridge reads with."""

from decimal import Decimal


def names(rows):
    return [row["name"] for row in rows]


def test_a_list_answers_its_records_and_their_count(halo):
    halo.client("Bluebird Dental")
    halo.client("Cedar Law")

    body = halo.get("Client")

    assert body["record_count"] == 2
    assert names(body["clients"]) == ["Bluebird Dental", "Cedar Law"]


def test_pages_follow_page_no_and_page_size(halo):
    for number in range(5):
        halo.client(f"Client {number}")

    pages = [
        halo.get("Client", pageinate="true", page_size=2, page_no=page) for page in (1, 2, 3, 4)
    ]

    assert [names(page["clients"]) for page in pages] == [
        ["Client 0", "Client 1"],
        ["Client 2", "Client 3"],
        ["Client 4"],
        [],
    ]
    assert {(page["record_count"], page["page_size"]) for page in pages} == {(5, 2)}
    assert pages[1]["page_no"] == 2


def test_without_paging_count_limits_the_answer(halo):
    for number in range(3):
        halo.client(f"Client {number}")

    assert names(halo.get("Client", count=2)["clients"]) == ["Client 0", "Client 1"]


def test_order_and_orderdesc_sort_the_list(halo):
    for name in ("Cedar Law", "Anchor Realty", "Bluebird Dental"):
        halo.client(name)

    ordered = halo.get("Client", order="name", orderdesc="true")["clients"]

    assert names(ordered) == ["Cedar Law", "Bluebird Dental", "Anchor Realty"]


def test_lastupdatefromdate_answers_what_changed_since(halo, clock):
    old = halo.client("Bluebird Dental")
    halo.client("Cedar Law")
    since = clock.advance(minutes=10)
    halo.post("Client", {"id": old["id"], "website": "https://bluebird.example"})
    halo.client("Anchor Realty")

    changed = halo.get("Client", lastupdatefromdate=since.strftime("%Y-%m-%dT%H:%M:%S"))

    assert names(changed["clients"]) == ["Bluebird Dental", "Anchor Realty"]


def test_an_invoice_paid_since_counts_as_changed(halo, clock):
    invoice = halo.invoice(halo.client("Bluebird Dental"))
    since = clock.advance(minutes=10)

    halo.pay(invoice, "10.00")

    changed = halo.get("Invoice", lastupdatefromdate=since.isoformat())["invoices"]
    assert [(i["id"], i["amount_remaining"]) for i in changed] == [
        (invoice["id"], Decimal("90.00"))
    ]


def test_inactive_clients_and_users_are_listed_only_when_asked(halo):
    client = halo.client("Bluebird Dental")
    halo.client("Gone LLC", inactive=True)
    halo.user(client, "Ava Chen", "ava@bluebird.example", billing=True, inactive=True)

    assert names(halo.get("Client")["clients"]) == ["Bluebird Dental"]
    assert len(halo.get("Client", includeinactive="true")["clients"]) == 2
    assert halo.get("Users")["users"] == []
    assert len(halo.get("Users", includeinactive="true")["users"]) == 1


def test_users_filter_by_client(halo):
    bluebird, cedar = halo.client("Bluebird Dental"), halo.client("Cedar Law")
    halo.user(bluebird, "Ava Chen", "ava@bluebird.example", billing=True)
    halo.user(cedar, "Ben Diaz", "ben@cedar.example", billing=True)

    assert names(halo.get("Users", client_id=cedar["id"])["users"]) == ["Ben Diaz"]


def test_invoices_come_with_lines_only_when_asked(halo):
    halo.invoice(halo.client("Bluebird Dental"), ("Labor", 1, "165.00"))

    assert "lines" not in halo.get("Invoice")["invoices"][0]
    lines = halo.get("Invoice", includelines="true")["invoices"][0]["lines"]
    assert [line["item_shortdescription"] for line in lines] == ["Labor"]


def test_credit_notes_are_left_out_when_asked(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"))
    halo.credit(invoice, "10.00")

    assert halo.get("Invoice")["record_count"] == 2
    assert [i["id"] for i in halo.get("Invoice", includecredits="false")["invoices"]] == [
        invoice["id"]
    ]


def test_idonly_answers_every_id_at_once(halo):
    for number in range(3):
        halo.client(f"Client {number}")

    body = halo.get("Client", idonly="true", pageinate="true", page_size=1)

    assert body["clients"] == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_payments_filter_by_invoice(halo):
    client = halo.client("Bluebird Dental")
    first, second = halo.invoice(client), halo.invoice(client)
    halo.pay(first, "10.00")
    halo.pay(second, "20.00")

    rows = halo.get("InvoicePayment", invoice_id=second["id"])["invoicepayments"]

    assert [row["amount"] for row in rows] == [Decimal("20.00")]


def test_a_bad_filter_value_is_a_400(halo):
    assert halo.request("GET", "Client", params={"lastupdatefromdate": "soon"}).status_code == 400
    assert (
        halo.request("GET", "Client", params={"pageinate": "true", "page_no": 0}).status_code == 400
    )
