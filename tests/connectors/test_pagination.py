import json
from urllib.parse import parse_qs

import httpx
import pytest

from arbridge.connectors.base import PermanentError
from arbridge.connectors.pagination import (
    BodyLinkPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    pages,
)

RECORDS = [{"Id": str(n)} for n in range(1, 8)]  # seven records: pages of 3, 3 and 1


class Vendor:
    """Serve RECORDS the way each vendor pages them; `next_page` may be set to misbehave."""

    def __init__(self, records=RECORDS, next_page=None):
        self.records = records
        self.next_page = next_page or (lambda page, size: page + 1)
        self.requests: list[str] = []

    def __call__(self, environ, start_response):
        query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
        self.requests.append(environ["PATH_INFO"] + "?" + environ["QUERY_STRING"])
        headers = [("Content-Type", "application/json")]
        path = environ["PATH_INFO"]
        if path == "/v3/company/1/query":
            # QuickBooks Online: STARTPOSITION is 1-based.
            start, size = int(query["startposition"]), int(query["maxresults"])
            page = self.records[start - 1 : start - 1 + size]
            body = {"QueryResponse": {"Invoice": page, "startPosition": start} if page else {}}
        elif path == "/api.xro/2.0/Invoices":
            number, size = int(query["page"]), 3
            body = {"Invoices": self.records[(number - 1) * size : number * size]}
        elif path == "/company/companies":
            number, size = int(query["page"]), int(query["pageSize"])
            body = self.records[(number - 1) * size : number * size]
            if number * size < len(self.records):
                following = self.next_page(number, size)
                headers.append(
                    (
                        "Link",
                        f"<https://cw.test/company/companies?page={following}&pageSize={size}>;"
                        f' rel="next", <https://cw.test/company/companies?page=3&pageSize={size}>;'
                        ' rel="last"',
                    )
                )
        elif path in ("/v1.0/Companies/query", "/v1.0/Companies/query/next"):
            number, size = int(query.get("page", 1)), 3
            more = number * size < len(self.records)
            following = self.next_page(number, size)
            body = {
                "items": self.records[(number - 1) * size : number * size],
                "pageDetails": {
                    "count": size,
                    "nextPageUrl": (
                        f"https://{environ['HTTP_HOST']}/v1.0/Companies/query/next?page={following}"
                        if more
                        else None
                    ),
                    "prevPageUrl": None,
                },
            }
        else:
            start_response("404 Not Found", headers)
            return [b"{}"]
        start_response("200 OK", headers)
        return [json.dumps(body).encode()]

    def client(self, base_url="https://vendor.test"):
        return httpx.Client(transport=httpx.WSGITransport(app=self), base_url=base_url)


def ids(responses, records):
    return [record["Id"] for response in responses for record in records(response)]


def qbo_invoices(response):
    return response.json()["QueryResponse"].get("Invoice", [])


def test_an_offset_pages_until_a_page_comes_back_short():
    client = Vendor().client()
    paginator = OffsetPaginator(1, 3, records=qbo_invoices)
    responses = pages(
        paginator,
        lambda start: client.get(
            "/v3/company/1/query", params={"startposition": start, "maxresults": 3}
        ),
    )
    assert ids(responses, qbo_invoices) == [str(n) for n in range(1, 8)]
    assert paginator.count == 3
    assert paginator.finished


def test_an_offset_ends_on_an_empty_page_when_the_last_page_is_full():
    vendor = Vendor(records=RECORDS[:6])
    client = vendor.client()
    paginator = OffsetPaginator(1, 3, records=qbo_invoices)
    responses = pages(
        paginator,
        lambda start: client.get(
            "/v3/company/1/query", params={"startposition": start, "maxresults": 3}
        ),
    )
    assert ids(responses, qbo_invoices) == [str(n) for n in range(1, 7)]
    assert vendor.requests[-1] == "/v3/company/1/query?startposition=7&maxresults=3"


def test_page_numbers_count_up_until_a_page_comes_back_short():
    client = Vendor().client()

    def invoices(response):
        return response.json()["Invoices"]

    paginator = PageNumberPaginator(page_size=3, records=invoices)
    responses = pages(paginator, lambda n: client.get("/api.xro/2.0/Invoices", params={"page": n}))
    assert ids(responses, invoices) == [str(n) for n in range(1, 8)]
    assert paginator.current_value == 3


def test_it_follows_the_link_header():
    vendor = Vendor()
    client = vendor.client("https://cw.test")
    paginator = LinkHeaderPaginator("https://cw.test/company/companies?page=1&pageSize=3")
    responses = pages(paginator, client.get)
    assert ids(responses, httpx.Response.json) == [str(n) for n in range(1, 8)]
    assert vendor.requests == [
        "/company/companies?page=1&pageSize=3",
        "/company/companies?page=2&pageSize=3",
        "/company/companies?page=3&pageSize=3",
    ]


def test_it_follows_a_url_in_the_body():
    vendor = Vendor()
    client = vendor.client("https://webservices5.autotask.net")
    paginator = BodyLinkPaginator(
        "https://webservices5.autotask.net/v1.0/Companies/query", "pageDetails.nextPageUrl"
    )

    def items(response):
        return response.json()["items"]

    assert ids(pages(paginator, client.get), items) == [str(n) for n in range(1, 8)]
    assert paginator.current_value == (
        "https://webservices5.autotask.net/v1.0/Companies/query/next?page=3"
    )


def test_a_body_without_the_path_is_an_error_not_the_last_page():
    client = Vendor().client()
    paginator = BodyLinkPaginator("https://vendor.test/v1.0/Companies/query", "paging.nextPageUrl")
    with pytest.raises(PermanentError, match="the page has no paging.nextPageUrl"):
        list(pages(paginator, client.get))


@pytest.mark.parametrize(
    ("next_page", "repeated"),
    [
        (lambda page, size: page, "page=1"),  # the same page again
        (lambda page, size: 1 if page == 2 else page + 1, "page=1"),  # back to the start
    ],
)
def test_a_link_that_loops_is_refused(next_page, repeated):
    client = Vendor(next_page=next_page).client("https://cw.test")
    paginator = LinkHeaderPaginator("https://cw.test/company/companies?page=1&pageSize=3")
    with pytest.raises(PermanentError, match=f"pagination loop: page '.*{repeated}.*'"):
        list(pages(paginator, client.get))
    assert paginator.count <= 2


def test_a_body_link_that_loops_is_refused():
    client = Vendor(next_page=lambda page, size: 2).client()
    paginator = BodyLinkPaginator(
        "https://vendor.test/v1.0/Companies/query", "pageDetails.nextPageUrl"
    )
    with pytest.raises(
        PermanentError,
        match=r"page 'https://vendor.test/v1.0/Companies/query/next\?page=2' was already requested",
    ):
        list(pages(paginator, client.get))


def test_a_finished_paginator_does_not_advance():
    client = Vendor().client()
    paginator = OffsetPaginator(1, 1000, records=qbo_invoices)
    response = client.get("/v3/company/1/query", params={"startposition": 1, "maxresults": 1000})
    paginator.advance(response)
    assert paginator.finished
    with pytest.raises(RuntimeError):
        paginator.advance(response)
