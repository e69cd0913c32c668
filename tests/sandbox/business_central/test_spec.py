"""The sandbox answers as Business Central's OpenAPI (v1.0, with v2.0's additions) says."""

import json
from decimal import Decimal

import pytest

from arbridge.sandbox.business_central import seed
from tests.connectors.contract import payment_command
from tests.sandbox.business_central.spec import conforms, path_schema


@pytest.fixture
def filled(sandbox, account, books, bc):
    tenant, environment, company = account.split("/")
    seed(sandbox.store, tenant, environment, company, customers=3, invoices=6)
    invoice = books.list("salesInvoices")[0]
    bc.push(payment_command(invoice["id"], Decimal("10.00"), "payment:1:1"))
    return books


def raw(books, path, **params):
    """Return a list answer's records as a client without Decimals reads them."""
    response = books.http.get(path, params=params)
    assert response.is_success, response.text
    return json.loads(response.content)["value"]


@pytest.mark.parametrize(
    "entity_set",
    [
        "customers",
        "salesInvoices",
        "customerPaymentJournals",
        "generalLedgerEntries",
        "accounts",
        "bankAccounts",
    ],
)
def test_lists_conform_to_the_spec(filled, entity_set):
    records = raw(filled, entity_set)
    name = path_schema(f"/companies({{company_id}})/{entity_set}")

    assert records
    for n, record in enumerate(records):
        conforms(record, name, f"{entity_set}[{n}]")


def test_invoices_with_their_lines_conform(filled):
    for invoice in raw(filled, "salesInvoices", **{"$expand": "salesInvoiceLines"}):
        conforms(invoice, "salesInvoice")
        assert invoice["salesInvoiceLines"]
        for line in invoice["salesInvoiceLines"]:
            conforms(line, "salesInvoiceLine")


def test_journal_lines_conform(sandbox, books, bc):
    customer = books.customer("Globex", "ap@globex.example")
    invoice = books.invoice(customer, "10.00")
    journal = bc.journals.payment_journal()
    line = {"documentNumber": "X1", "amount": Decimal("5.00"), "appliesToInvoiceId": invoice["id"]}
    books.call("POST", f"customerPaymentJournals({journal['id']})/customerPayments", line)
    general = books.call("POST", "journals", {"code": "TEST"})
    bank = books.account_id("CHECKING", "bankAccounts")
    books.call(
        "POST",
        f"journals({general['id']})/journalLines",
        {
            "accountType": "Bank Account",
            "accountId": bank,
            "documentNumber": "X2",
            "amount": Decimal("1.00"),
        },
    )

    for record in raw(books, f"customerPaymentJournals({journal['id']})/customerPayments"):
        conforms(record, "customerPayment")
    for record in raw(books, f"journals({general['id']})/journalLines"):
        conforms(record, "journalLine")
    conforms(books.read("journals", general["id"]), "journal")


def test_errors_are_odata_errors(books):
    response = books.http.get("salesInvoices(00000000-0000-0000-0000-000000000000)")

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message"}
