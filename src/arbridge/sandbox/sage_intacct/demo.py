"""The demo's Sage Intacct: the sandbox the web server mounts, and a company in it.

# Reference: https://developer.intacct.com/web-services/sessions/

Framework-free: the Django side (registry, demo) mounts `sandbox()` at MOUNT
and calls `seed_demo()` when the demo partner connects (sandbox/common/demo.py).
The company is multi-entity; the demo connection works in its US entity. It
lives in the web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.sage_intacct.app import (
    SENDER_ID,
    SENDER_PASSWORD,
    SageIntacctSandbox,
    create_app,
)
from arbridge.sandbox.sage_intacct.seed import seed
from arbridge.sandbox.sage_intacct.store import Store

MOUNT = "/sandbox/sage_intacct"
COMPANY = "cascade-msp"
COMPANY_NAME = "Cascade Holdings (Sage Intacct sandbox)"
ENTITIES = {"US": "Cascade MSP US", "CA": "Cascade MSP Canada"}
ENTITY = "US"
USER, PASSWORD = "xml_gateway", "demo-gateway-password"
CUSTOMERS, INVOICES = 10, 30
RNG_SEED = 20261207

# The sandbox's companies, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> SageIntacctSandbox:
    """Return the sandbox to mount; Intacct sends no webhooks, so neither is used."""
    return create_app(STORE)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo company once per process; return the credentials of its US entity."""
    with STORE.lock:
        if COMPANY not in STORE.companies:
            STORE.add_company(COMPANY, COMPANY_NAME, users={USER: PASSWORD}, entities=ENTITIES)
            seed(STORE, COMPANY, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED,
                 entity=ENTITY)  # fmt: skip
            # The other entity's books, which the demo connection must not see.
            seed(STORE, COMPANY, customers=2, invoices=4, seed=RNG_SEED + 1, entity="CA")
    return DemoAccount(
        account=f"{COMPANY}/{ENTITY}",
        credentials={
            "base_url": request.base_url,
            "sender_id": SENDER_ID,
            "sender_password": SENDER_PASSWORD,
            "company_id": COMPANY,
            "user_id": USER,
            "user_password": PASSWORD,
            "entity_id": ENTITY,
        },
        printed=(("Sage Intacct company", f"{COMPANY} (entity {ENTITY})"),),
    )
