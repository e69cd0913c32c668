"""Each test card: what a charge does, on session and off, and the authentication step."""

from urllib.parse import parse_qs, urlsplit

import pytest

from arbridge.sandbox.common.wire import loads


@pytest.mark.parametrize(
    ("number", "brand", "funding"),
    [
        ("4242424242424242", "visa", "credit"),
        ("5555555555554444", "mastercard", "credit"),
        ("4000056655665556", "visa", "debit"),
        ("5105105105105100", "mastercard", "prepaid"),
    ],
)
def test_good_cards_are_charged_at_once(merchant, number, brand, funding):
    response = merchant.pay(merchant.token(number), "250.00")

    payment = loads(response.content)
    assert response.status_code == 200
    assert payment["status"] == "succeeded"
    assert payment["amount"] == loads(b"250.00")
    assert (payment["method"]["brand"], payment["method"]["funding"]) == (brand, funding)
    assert merchant.kinds() == [("payment.succeeded", payment["id"])]


@pytest.mark.parametrize(
    ("number", "decline", "code"),
    [
        ("4000000000009979", "hard", "stolen_card"),
        ("4000000000000002", "hard", "generic_decline"),
        ("4000000000009995", "soft", "insufficient_funds"),
    ],
)
def test_declined_cards_answer_402_with_the_failed_payment(merchant, number, decline, code):
    response = merchant.pay(merchant.token(number))

    error = loads(response.content)["error"]
    assert response.status_code == 402
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        code,
    )
    assert error["payment"]["status"] == "failed"
    assert (error["payment"]["decline"], error["payment"]["error_code"]) == (decline, code)
    assert error["message"] == error["payment"]["error_message"]
    assert merchant.kinds() == [("payment.failed", error["payment"]["id"])]
    assert merchant.payouts() == []


def test_a_token_is_used_once(merchant):
    token = merchant.token()
    merchant.pay(token)

    again = merchant.pay(token)

    assert again.status_code == 400
    assert again.json()["error"]["code"] == "token_already_used"


def test_a_card_that_asks_to_authenticate_waits_for_the_customer(merchant):
    payment = merchant.paid(
        merchant.token("4000002500003155"), return_url="https://arbridge.test/pay/abc/done"
    )

    assert payment["status"] == "requires_action"
    assert payment["action_url"] == f"http://processor.test/authenticate/{payment['id']}"
    page = merchant.control.get(payment["action_url"])
    assert "Approve" in page.text and "Fail" in page.text and "3155" in page.text
    assert merchant.events() == []


@pytest.mark.parametrize(
    ("decision", "status", "event"),
    [("approve", "succeeded", "payment.succeeded"), ("fail", "failed", "payment.failed")],
)
def test_the_authentication_page_decides_and_sends_the_customer_back(
    merchant, decision, status, event
):
    payment = merchant.paid(
        merchant.token("4000002500003155"), return_url="https://arbridge.test/pay/abc/done?x=1"
    )

    answer = merchant.control.post(payment["action_url"], data={"decision": decision})

    assert answer.status_code == 303
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/pay/abc/done"
    assert parse_qs(back.query) == {"x": ["1"], "payment": [payment["id"]], "status": [status]}
    assert merchant.payment(payment["id"])["status"] == status
    assert merchant.kinds() == [(event, payment["id"])]
    # A second answer changes nothing.
    merchant.control.post(payment["action_url"], data={"decision": "approve"})
    assert merchant.payment(payment["id"])["status"] == status
    assert len(merchant.events()) == 1


def test_a_payment_awaiting_authentication_can_be_canceled(merchant):
    waiting = merchant.paid(merchant.token("4000002500003155"))
    done = merchant.paid(merchant.token())

    canceled = merchant.post(f"/v1/payments/{waiting['id']}/cancel")
    refused = merchant.post(f"/v1/payments/{done['id']}/cancel")

    assert canceled.json()["status"] == "canceled"
    assert refused.status_code == 400
    assert refused.json()["error"]["payment"]["status"] == "succeeded"
    page = merchant.control.get(waiting["action_url"])
    assert "canceled" in page.text and "Approve" not in page.text


def saved(merchant, number: str) -> dict:
    response = merchant.post(
        "/v1/methods",
        {
            "token": merchant.token(number),
            "customer_name": "Summit Dental",
            "email": "ap@summit.example",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_saved_method_is_reusable_and_belongs_to_a_customer(merchant):
    method = saved(merchant, "4242424242424242")

    first = merchant.paid(method["id"], off_session=True)
    second = merchant.paid(method["id"], off_session=True, customer=method["customer"])
    stranger = merchant.pay(method["id"], customer="cus_someone_else")

    assert method["id"].startswith("pm_") and method["reusable"] is True
    assert method["customer"].startswith("cus_")
    assert first["status"] == second["status"] == "succeeded"
    assert stranger.status_code == 400


def test_off_session_charges_need_a_saved_method(merchant):
    answer = merchant.pay(merchant.token(), off_session=True)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "method_not_saved"


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("4000002500003155", "succeeded", None),  # set up once, then charged without asking
        ("4000002760003184", "failed", "authentication_required"),
        ("4000000000000341", "failed", "generic_decline"),
        ("4000000000009995", "failed", "insufficient_funds"),
    ],
)
def test_saved_cards_charged_off_session(merchant, number, status, code):
    payment = merchant.paid(saved(merchant, number)["id"], off_session=True)

    assert (payment["status"], payment["error_code"]) == (status, code)


def test_a_card_that_always_authenticates_asks_on_session_even_once_saved(merchant):
    payment = merchant.paid(saved(merchant, "4000002760003184")["id"])

    assert payment["status"] == "requires_action"


def test_a_charge_can_save_its_method(merchant):
    payment = merchant.paid(merchant.token(), save_method=True)
    declined = merchant.paid(merchant.token("4000000000000002"), save_method=True)

    method = payment["saved_method"]
    assert method["reusable"] is True and method["customer"] == payment["customer"]
    assert merchant.paid(method["id"], off_session=True)["status"] == "succeeded"
    assert declined["saved_method"] is None
