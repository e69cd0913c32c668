"""Events in order with stable ids, read with a cursor or delivered as signed webhooks."""

import datetime as dt
import hashlib
import hmac

from tests.sandbox.processor.conftest import START


def test_events_page_after_a_cursor(merchant):
    for _ in range(5):
        merchant.paid(merchant.token(), "10.00")

    everything = merchant.events()
    first = merchant.get("/v1/events", limit=2)
    rest = merchant.get("/v1/events", after=first["data"][-1]["id"], limit=10)

    assert len(everything) == 5
    assert first["has_more"] is True and rest["has_more"] is False
    assert first["data"] + rest["data"] == everything
    assert merchant.events(after=everything[-1]["id"]) == []


def test_event_ids_do_not_change_as_time_passes(merchant, clock):
    merchant.paid(merchant.token(account_number="000111111101"), "10.00")
    clock.move_to(START + dt.timedelta(days=3))
    before = merchant.events()

    clock.move_to(START + dt.timedelta(days=10))
    after = merchant.events()

    assert after[: len(before)] == before
    assert len(after) > len(before)
    assert len({event["id"] for event in after}) == len(after)
    times = [event["created"] for event in after]
    assert times == sorted(times)


def test_an_unknown_cursor_is_refused(merchant):
    answer = merchant.http.get("/v1/events", params={"after": "evt_nope"})

    assert answer.status_code == 400


def verifies(secret: str, headers: dict, body: bytes) -> bool:
    fields = dict(part.split("=", 1) for part in headers["Sandbox-Signature"].split(","))
    signed = f"{fields['t']}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def flush(merchant) -> int:
    return merchant.control.post("/_sandbox/webhooks/flush").json()["delivered"]


def test_webhooks_are_signed_and_sent_when_flushed(merchant, receiver, clock):
    merchant.control.post(
        f"/_sandbox/accounts/{merchant.account['id']}", json={"webhook_url": "http://hooks.test/in"}
    )
    payment = merchant.paid(merchant.token(account_number="000123456789"), "10.00")
    clock.move_to(START + dt.timedelta(days=2))  # settled, but nobody has asked yet

    assert receiver.deliveries == []
    assert flush(merchant) == 1
    headers, body = receiver.deliveries[0]
    assert verifies(merchant.account["webhook_secret"], headers, body)
    sent_at = int((START + dt.timedelta(days=2)).timestamp())
    assert headers["Sandbox-Signature"].startswith(f"t={sent_at},v1=")
    assert receiver.events()[0]["type"] == "payment.succeeded"
    assert receiver.events()[0]["data"]["object"]["id"] == payment["id"]
    assert flush(merchant) == 0


def test_a_failed_delivery_is_tried_again_in_order(merchant, receiver):
    merchant.control.post(
        f"/_sandbox/accounts/{merchant.account['id']}", json={"webhook_url": "http://hooks.test/in"}
    )
    merchant.paid(merchant.token(), "10.00")
    merchant.paid(merchant.token(), "20.00")
    receiver.status = 500

    assert flush(merchant) == 0
    receiver.status = 200
    assert flush(merchant) == 2

    delivered = [event["data"]["object"]["amount"] for event in receiver.events()]
    assert delivered == [10, 10, 20]  # the failed first one, then both in order
    stats = merchant.control.get("/_sandbox/stats").json()["webhooks"]
    assert stats == {"delivered": 2, "failed": 1, "pending": 0}


def test_accounts_without_a_webhook_url_get_none(merchant, receiver):
    merchant.paid(merchant.token(), "10.00")

    assert flush(merchant) == 0
    assert receiver.deliveries == []
