"""The DataGate sandbox: seeded exports a partner downloads, whose rows add up."""

import csv
import io
from decimal import Decimal

import httpx

from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.datagate import demo
from arbridge.sandbox.datagate.exports import HEADERS, seed


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_seed_gives_the_same_file_every_time():
    assert seed(5, 12, rng_seed=4).export() == seed(5, 12, rng_seed=4).export()
    assert seed(5, 12, rng_seed=4).export() != seed(5, 12, rng_seed=5).export()


def test_each_invoices_charges_add_up_to_its_total_on_every_row():
    exported = rows(seed(4, 10).export())

    assert list(exported[0]) == list(HEADERS)
    by_invoice: dict[str, list[dict[str, str]]] = {}
    for row in exported:
        by_invoice.setdefault(row["Invoice Number"], []).append(row)
    assert len(by_invoice) == 10
    for charges in by_invoice.values():
        total = sum(Decimal(row["Amount"]) for row in charges)
        assert {row["Invoice Total"] for row in charges} == {str(total)}
        assert {row["Charge Type"] for row in charges} >= {"Recurring", "Usage", "Tax"}


def test_a_later_export_holds_only_what_changed_with_payments_and_voids():
    account = seed(3, 6)
    account.export()
    first, second = list(account.invoices)[:2]
    account.pay(first, Decimal("10.00"))
    account.void(second)

    later = rows(account.export())

    assert {row["Invoice Number"] for row in later} == {first, second}
    due = {row["Invoice Number"]: (row["Amount Due"], row["Status"]) for row in later}
    assert due[first] == (str(account.invoices[first].total - Decimal("10.00")), "Sent")
    assert due[second] == ("0", "Void")


def test_the_demo_serves_its_exports_to_download():
    account = demo.seed_demo(DemoRequest(base_url="http://demo.example/sandbox/datagate"))
    http = httpx.Client(transport=httpx.WSGITransport(app=demo.sandbox()), base_url="http://x")

    index = http.get("/exports/")
    november = http.get(f"/exports/{demo.NOVEMBER}")

    assert account.printed == (
        ("DataGate exports to upload", "http://demo.example/sandbox/datagate/exports/"),
    )
    assert demo.DECEMBER in index.text
    assert november.headers["content-type"].startswith("text/csv")
    assert len({row["Invoice Number"] for row in rows(november.content)}) == demo.INVOICES
    assert http.get("/exports/nothing.csv").status_code == 404
