# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's SuperOps in the tests: the sandbox over loopback HTTP, connected through the dashboard.

Connecting goes the partner's way: the connections page's form with the API
token and the subdomain, which arbridge checks with one call before keeping.
"""

import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.superops import SUBDOMAIN, TOKEN, SuperOpsSandbox, create_app  # noqa: E402
from arbridge.sandbox.superops.store import Store  # noqa: E402
from tests.integrations.qbo.fixtures import sandbox_server, sync  # noqa: E402, F401

KIND = "superops"


class Books:
    """SuperOps' billing person, working in the sandbox's account."""

    def __init__(self, store: Store, subdomain: str = SUBDOMAIN) -> None:
        self.store = store
        self.subdomain = subdomain

    def client(self, name: str) -> str:
        billing = {"firstName": "Accounts", "lastName": "Payable",
                   "email": f"ap@{name.lower()}.example"}  # fmt: skip
        return self.store.client(self.subdomain, name, billing=billing)["accountId"]

    def invoice(self, client_id: str, amount: str) -> str:
        items = [("Managed services", 1, amount)]
        return self.store.invoice(self.subdomain, client_id, items)["invoiceId"]

    def payments_of(self, invoice_id: str) -> list[dict]:
        return self.store.account(self.subdomain).invoices[invoice_id]["payments"]


@pytest.fixture
def superops(sandbox_server, settings) -> SuperOpsSandbox:
    """A fresh SuperOps sandbox, served over loopback HTTP as arbridge's SuperOps API."""
    app = create_app(requests_per_window=1_000_000)
    app.sleep = lambda _: None
    sandbox_server.app = app
    settings.SUPEROPS_API_BASE = f"{sandbox_server.url}/msp"
    return app


@pytest.fixture
def acme_books(superops) -> Books:
    return Books(superops.store)


def form(**changes) -> dict:
    return {"role": "primary", "subdomain": SUBDOMAIN, "token": TOKEN, "region": "us", **changes}


@pytest.fixture
def connected(client, alice, superops) -> Connection:
    """Acme's SuperOps, connected through the connections page as a partner connects it."""
    client.force_login(alice)
    response = client.post(f"/integrations/{KIND}/connect/", form())
    assert response.status_code == 302, response.content
    return Connection.objects.get(partner=alice.memberships.get().partner, kind=KIND)
