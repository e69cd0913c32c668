"""The demo's Business Central company: seeded once, and arbridge's connector reads it."""

import httpx

from arbridge.connectors.base import Config, Op
from arbridge.connectors.business_central import BusinessCentral
from arbridge.sandbox.business_central import demo
from arbridge.sandbox.common.demo import DemoRequest


def test_the_demo_company_is_seeded_once_and_readable():
    app = demo.sandbox()
    account = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    again = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    token = account.token
    http = httpx.Client(
        transport=httpx.WSGITransport(app=app),
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    connector = BusinessCentral(
        Config(base_url="http://demo.test", remote_account=account.account), http
    )

    invoices = {
        c.remote_id
        for c in connector.pull(None)
        if getattr(c, "entity", "") == "invoice" and c.op == Op.UPSERT
    }

    assert again.account == account.account
    assert len(invoices) == demo.INVOICES
    assert [t.id for t in connector.tenants()] == [account.account]
