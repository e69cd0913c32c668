"""The demo's Xero: the sandbox the web server mounts, and an organisation in it.

# Reference: https://developer.xero.com/documentation/guides/oauth2/tenants

Framework-free: the Django side (registry, demo) mounts `sandbox()` at
MOUNT and calls `seed_demo()` when the demo partner connects (sandbox/common/demo.py). The
organisation lives in the web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.xero.app import CLIENT_ID, CLIENT_SECRET, WEBHOOK_KEY, XeroSandbox, create_app
from arbridge.sandbox.xero.seed import seed
from arbridge.sandbox.xero.store import Store

MOUNT = "/sandbox/xero"
TENANT = "6f1d3a52-9c1e-4b7a-a3f0-2d5e8c4b7a10"
ORG_NAME = "Harbourside MSP (Xero sandbox)"
CUSTOMERS, INVOICES = 12, 40
RNG_SEED = 20250202

# The sandbox's organisations, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


def app_settings(root: str) -> dict[str, str]:
    """Return the sandbox's app and endpoints, served under `root`."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_url": f"{root}/identity/connect/authorize",
        "token_url": f"{root}/connect/token",
        "revoke_url": f"{root}/connect/revocation",
        "api_base": root,
        "webhook_key": WEBHOOK_KEY,
    }


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = WEBHOOK_KEY) -> XeroSandbox:
    """Return the sandbox to mount, posting its webhooks to `webhook_url` if given."""
    return create_app(STORE, webhook_url=webhook_url, webhook_key=webhook_key)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo organisation once per process; return tokens connected to it.

    The tokens are issued to the app arbridge runs as and never expire.
    """
    client_id = request.client_id or CLIENT_ID
    if TENANT not in STORE.orgs:
        STORE.add_org(TENANT, ORG_NAME)
        seed(STORE, TENANT, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED)
    if client_id == CLIENT_ID:
        # Registered when the server first builds the sandbox, which may not have happened yet.
        STORE.auth.register_client(CLIENT_ID, CLIENT_SECRET)
    if client_id not in STORE.auth.clients:
        raise ValueError(f"the sandbox does not know the app {client_id}")
    return DemoAccount(account=TENANT, token=STORE.auth.issue(client_id, [TENANT], ttl=None))
