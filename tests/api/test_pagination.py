import pytest

from arbridge.api.views import api
from arbridge.hooks.models import Delivery, Endpoint, Event
from arbridge.ledger.models import Contact, Customer, Invoice
from arbridge.portal.models import PortalLink
from tests.api.conftest import make_rows
from tests.api.test_isolation import resource


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


# -- every paged list, from the OpenAPI document ------------------------------------------

SCHEMA = api.get_openapi_schema()


def is_page(operation: dict) -> bool:
    ref = operation["responses"][200]["content"]["application/json"]["schema"].get("$ref", "")
    fields = SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("properties", {})
    return {"items", "next_cursor"} <= set(fields)


PAGED = [
    path
    for path, operations in SCHEMA["paths"].items()
    if "get" in operations and is_page(operations["get"])
]
# Lists in an order of their own (the API docs say which), not newest first.
OTHER_ORDER = {"/api/v1/autopay/upcoming", "/api/v1/figures/aging"}
# Lists under one row: the path's parent model, and how to give that parent three more children.
NESTED = {
    "/api/v1/customers/{id}/contacts": lambda rows: [
        Contact.objects.create(
            partner_id=rows[Customer].partner_id, customer=rows[Customer], name=f"Contact {n}"
        )
        for n in range(3)
    ],
    "/api/v1/customers/{id}/portal-links": lambda rows: (
        [PortalLink.issue(rows[Customer]) for _ in range(2)] + [rows[PortalLink]]
    ),
    "/api/v1/webhook-endpoints/{id}/deliveries": lambda rows: (
        [
            Delivery.objects.create(
                partner_id=rows[Endpoint].partner_id,
                endpoint=rows[Endpoint],
                event=Event.objects.create(
                    partner_id=rows[Endpoint].partner_id,
                    key=f"more-{n}",
                    type="invoice.paid",
                    data={},
                ),
            )
            for n in range(2)
        ]
        + [rows[Delivery]]
    ),
}


@pytest.fixture
def three_of_everything(partner) -> list[dict]:
    """Make three rows of every resource the API serves, for alice's partner."""
    made = []
    for name in ("Able", "Baker", "Charlie"):
        rows = make_rows(partner, name)
        # make_rows gives each partner one of these, under fixed names.
        Invoice.objects.filter(pk=rows[Invoice].pk).update(number=f"{name}-INV-1")
        Event.objects.filter(partner=partner, key="k").update(key=f"{name}-k")
        made.append(rows)
    return made


def walk_pages(client, url: str, limit: int) -> list[dict]:
    """Follow next_cursor from the first page to the last; return every item seen."""
    items, cursor = [], None
    while True:
        body = client.get(url, {"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        items += body["items"]
        if (cursor := body["next_cursor"]) is None:
            return items


def test_every_paged_list_is_tried():
    assert "/api/v1/invoices" in PAGED and "/api/v1/figures/aging" in PAGED
    assert {p for p in PAGED if "{" in p} == set(NESTED)


@pytest.mark.parametrize("path", PAGED)
def test_pages_of_one_give_every_row_once_newest_first(api_client, three_of_everything, path):
    if "{" in path:
        parent = three_of_everything[0]
        children = NESTED[path](parent)
        url = path.replace("{id}", str(parent[resource(path)].pk))
        expected = sorted((c.pk for c in children), reverse=True)
    else:
        url = path
        if path not in OTHER_ORDER:
            model = resource(path)
            expected = sorted((rows[model].pk for rows in three_of_everything), reverse=True)

    walked = walk_pages(api_client, url, limit=1)

    whole = api_client.get(url, {"limit": 200}).json()
    assert whole["next_cursor"] is None
    assert len(walked) >= 3
    assert walked == whole["items"]  # every row once, in the list's own order
    if path not in OTHER_ORDER:
        assert [item["id"] for item in walked] == expected
