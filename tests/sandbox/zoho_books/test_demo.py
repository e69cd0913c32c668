"""The demo's Zoho Books organization: seeded once, and arbridge's connector reads it."""

import httpx

from arbridge.connectors.base import Config, Op
from arbridge.connectors.zoho_books import ZohoBooks
from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.zoho_books import demo


def test_the_demo_organization_is_seeded_once_and_readable():
    app = demo.sandbox()
    account = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    again = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    token = account.token
    http = httpx.Client(
        transport=httpx.WSGITransport(app=app),
        headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"},
    )
    connector = ZohoBooks(Config(base_url="http://demo.test", remote_account=account.account), http)

    changes = [c for c in connector.pull(None) if getattr(c, "op", None) == Op.UPSERT]

    assert again.account == demo.ORGANIZATION
    assert len({c.remote_id for c in changes if c.entity == "invoice"}) == demo.INVOICES
    assert {c.entity for c in changes} == {"customer", "contact", "invoice", "payment", "credit"}
    assert [t.id for t in connector.tenants()] == [demo.ORGANIZATION]
