"""The sandbox's routes and JSON against Halo's own API specification.

Every key the sandbox sends must be a property of the spec's schema for that
record, with the spec's JSON type (integers as integers, nullable only where
the spec allows null, date-times that parse), recursively for invoice lines
and payments; and every route it serves must be one the spec lists.
"""

from typing import Any

import pytest

from tests.sandbox.halopsa.api import Halo
from tests.sandbox.halopsa.spec import SPECS, conforms, schema, spec

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason="needs ../shared/specs/halopsa")

ROUTES = [
    ("get", "/Client"), ("post", "/Client"), ("get", "/Client/{id}"), ("delete", "/Client/{id}"),
    ("get", "/Users"), ("post", "/Users"), ("get", "/Users/{id}"), ("delete", "/Users/{id}"),
    ("get", "/ClientContract"), ("post", "/ClientContract"), ("get", "/ClientContract/{id}"),
    ("delete", "/ClientContract/{id}"), ("get", "/Invoice"), ("post", "/Invoice"),
    ("get", "/Invoice/{id}"), ("delete", "/Invoice/{id}"), ("post", "/Invoice/{id}/void"),
    ("post", "/Invoice/PDF/{id}"), ("get", "/InvoicePayment"), ("post", "/InvoicePayment"),
    ("get", "/InvoicePayment/{id}"), ("delete", "/InvoicePayment/{id}"), ("get", "/Webhook"),
    ("post", "/Webhook"), ("get", "/Webhook/{id}"), ("delete", "/Webhook/{id}"),
    ("get", "/Instance"),
]  # fmt: skip


@pytest.fixture
def billing(halo: Halo) -> dict[str, Any]:
    """One of everything, read back through the API (parsed as a plain JSON client would)."""
    client = halo.client("Bluebird Dental", "ap@bluebird.example", main_phonenumber="555-0100")
    halo.user(client, "Ava Chen", "ava@bluebird.example", billing=True)
    agreement = halo.agreement(client, "Managed Services", start_date="2026-01-01")
    invoice = halo.invoice(client, ("Labor", 2, "165.00"), agreement=agreement)
    halo.pay(invoice, "100.00", thirdpartyid="ACH 1")
    halo.credit(invoice, "10.00")
    halo.invoice(None, notes_1="No client")
    halo.post(
        "Webhook",
        {"url": "https://x.example", "authentication_type": 1, "basic_username": "u",
         "basic_password": "p"},
    )  # fmt: skip

    def read(path: str, **params: Any) -> Any:
        return halo.request("GET", path, params=params).json()

    return {
        "Area": read("Client")["clients"] + [read(f"Client/{client['id']}")],
        "Users": read("Users")["users"],
        "ContractHeader_List": read("ClientContract")["contracts"],
        "InvoiceHeader": read("Invoice", includelines="true")["invoices"]
        + [read(f"Invoice/{invoice['id']}")],
        "InvoicePayment_List": read("InvoicePayment")["invoicepayments"],
        "Webhook": read("Webhook"),
        "Instance": read("Instance"),
    }


@pytest.mark.parametrize(
    "name",
    ["Area", "Users", "ContractHeader_List", "InvoiceHeader", "InvoicePayment_List", "Webhook",
     "Instance"],
)  # fmt: skip
def test_records_carry_the_specs_names_and_types(billing, name):
    records = billing[name]

    assert records
    for position, record in enumerate(records):
        conforms(record, schema(name), f"{name}[{position}]")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_served_is_in_the_spec(method, path):
    assert method in spec()["paths"][path]
