"""The demo's QuickBooks Online: the sandbox the web server mounts, and a company in it.

Framework-free: the web server mounts `sandbox()` at MOUNT (server.py reads
every sandbox package's demo module); `app_settings()` is the app arbridge
runs as when no QuickBooks app is configured; `seed_demo()` fills the same
in-memory company with an MSP's books and returns tokens connected to it.
The company lives in the web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest, SharedInvoice
from arbridge.sandbox.qbo.app import (
    CLIENT_ID,
    CLIENT_SECRET,
    VERIFIER_TOKEN,
    QuickBooksSandbox,
    create_app,
)
from arbridge.sandbox.qbo.seed import seed
from arbridge.sandbox.qbo.store import Store

MOUNT = "/sandbox/qbo"
# The typical MSP keeps its books here, beside its PSA (the primary).
ROLE = "secondary"
REALM = "9130357122045519"
COMPANY_NAME = "Northwind MSP (QuickBooks sandbox)"
# Beside the invoices the PSAs bill, a few hundred in all.
CUSTOMERS, INVOICES = 40, 240
RNG_SEED = 20250101
# Invoices billed in a PSA as well (the PSAs' demo modules split them).
SHARED_INVOICES = 7

# The sandbox's companies, shared by the app the server mounts and `seed_demo()`.
STORE = Store()


def app_settings(root: str) -> dict[str, str]:
    """Return the sandbox's app and endpoints, served under `root`."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_url": f"{root}/oauth2/authorize",
        "token_url": f"{root}/oauth2/token",
        "revoke_url": f"{root}/oauth2/revoke",
        "api_base": root,
        "webhook_key": VERIFIER_TOKEN,
    }


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = VERIFIER_TOKEN) -> QuickBooksSandbox:
    """Return the sandbox to mount, posting its webhooks to `webhook_url` if given."""
    return create_app(STORE, verifier_token=webhook_key, webhook_url=webhook_url)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo company once per process; return a token of arbridge's app connected to it.

    The token never expires; the demo prints it for a person to call the sandbox's API.
    """
    _seed()
    client_id = request.client_id or CLIENT_ID
    token = STORE.auth.issue(REALM, client_id, ttl=None)
    # A token of its own for a person, so that refreshing the connection's never revokes it.
    printed = STORE.auth.issue(REALM, client_id, ttl=None)
    return DemoAccount(
        account=REALM,
        token=token,
        printed=(
            ("QuickBooks sandbox realm", REALM),
            ("QuickBooks sandbox token", printed["access_token"]),
            ("QuickBooks webhook verifier token", VERIFIER_TOKEN),
        ),
    )


def shared_invoices() -> list[SharedInvoice]:
    """Return the company's invoices the PSAs bill too, oldest ids first."""
    _seed()
    realm = STORE.realm(REALM)
    ids = sorted(realm.tables["Invoice"])[:SHARED_INVOICES]
    shared = []
    for id in ids:
        invoice = STORE.document(REALM, "Invoice", str(id))
        issued = dt.date.fromisoformat(invoice["TxnDate"])
        shared.append(
            SharedInvoice(
                customer=invoice["CustomerRef"]["name"],
                number=invoice["DocNumber"],
                issued=issued,
                due=dt.date.fromisoformat(invoice.get("DueDate", invoice["TxnDate"])),
                total=Decimal(str(invoice["TotalAmt"])),
                currency=invoice["CurrencyRef"]["value"],
            )
        )
    return shared


def _seed() -> None:
    if REALM not in STORE.realms:
        STORE.add_realm(REALM, COMPANY_NAME)
        seed(STORE, REALM, customers=CUSTOMERS, invoices=INVOICES, rng_seed=RNG_SEED)
