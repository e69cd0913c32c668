"""The sandbox below a mount point, as the demo serves it at /sandbox/processor/."""

from urllib.parse import parse_qs, urlsplit

import httpx
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from arbridge.sandbox.processor import create_app
from tests.sandbox.processor.api import CARD


def test_its_pages_and_links_work_below_a_mount_point():
    site = DispatcherMiddleware(Response("the rest"), {"/sandbox/processor": create_app()})
    browser = httpx.Client(transport=httpx.WSGITransport(app=site), base_url="http://demo.test")
    account = browser.post("/sandbox/processor/_sandbox/accounts", json={"name": "Acme"}).json()
    api = {"Authorization": f"Bearer {account['api_key']}"}

    back = browser.post(
        f"/sandbox/processor/tokenize/{account['id']}",
        data={
            "kind": "card",
            "return_url": "http://demo.test/pay",
            "number": "4000002500003155",
            **CARD,
        },
    )
    token = parse_qs(urlsplit(back.headers["Location"]).query)["token"][0]
    payment = browser.post(
        "/sandbox/processor/v1/payments",
        json={"amount": "5.00", "currency": "usd", "method": token},
        headers={**api, "Idempotency-Key": "one"},
    ).json()

    assert payment["action_url"].startswith("http://demo.test/sandbox/processor/authenticate/")
    assert browser.get(payment["action_url"]).status_code == 200
