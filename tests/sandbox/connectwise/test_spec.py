"""The sandbox's records have the fields and types of ConnectWise's published spec."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.connectwise.api import CW
from tests.sandbox.spec_types import check_scalar

SPEC = (
    Path(__file__).resolve().parents[4]
    / "shared/specs/connectwise/connectwise-manage-2025.8-partial-transcription.json"
)


@cache
def schemas() -> dict[str, Any]:
    return json.loads(SPEC.read_text())["components"]["schemas"]


def check(value: Any, declared: dict[str, Any], where: str) -> None:
    """Assert that a value has the type a spec property declares."""
    if "$ref" in declared:
        name = declared["$ref"].rsplit("/", 1)[-1]
        if name not in schemas():  # a *Reference the transcription left out: an object
            assert isinstance(value, dict) and isinstance(value.get("id"), int), where
            return
        declared = schemas()[name]
    if value is None:
        return  # the spec marks nearly every field nullable
    if check_scalar(value, declared, where):
        return
    kind = declared.get("type", "object")
    if kind == "array":
        assert isinstance(value, list), f"{where}: {value!r}"
    elif "properties" in declared:
        conforms(value, declared, where)
    else:
        assert isinstance(value, dict), f"{where}: {value!r}"


def conforms(record: dict[str, Any], declared: dict[str, Any], where: str) -> None:
    assert isinstance(record, dict), f"{where} is not an object"
    for name in declared.get("required", []):
        assert name in record, f"{where} lacks the required {name}"
    for name, value in record.items():
        assert name in declared["properties"], f"{where}.{name} is not in the spec"
        check(value, declared["properties"][name], f"{where}.{name}")


@pytest.fixture
def books(cw: CW) -> dict[str, Any]:
    company = cw.company("Bluebird Dental")
    invoice = cw.invoice(company, "100.00", billingTerms={"id": 1, "name": "Net 30"})
    payment = cw.pay(invoice, "25.00")
    callback = cw.post("/system/callbacks", {"url": "https://arbridge.test/cb", "objectId": 1,
                                             "type": "invoice", "level": "owner"})  # fmt: skip
    return {"invoice": invoice["id"], "payment": payment["id"], "callback": callback["id"]}


def test_invoices_follow_the_spec(cw: CW, books):
    conforms(cw.get(f"/finance/invoices/{books['invoice']}"), schemas()["Invoice"], "Invoice")


def test_invoice_payments_follow_the_spec(cw: CW, books):
    [payment] = cw.get(f"/finance/invoices/{books['invoice']}/payments")

    conforms(payment, schemas()["InvoicePayment"], "InvoicePayment")


def test_callbacks_follow_the_spec(cw: CW, books):
    callback = cw.get(f"/system/callbacks/{books['callback']}")

    conforms(callback, schemas()["CallbackEntry"], "CallbackEntry")
