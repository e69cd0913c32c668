"""Faults and the rate limit: how a test makes the processor fail."""

import httpx

from arbridge.sandbox.processor import create_app
from tests.sandbox.processor.api import Merchant


def test_injected_errors_fail_api_calls_only(merchant):
    switched = merchant.control.post(
        "/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["503"]}
    )

    answer = merchant.http.get("/v1/account")

    assert switched.status_code == 200
    assert answer.status_code == 503
    assert answer.json()["error"]["type"] == "api_error"
    assert (
        merchant.control.get("/_sandbox/stats").json()["accounts"][merchant.account["id"]]["faults"]
        == 1
    )


def test_a_timeout_is_carried_out_then_answered_504(merchant):
    token = merchant.token()
    merchant.control.post(
        "/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["timeout"], "timeout_ms": 0}
    )
    body = {"amount": "10.00", "currency": "usd", "method": token}

    lost = merchant.post("/v1/payments", body, key="checkout-1")
    merchant.control.post("/_sandbox/faults", json={"error_rate": 0})
    retried = merchant.post("/v1/payments", body, key="checkout-1")

    assert lost.status_code == 504
    assert retried.status_code == 200
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert len(merchant.events()) == 1


def test_wrong_faults_are_refused(merchant):
    answer = merchant.control.post("/_sandbox/faults", json={"error_rate": 2})

    assert answer.status_code == 400


def test_calls_past_the_limit_are_throttled():
    sandbox = create_app(webhook_interval=None, requests_per_second=3)
    merchant = Merchant(sandbox)

    statuses = [merchant.http.get("/v1/account").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_an_unknown_key_is_refused(merchant):
    stranger = httpx.Client(
        transport=merchant.http._transport,
        base_url="http://processor.test",
        headers={"Authorization": "Bearer sk_sandbox_nope"},
    )

    assert stranger.get("/v1/account").status_code == 401
    assert merchant.http.get("/v1/account").json()["id"] == merchant.account["id"]


def test_account_settings_are_checked(merchant):
    wrong = merchant.control.post("/_sandbox/accounts", json={"payout_delay_days": 0})
    unknown = merchant.control.post("/_sandbox/accounts", json={"colour": "red"})

    assert wrong.status_code == unknown.status_code == 400
