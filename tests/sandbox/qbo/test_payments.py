"""Payments, credit memos and deposits, and the balances they move."""

from decimal import Decimal

import pytest

from tests.sandbox.qbo.api import fault


@pytest.fixture
def customer(qbo):
    return qbo.customer()


@pytest.fixture
def invoice(qbo, customer):
    return qbo.invoice(customer, "300.00", "200.00")


def balance(qbo, entity: str, record: dict) -> Decimal:
    found = qbo.read(entity, record["Id"])
    return found["CurrentBalance"] if entity == "Account" else found["Balance"]


def undeposited_funds(qbo) -> dict:
    return qbo.query("SELECT * FROM Account WHERE AccountSubType = 'UndepositedFunds'")["Account"][
        0
    ]


def test_a_payment_lowers_the_invoice_balance(qbo, customer, invoice):
    payment = qbo.pay(customer, "150.00", ("Invoice", invoice, "150.00"))

    paid = qbo.read("Invoice", invoice["Id"])
    assert paid["Balance"] == Decimal("350.00")
    assert paid["TotalAmt"] == Decimal("500.00")
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert paid["SyncToken"] == "1"
    assert payment["UnappliedAmt"] == 0
    assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert balance(qbo, "Customer", customer) == Decimal("350.00")
    assert balance(qbo, "Account", undeposited_funds(qbo)) == Decimal("150.00")


def test_deleting_a_payment_restores_the_balance(qbo, customer, invoice):
    payment = qbo.pay(customer, "500.00", ("Invoice", invoice, "500.00"))
    assert balance(qbo, "Invoice", invoice) == 0

    qbo.write("Payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")

    restored = qbo.read("Invoice", invoice["Id"])
    assert restored["Balance"] == Decimal("500.00")
    assert "LinkedTxn" not in restored
    assert balance(qbo, "Customer", customer) == Decimal("500.00")
    assert balance(qbo, "Account", undeposited_funds(qbo)) == 0


def test_changing_a_payments_lines_moves_the_money(qbo, customer, invoice):
    other = qbo.invoice(customer, "80.00")
    payment = qbo.pay(customer, "100.00", ("Invoice", invoice, "100.00"))

    lines = [
        {"Amount": Decimal("80.00"), "LinkedTxn": [{"TxnId": other["Id"], "TxnType": "Invoice"}]}
    ]
    changed = qbo.write(
        "Payment",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True, "Line": lines},
    )

    assert changed["UnappliedAmt"] == Decimal("20.00")
    assert balance(qbo, "Invoice", invoice) == Decimal("500.00")
    assert balance(qbo, "Invoice", other) == 0
    # 500 owed on the first invoice, less the 20 the customer has paid ahead.
    assert balance(qbo, "Customer", customer) == Decimal("480.00")


def test_a_payment_with_no_lines_is_unapplied_credit(qbo, customer, invoice):
    payment = qbo.pay(customer, "75.00")

    assert payment["UnappliedAmt"] == Decimal("75.00")
    assert balance(qbo, "Invoice", invoice) == Decimal("500.00")
    assert balance(qbo, "Customer", customer) == Decimal("425.00")


def test_a_payment_cannot_apply_more_than_is_open(qbo, customer, invoice):
    qbo.pay(customer, "450.00", ("Invoice", invoice, "450.00"))

    response = qbo.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": Decimal("100.00"),
            "Line": [
                {"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )

    assert response.status_code == 400
    assert fault(response)["code"] == "6000"
    assert balance(qbo, "Invoice", invoice) == Decimal("50.00")


def test_a_payment_cannot_apply_more_than_its_total(qbo, customer, invoice):
    response = qbo.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": Decimal("10.00"),
            "Line": [{"Amount": 20, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )

    assert response.status_code == 400
    assert fault(response)["code"] == "6000"


def test_a_payment_cannot_pay_another_customers_invoice(qbo, invoice):
    stranger = qbo.customer("Stranger Things LLC")

    response = qbo.post(
        "payment",
        {
            "CustomerRef": {"value": stranger["Id"]},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )

    assert response.status_code == 400


def test_a_credit_memo_applied_by_a_zero_payment_lowers_the_invoice(qbo, customer, invoice):
    memo = qbo.invoice(customer, "40.00", entity="CreditMemo")
    assert memo["RemainingCredit"] == Decimal("40.00")
    assert balance(qbo, "Customer", customer) == Decimal("460.00")

    qbo.pay(customer, "0", ("Invoice", invoice, "40.00"), ("CreditMemo", memo, "40.00"))

    assert balance(qbo, "Invoice", invoice) == Decimal("460.00")
    assert qbo.read("CreditMemo", memo["Id"])["RemainingCredit"] == 0
    assert balance(qbo, "Customer", customer) == Decimal("460.00")


def test_an_invoice_with_a_payment_cannot_be_deleted_or_voided(qbo, customer, invoice):
    qbo.pay(customer, "10.00", ("Invoice", invoice, "10.00"))
    current = qbo.read("Invoice", invoice["Id"])
    body = {"Id": invoice["Id"], "SyncToken": current["SyncToken"]}

    for operation in ("delete", "void"):
        response = qbo.post("invoice", body, operation=operation)
        assert response.status_code == 400
        assert fault(response)["code"] == "6000"


def test_voiding_a_payment_reopens_its_invoice(qbo, customer, invoice):
    payment = qbo.pay(customer, "500.00", ("Invoice", invoice, "500.00"))

    voided = qbo.write(
        "Payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="update", include="void"
    )

    assert voided["TotalAmt"] == 0
    assert voided["PrivateNote"] == "Voided"
    assert balance(qbo, "Invoice", invoice) == Decimal("500.00")


def test_a_deposit_moves_payments_out_of_undeposited_funds(qbo, customer, invoice):
    checking = qbo.create("Account", {"Name": "Business Checking", "AccountType": "Bank"})
    fees = qbo.create("Account", {"Name": "Merchant Fees", "AccountType": "Expense"})
    first = qbo.pay(customer, "300.00", ("Invoice", invoice, "300.00"))
    second = qbo.pay(customer, "200.00", ("Invoice", invoice, "200.00"))

    deposit = qbo.create(
        "Deposit",
        {
            "DepositToAccountRef": {"value": checking["Id"]},
            "Line": [
                {"Amount": 300, "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Payment"}]},
                {"Amount": 200, "LinkedTxn": [{"TxnId": second["Id"], "TxnType": "Payment"}]},
                {
                    "Amount": Decimal("-14.50"),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": {"value": fees["Id"]}},
                },
            ],
        },
    )

    assert deposit["TotalAmt"] == Decimal("485.50")
    assert deposit["Line"][0]["LinkedTxn"][0]["TxnLineId"] == "0"
    assert balance(qbo, "Account", undeposited_funds(qbo)) == 0
    assert balance(qbo, "Account", checking) == Decimal("485.50")


def test_a_payment_is_deposited_once_and_whole(qbo, customer, invoice):
    checking = qbo.create("Account", {"Name": "Business Checking", "AccountType": "Bank"})
    payment = qbo.pay(customer, "300.00", ("Invoice", invoice, "300.00"))
    line = {"LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment"}]}
    body = {"DepositToAccountRef": {"value": checking["Id"]}}

    partial = qbo.post("deposit", {**body, "Line": [{**line, "Amount": 100}]})
    qbo.create("Deposit", {**body, "Line": [line]})
    again = qbo.post("deposit", {**body, "Line": [line]})

    assert partial.status_code == again.status_code == 400
    assert fault(again)["code"] == "6000"


def test_a_deposited_payment_cannot_be_deleted_until_its_deposit_is(qbo, customer, invoice):
    checking = qbo.create("Account", {"Name": "Business Checking", "AccountType": "Bank"})
    payment = qbo.pay(customer, "300.00", ("Invoice", invoice, "300.00"))
    deposit = qbo.create(
        "Deposit",
        {
            "DepositToAccountRef": {"value": checking["Id"]},
            "Line": [{"LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment"}]}],
        },
    )

    refused = qbo.post("payment", {"Id": payment["Id"], "SyncToken": "1"}, operation="delete")
    qbo.write("Deposit", {"Id": deposit["Id"], "SyncToken": "0"}, operation="delete")

    assert refused.status_code == 400
    assert fault(refused)["code"] == "6000"
    assert balance(qbo, "Account", undeposited_funds(qbo)) == Decimal("300.00")
    assert balance(qbo, "Account", checking) == 0
