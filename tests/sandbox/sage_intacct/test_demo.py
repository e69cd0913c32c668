"""The demo's Sage Intacct company: seeded once, and arbridge reads its US entity only."""

import httpx

from arbridge.connectors.base import Config, Op
from arbridge.connectors.sage_intacct import SageIntacct
from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.sage_intacct import demo


def test_the_demo_company_is_seeded_once_and_its_entity_readable():
    app = demo.sandbox()
    account = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    again = demo.seed_demo(DemoRequest(base_url="http://demo.test"))
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    config = Config(
        base_url=account.credentials["base_url"],
        remote_account=account.account,
        credentials=account.credentials,
    )
    connector = SageIntacct(config, http)

    invoices = {
        c.remote_id
        for c in connector.pull(None)
        if getattr(c, "entity", "") == "invoice" and c.op == Op.UPSERT
    }

    assert again.account == account.account == connector.check().remote_account
    assert len(invoices) == demo.INVOICES  # the Canadian entity's four are not the US entity's
    assert len(app.store.companies[demo.COMPANY].invoices) == demo.INVOICES + 4
