"""The demo's Business Central: the sandbox the web server mounts, and a company in it.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-develop-connect-apps

Framework-free: the Django side (registry, demo) mounts `sandbox()` at MOUNT
and calls `seed_demo()` when the demo partner connects (sandbox/common/demo.py). The company
lives in the web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

from functools import cache

import httpx

from arbridge.sandbox.business_central.app import (
    CLIENT_ID,
    CLIENT_SECRET,
    BusinessCentralSandbox,
    create_app,
)
from arbridge.sandbox.business_central.seed import seed
from arbridge.sandbox.business_central.store import Store
from arbridge.sandbox.common.demo import DemoAccount, DemoRequest

MOUNT = "/sandbox/business_central"
TENANT = "4c1b2f9e-7d3a-4e15-9b8c-1a2d3e4f5a60"
ENVIRONMENT = "production"
COMPANY = "8e2f6a10-3b4c-4d5e-8f70-9a1b2c3d4e5f"
COMPANY_NAME = "Lakeshore MSP (Business Central sandbox)"
CUSTOMERS, INVOICES = 12, 40
RNG_SEED = 20261207

# The sandbox's tenants, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


def app_settings(root: str) -> dict[str, str]:
    """Return the sandbox's app and endpoints, served under `root`."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_url": f"{root}/organizations/oauth2/v2.0/authorize",
        "token_url": f"{root}/organizations/oauth2/v2.0/token",
        "revoke_url": "",
        "api_base": root,
        "webhook_key": "",
    }


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> BusinessCentralSandbox:
    """Return the sandbox to mount; notifications go wherever each subscription says."""
    return create_app(STORE, http=httpx.Client(timeout=5.0))


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo company once per process; return tokens for it and its account.

    The tokens are issued to the app arbridge runs as and never expire.
    """
    client_id = request.client_id or CLIENT_ID
    with STORE.lock:
        if (TENANT, ENVIRONMENT) not in STORE.environments:
            STORE.add_company(TENANT, ENVIRONMENT, COMPANY_NAME, COMPANY)
            seed(STORE, TENANT, ENVIRONMENT, COMPANY, customers=CUSTOMERS, invoices=INVOICES,
                 seed=RNG_SEED)  # fmt: skip
    app = sandbox()
    if client_id == CLIENT_ID:
        app.auth.register_client(CLIENT_ID, CLIENT_SECRET)
    if client_id not in app.auth.clients:
        raise ValueError(f"the sandbox does not know the app {client_id}")
    return DemoAccount(
        account=f"{TENANT}/{ENVIRONMENT}/{COMPANY}",
        token=app.auth.issue(client_id, TENANT, ttl=None),
    )
