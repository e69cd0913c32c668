"""The demo's FreshBooks: the sandbox the web server mounts, and a business in it.

# Reference: https://www.freshbooks.com/api/me_endpoint

Framework-free: the Django side (registry, demo) mounts `sandbox()` at
MOUNT and calls `seed_demo()` when the demo partner connects
(sandbox/common/demo.py). The business lives in the web server's memory, so
each start seeds it afresh.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.freshbooks.app import CLIENT_ID, CLIENT_SECRET, FreshBooksSandbox, create_app
from arbridge.sandbox.freshbooks.seed import seed
from arbridge.sandbox.freshbooks.store import Store

MOUNT = "/sandbox/freshbooks"
ACCOUNT = "xRb2Lq"
BUSINESS_NAME = "Cascade MSP (FreshBooks sandbox)"
CUSTOMERS, INVOICES = 10, 36
RNG_SEED = 20250303

# The sandbox's accounts, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


def app_settings(root: str) -> dict[str, str]:
    """Return the sandbox's app and endpoints, served under `root`."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_url": f"{root}/service/auth/oauth/authorize",
        "token_url": f"{root}/auth/oauth/token",
        "revoke_url": f"{root}/auth/oauth/revoke",
        "api_base": root,
    }


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> FreshBooksSandbox:
    """Return the sandbox to mount. FreshBooks posts to the URL each callback registers,
    so `webhook_url` and `webhook_key` (an app-wide kind's) are not used."""
    return create_app(STORE)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo business once per process; return tokens that reach it.

    The tokens are issued to the app arbridge runs as and never expire.
    """
    client_id = request.client_id or CLIENT_ID
    if ACCOUNT not in STORE.accounts:
        STORE.add_account(ACCOUNT, BUSINESS_NAME)
        seed(STORE, ACCOUNT, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED)
    if client_id == CLIENT_ID:
        STORE.auth.register_client(CLIENT_ID, CLIENT_SECRET)
    if client_id not in STORE.auth.clients:
        raise ValueError(f"the sandbox does not know the app {client_id}")
    return DemoAccount(account=ACCOUNT, token=STORE.auth.issue(client_id, [ACCOUNT], ttl=None))
