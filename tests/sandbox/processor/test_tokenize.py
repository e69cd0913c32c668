"""The hosted tokenization page and POST /v1/tokens: numbers in, one-time tokens out."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.processor.api import BANK, CARD, Merchant

RETURN_URL = "https://arbridge.test/pay/abc/method?step=2"


def form(merchant, kind: str, **fields):
    return merchant.control.post(
        f"/tokenize/{merchant.account['id']}",
        data={"kind": kind, "return_url": RETURN_URL, **fields},
    )


def test_it_shows_a_card_form_naming_the_merchant(merchant):
    page = merchant.control.get(
        f"/tokenize/{merchant.account['id']}", params={"kind": "card", "return_url": RETURN_URL}
    )

    assert page.status_code == 200
    assert 'name="number"' in page.text and 'name="cvc"' in page.text
    assert "Acme IT" in page.text


def test_it_sends_the_browser_back_with_a_token(merchant):
    answer = form(merchant, "card", number="4242 4242 4242 4242", **CARD)

    assert answer.status_code == 303
    back = urlsplit(answer.headers["Location"])
    assert back.geturl().startswith("https://arbridge.test/pay/abc/method?")
    query = parse_qs(back.query)
    assert query["step"] == ["2"]
    method = merchant.get(f"/v1/methods/{query['token'][0]}")
    assert (method["kind"], method["brand"], method["last4"], method["funding"]) == (
        "card",
        "visa",
        "4242",
        "credit",
    )
    assert method["reusable"] is False


def test_a_bank_account_needs_the_mandate(merchant):
    fields = {**BANK, "account_number": "000123456789", "mandate": ""}
    refused = form(merchant, "ach", **fields)
    accepted = form(merchant, "ach", **{**fields, "mandate": "accepted"})

    assert refused.status_code == 400
    assert "Authorize the debit" in refused.text
    assert accepted.status_code == 303
    token = parse_qs(urlsplit(accepted.headers["Location"]).query)["token"][0]
    method = merchant.get(f"/v1/methods/{token}")
    assert (method["kind"], method["brand"], method["last4"]) == ("ach", "bank account", "6789")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"number": "4111111111111111"}, "Use a test card"),
        ({"number": "4242424242424242", "expiry": "13/30"}, "MM/YY"),
        ({"number": "4242424242424242", "expiry": "02/26"}, "expired"),
        ({"number": "4242424242424242", "cvc": "12"}, "security code"),
        ({"number": "4242424242424242", "postal_code": "941"}, "ZIP"),
    ],
)
def test_a_wrong_card_shows_the_form_again_without_its_number(merchant, fields, error):
    answer = form(merchant, "card", **{**CARD, **fields})

    assert answer.status_code == 400
    assert error in answer.text
    assert fields["number"] not in answer.text
    assert RETURN_URL.replace("&", "&amp;") in answer.text


def test_a_wrong_bank_account_shows_the_form_again(merchant):
    fields = {**BANK, "account_number": "000123456789", "mandate": "accepted"}
    wrong_routing = form(merchant, "ach", **{**fields, "routing_number": "021000021"})
    wrong_account = form(merchant, "ach", **{**fields, "account_number": "123"})

    assert wrong_routing.status_code == wrong_account.status_code == 400
    assert "test routing number 110000000" in wrong_routing.text
    assert "test account number" in wrong_account.text


def test_it_refuses_a_return_url_that_is_not_a_web_address(merchant):
    answer = merchant.control.get(
        f"/tokenize/{merchant.account['id']}",
        params={"kind": "card", "return_url": "javascript:alert(1)"},
    )

    assert answer.status_code == 400


def test_an_unknown_account_has_no_form(merchant):
    answer = merchant.control.get(
        "/tokenize/acct_nobody", params={"kind": "card", "return_url": RETURN_URL}
    )

    assert answer.status_code == 404


def test_the_api_makes_tokens_too(merchant):
    debit = merchant.get(f"/v1/methods/{merchant.token('4000056655665556')}")
    prepaid = merchant.get(f"/v1/methods/{merchant.token('5105105105105100')}")
    refused = merchant.post("/v1/tokens", {"kind": "card", "number": "4111111111111111", **CARD})

    assert (debit["brand"], debit["funding"]) == ("visa", "debit")
    assert (prepaid["brand"], prepaid["funding"]) == ("mastercard", "prepaid")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "number"


def test_a_token_belongs_to_its_account(sandbox, merchant):
    other = Merchant(sandbox)
    token = merchant.token()

    assert other.http.get(f"/v1/methods/{token}").status_code == 404
    assert other.pay(token).status_code == 400
