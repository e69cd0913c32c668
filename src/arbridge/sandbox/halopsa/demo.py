"""The demo's HaloPSA: the sandbox the web server mounts at MOUNT, with the demo's tenant.

Framework-free (sandbox/common/demo.py): `seed_demo()` fills the tenant with
what the demo partner bills from its PSA, a few of its accounting system's
invoices among them (same number, total and currency, so the hierarchy links
each to both sources), and returns the sandbox's own keys. The tenant lives
in the web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest, SharedInvoice
from arbridge.sandbox.halopsa.app import CLIENT_ID, CLIENT_SECRET, HaloSandbox, create_app
from arbridge.sandbox.halopsa.seed import seed
from arbridge.sandbox.halopsa.store import DEFAULT_VERSION, Store

MOUNT = "/sandbox/halopsa"
# The typical MSP bills from its PSA: the system of record.
ROLE = "primary"
TENANT = "northwind"
CLIENTS, INVOICES = 15, 40
RNG_SEED = 20250101
# How many of the accounting system's shared invoices HaloPSA bills: the first ones.
SHARED = 3
SHARED_LINE = "Managed services (also billed in the accounting system)"


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> HaloSandbox:
    """Return the sandbox to mount; HaloPSA's webhooks are set up per connection, not here."""
    return _sandbox()


@cache
def _sandbox() -> HaloSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    return create_app(Store(), tenant=TENANT)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the tenant once per process; return the keys of a connection to it."""
    _seed(request.shared[:SHARED])
    return DemoAccount(
        account=TENANT,
        credentials={
            "base_url": request.base_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            # What the test call of a real connection would have detected.
            "version": DEFAULT_VERSION,
        },
    )


@cache
def _seed(shared: tuple[SharedInvoice, ...]) -> None:
    """Fill the tenant with clients, billing contacts and invoices with lines, once."""
    store = _sandbox().store
    seed(store, TENANT, clients=CLIENTS, invoices=INVOICES, lines_per_invoice=3, rng_seed=RNG_SEED)
    for invoice in shared:
        client = store.save(
            TENANT,
            "Client",
            {"name": invoice.customer, "accountsemailaddress": "ap@shared.example"},
        )
        store.save(TENANT, "Users", {
            "client_id": client["id"], "firstname": "Accounts", "surname": "Payable",
            "emailaddress": f"ap+{client['id']}@shared.example", "sendaccountsemails": True,
        })  # fmt: skip
        store.save(TENANT, "Invoice", {
            "client_id": client["id"], "invoicenumber": invoice.number,
            "invoice_date": invoice.issued.isoformat(), "duedate": invoice.due.isoformat(),
            "currency_code_name": invoice.currency,
            # One line for the whole amount: the accounting system's lines are its own items.
            "lines": [{"item_shortdescription": SHARED_LINE, "qty_order": 1,
                       "unit_price": invoice.total}],
            "posted": True,
        })  # fmt: skip
