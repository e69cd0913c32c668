"""The demo's Zoho Books: the sandbox the web server mounts, and an organization in it.

# Reference: https://www.zoho.com/books/api/v3/organizations/

Framework-free: the Django side (registry, demo) mounts `sandbox()` at
MOUNT and calls `seed_demo()` when the demo partner connects, storing the
token it returns as the connection's and ORGANIZATION as its remote
account. The organization lives in the web server's memory, so each start
seeds it afresh.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.zoho_books.app import CLIENT_ID, CLIENT_SECRET, ZohoBooksSandbox, create_app
from arbridge.sandbox.zoho_books.oauth import Grant
from arbridge.sandbox.zoho_books.seed import seed
from arbridge.sandbox.zoho_books.store import Store

MOUNT = "/sandbox/zoho_books"
ORGANIZATION = "60012345678"
ORG_NAME = "Lakeview MSP (Zoho Books sandbox)"
CUSTOMERS, INVOICES = 10, 36
RNG_SEED = 20260112

# The sandbox's organizations, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


def app_settings(root: str) -> dict[str, str]:
    """Return the sandbox's app and endpoints (its US data centre), served under `root`."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_url": f"{root}/oauth/v2/auth?access_type=offline&prompt=consent",
        "token_url": f"{root}/oauth/v2/token",
        "revoke_url": f"{root}/oauth/v2/token/revoke",
        "api_base": root,
    }


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> ZohoBooksSandbox:
    """Return the sandbox to mount; Zoho Books sends arbridge no webhooks, so none are posted."""
    return create_app(STORE)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo organization once per process; return a token that reaches it.

    The token is issued to the app arbridge runs as and never expires.
    """
    client_id = request.client_id or CLIENT_ID
    if ORGANIZATION not in STORE.orgs:
        STORE.add_org(ORGANIZATION, ORG_NAME)
        seed(STORE, ORGANIZATION, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED)
    if client_id == CLIENT_ID:
        STORE.auth.register_client(CLIENT_ID, CLIENT_SECRET)
    if client_id not in STORE.auth.clients:
        raise ValueError(f"the sandbox does not know the app {client_id}")
    token = STORE.auth.issue(Grant(client_id, "us", [ORGANIZATION]), ttl=None)
    return DemoAccount(account=ORGANIZATION, token=token)
