"""`?requestid=`: a repeated id gets the first answer and does nothing more."""

from decimal import Decimal

from tests.sandbox.qbo.api import connect, fault


def test_a_repeated_requestid_returns_the_first_response_and_creates_once(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer, "100.00")
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": Decimal("100.00"),
        "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }

    first = qbo.post("payment", body, requestid="arbridge-pay-41")
    second = qbo.post("payment", body, requestid="arbridge-pay-41")

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert len(qbo.query("SELECT * FROM Payment")["Payment"]) == 1
    assert qbo.read("Invoice", invoice["Id"])["Balance"] == 0


def test_a_new_requestid_is_a_new_request(qbo):
    qbo.post("customer", {"DisplayName": "Cedar Dental"}, requestid="a")
    second = qbo.post("customer", {"DisplayName": "Harbor Law"}, requestid="b")

    assert second.json()["Customer"]["DisplayName"] == "Harbor Law"


def test_a_replayed_update_does_not_apply_again(qbo):
    customer = qbo.customer()
    update = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "called"}

    first = qbo.post("customer", update, requestid="note-1")
    again = qbo.post("customer", update, requestid="note-1")

    assert again.json() == first.json()
    assert qbo.read("Customer", customer["Id"])["SyncToken"] == "1"


def test_a_refused_request_is_replayed_as_refused(qbo):
    first = qbo.post("customer", {"Notes": "no name"}, requestid="bad-1")
    again = qbo.post("customer", {"DisplayName": "Now Named"}, requestid="bad-1")

    assert first.status_code == again.status_code == 400
    assert fault(again)["code"] == "2020"


def test_requestids_belong_to_one_company(sandbox, qbo):

    other_realm = sandbox.store.add_realm()
    other = connect(sandbox, other_realm)

    qbo.post("customer", {"DisplayName": "Cedar Dental"}, requestid="same")
    theirs = other.post("customer", {"DisplayName": "Harbor Law"}, requestid="same")

    assert theirs.json()["Customer"]["DisplayName"] == "Harbor Law"


def test_a_requestid_is_at_most_fifty_characters(qbo):
    response = qbo.post("customer", {"DisplayName": "Cedar Dental"}, requestid="x" * 51)

    assert response.status_code == 400
