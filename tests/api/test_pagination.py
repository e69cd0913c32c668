import pytest

from arbridge.ledger.models import Customer


@pytest.fixture
def invoices(partner, customer, make_invoice):
    """Make 23 invoices, every third one paid and every other one for a second customer."""
    other = Customer.objects.create(partner=partner, name="Umbrella")
    return [
        make_invoice(
            other if n % 2 else customer,
            f"INV-{n:03}",
            status="paid" if n % 3 == 0 else "open",
            **({"balance": 0} if n % 3 == 0 else {}),
        )
        for n in range(23)
    ]


def walk(api_client, query: str) -> tuple[list[int], int]:
    """Follow next_cursor to the end; return the ids seen and the number of pages."""
    ids, pages, cursor = [], 0, None
    while True:
        url = f"/api/v1/invoices?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = api_client.get(url).json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("limit, pages", [(1, 23), (5, 5), (23, 1), (200, 1)])
def test_pages_cover_every_row_once(api_client, invoices, limit, pages):
    ids, seen_pages = walk(api_client, f"limit={limit}")

    assert ids == sorted((i.id for i in invoices), reverse=True)
    assert seen_pages == pages


def test_filtered_pages_cover_every_matching_row_once(api_client, invoices, customer):
    ids, pages = walk(api_client, f"limit=2&status=open&customer={customer.id}")

    expected = [i.id for i in invoices if i.customer_id == customer.id and i.status == "open"]
    assert ids == sorted(expected, reverse=True)
    assert pages == 4


def test_rows_added_while_paging_do_not_shift_the_pages(
    api_client, invoices, customer, make_invoice
):
    first = api_client.get("/api/v1/invoices?limit=10").json()
    make_invoice(customer, "INV-NEW")

    second = api_client.get(f"/api/v1/invoices?limit=10&cursor={first['next_cursor']}").json()

    assert [i["id"] for i in second["items"]] == [i.id for i in invoices[12:2:-1]]


def test_limit_defaults_to_50(api_client, customer, make_invoice):
    for n in range(51):
        make_invoice(customer, f"INV-{n}")

    body = api_client.get("/api/v1/invoices").json()

    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None
