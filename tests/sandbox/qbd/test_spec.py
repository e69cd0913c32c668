"""What we send QuickBooks Desktop and what the sandbox answers, against qbXML 7.0 and the WSDL."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.qbd import mapping, qbxml, soap, work
from arbridge.sandbox.qbd import Company, Processor
from arbridge.sandbox.qbd.webconnector import CLIENT_VERSION
from tests.sandbox.clock import Clock
from tests.sandbox.qbd.spec import problems, wsdl_methods

SINCE = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
PAYMENT = {
    "amount": "120.00",
    "date": "2026-03-02",
    "method": "card",
    "reference": "Visa 4242",
    "customer_remote_id": "80000001-1772400000",
    "allocations": [{"invoice_remote_id": "1A-1772400000", "amount": "120.00"}],
}
DEPOSIT = {
    "date": "2026-03-04",
    "deposit_account_id": "Checking",
    "fee_account_id": "Merchant Fees",
    "payments": [{"remote_id": "2B-1772400000", "amount": "120.00"}],
    "fees": "3.78",
    "surcharges": "2.00",
    "surcharge_account_id": "Surcharge Income",
}


@pytest.mark.parametrize(
    "request_xml",
    [
        qbxml.query("Customer", since=SINCE, max_returned=work.PAGE),
        qbxml.query("Invoice", since=SINCE, max_returned=work.PAGE, line_items=True),
        qbxml.query("Invoice", iterator="{abc}", max_returned=work.PAGE, line_items=True),
        qbxml.query("CreditMemo", since=None, max_returned=work.PAGE),
        qbxml.query("ReceivePayment", since=SINCE, max_returned=work.PAGE),
        qbxml.query("ReceivePayment", ref_numbers=[mapping.mark("payment:1:1")]),
        qbxml.deleted_query(work.DELETED_TXNS, SINCE),
        qbxml.deleted_query(("Customer",), SINCE, lists=True),
        qbxml.txn_del("ReceivePayment", "2B-1772400000"),
        mapping.receive_payment_add(PAYMENT, "payment:1:1", "Undeposited Funds"),
        mapping.deposit_lookup(DEPOSIT, "Checking"),
        mapping.deposit_add(DEPOSIT, "deposit:7:1", bank="Checking", fee_account="Merchant Fees"),
    ],
    ids=lambda xml: xml.split("<QBXMLMsgsRq")[1].split("<")[1].split(">")[0].split(" ")[0],
)
def test_every_request_arbridge_sends_is_qbxml_7(request_xml):
    assert problems(request_xml) == []


def test_every_answer_the_sandbox_gives_is_qbxml_7():
    clock = Clock()
    company = Company(clock=clock)
    processor = Processor(company)
    customer = company.add_customer("Bluebird Dental", "ap@bluebird.example", contact="Pat")
    invoice = company.add_invoice(customer, [("Managed services", Decimal("100.00"))])
    company.add_credit_memo(customer, Decimal("10.00"), invoice)
    paid = company.receive_payment(customer, [(invoice, Decimal("50.00"))], method="Credit Card")
    company.delete_txn("ReceivePayment", paid)
    key = "payment:1:1"
    payload = {**PAYMENT, "customer_remote_id": customer}
    payload["allocations"] = [{"invoice_remote_id": invoice, "amount": "90.00"}]
    command = Command("create_payment", payload, key)
    added = processor.process(mapping.receive_payment_add(dict(command.payload), key, None))
    payment_id = qbxml.text(qbxml.parse(added).rows[0], "TxnID")
    deposit = {
        **DEPOSIT,
        "date": clock().date().isoformat(),
        "payments": [{"remote_id": payment_id}],
    }

    answers = [
        processor.process(qbxml.query(entity, since=None, max_returned=work.PAGE, line_items=True))
        for entity in ("Customer", "Invoice", "CreditMemo", "ReceivePayment")
    ]
    answers += [
        added,
        processor.process(qbxml.deleted_query(work.DELETED_TXNS, None)),
        processor.process(
            mapping.deposit_add(deposit, "d:1", bank="Checking", fee_account="Merchant Fees")
        ),
        processor.process(mapping.deposit_lookup(deposit, "Checking")),
        processor.process(qbxml.txn_del("Invoice", "nope")),
    ]

    for answer in answers:
        assert problems(answer) == [], answer


def test_the_service_and_the_sandbox_web_connector_speak_the_wsdls_methods():
    methods = wsdl_methods()

    assert set(methods) == soap.METHODS
    assert methods["authenticate"] == ["strUserName", "strPassword"]
    assert methods["receiveResponseXML"] == ["ticket", "response", "hresult", "message"]
    assert methods["sendRequestXML"] == [
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ]
    assert CLIENT_VERSION.startswith("2.")
