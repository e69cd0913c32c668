"""The demo's QuickBooks Desktop: a seeded company, and a Web Connector that polls its user."""

import hashlib

from arbridge.sandbox.common.demo import DemoRequest
from arbridge.sandbox.qbd import demo


def test_the_demo_company_is_seeded_once_and_its_pc_polls_as_the_user_returned():
    request = DemoRequest(base_url="http://127.0.0.1:9/sandbox/qbd")

    account = demo.seed_demo(request)
    again = demo.seed_demo(request)
    pc = demo.start_pc("http://127.0.0.1:9/poll/qbd/")
    try:
        assert len(demo.COMPANY.invoices) == demo.INVOICES
        assert len(demo.COMPANY.customers) == demo.CUSTOMERS
        assert demo.sandbox().company is demo.COMPANY
        assert pc.web_connector.url == "http://127.0.0.1:9/poll/qbd/"
        assert account.account == again.account == pc.web_connector.username
        algorithm, iterations, salt, digest = account.credentials["password_hash"].split("$")
        again = hashlib.pbkdf2_hmac(
            "sha256", demo.PASSWORD.encode(), salt.encode(), int(iterations)
        )
        assert (algorithm, again.hex()) == ("pbkdf2_sha256", digest)
    finally:
        pc.stop()
