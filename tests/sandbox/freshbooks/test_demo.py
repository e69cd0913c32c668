"""The demo's FreshBooks business: seeded once, and arbridge's connector reads it."""

import httpx

from arbridge.connectors.base import Config, Op
from arbridge.connectors.freshbooks import FreshBooks
from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.freshbooks import demo


def test_the_demo_business_is_seeded_once_and_readable():
    app = demo.sandbox()
    account = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    again = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    http = httpx.Client(
        transport=httpx.WSGITransport(app=app),
        headers={"Authorization": f"Bearer {account.token['access_token']}"},
    )
    connector = FreshBooks(
        Config(base_url="http://demo.test", remote_account=account.account), http
    )

    invoices = {
        c.remote_id
        for c in connector.pull(None)
        if getattr(c, "entity", "") == "invoice" and c.op == Op.UPSERT
    }

    assert again.account == demo.ACCOUNT
    assert len(invoices) == demo.INVOICES
    assert [t.id for t in connector.tenants()] == [demo.ACCOUNT]
    assert set(demo.app_settings("http://x")) >= {"client_id", "token_url", "api_base"}
