"""The demo's NetSuite account: seeded once, and arbridge's connector reads it."""

import httpx
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from arbridge.connectors.base import Config, Op
from arbridge.connectors.netsuite import NetSuite
from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.netsuite import demo


def test_the_demo_account_is_seeded_once_and_readable():
    app = demo.sandbox()
    account = demo.seed_demo(DemoRequest(base_url="http://demo.test/sandbox/netsuite"))
    again = demo.seed_demo(DemoRequest(base_url="http://demo.test/sandbox/netsuite"))
    # Mounted as the web server mounts it: the mount is the script name, not the path.
    server = DispatcherMiddleware(NotFound(), {demo.MOUNT: app})
    mounted = httpx.WSGITransport(app=server)
    config = Config(base_url="", credentials=account.credentials, remote_account=account.account)
    connector = NetSuite(config, httpx.Client(transport=mounted))

    changes = [c for c in connector.pull(None) if getattr(c, "op", None) == Op.UPSERT]

    assert again.account == demo.ACCOUNT == account.account
    assert len({c.remote_id for c in changes if c.entity == "invoice"}) == demo.INVOICES
    assert {c.entity for c in changes} == {"customer", "contact", "invoice", "payment", "credit"}
