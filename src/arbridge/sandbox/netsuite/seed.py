"""Fill a sandbox account with an MSP's customers and invoices, reproducibly.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html
"""

from __future__ import annotations

import random
from decimal import Decimal

from arbridge.sandbox.netsuite.store import Store

SERVICES = ("Managed services", "Backup", "Microsoft 365", "Endpoint security", "Helpdesk hours")


def seed(
    store: Store,
    account_id: str,
    *,
    customers: int,
    invoices: int,
    lines_per_invoice: int = 2,
    rng_seed: int = 1,
) -> dict[str, int]:
    """Add customers (each with a billing contact) and open invoices spread over them."""
    rng = random.Random(rng_seed)
    ids = []
    for n in range(1, customers + 1):
        ids.append(
            store.save(
                account_id,
                "customer",
                {
                    "companyName": f"Client {n:05d}",
                    "email": f"ap@client{n:05d}.example",
                    "phone": f"555-01{n % 100:02d}",
                    "contactRoles": {
                        "items": [
                            {
                                "contact": {"id": str(9000 + n), "refName": "Accounts Payable"},
                                "email": f"billing@client{n:05d}.example",
                                "role": {"id": "1", "refName": "Billing"},
                            }
                        ]
                    },
                },
            )
        )
    for n in range(1, invoices + 1):
        lines = [
            {
                "item": {"id": str(k + 1), "refName": SERVICES[k % len(SERVICES)]},
                "description": f"{SERVICES[k % len(SERVICES)]}, month {n % 12 + 1}",
                "quantity": Decimal(rng.randint(1, 5)),
                "rate": Decimal(rng.randint(20, 400)),
            }
            for k in range(lines_per_invoice)
        ]
        store.save(
            account_id,
            "invoice",
            {
                "entity": {"id": ids[n % len(ids)]},
                "tranId": f"INV{n:06d}",
                "tranDate": "2026-03-01",
                "dueDate": "2026-03-31",
                "terms": {"refName": "Net 30"},
                "item": {"items": lines},
            },
        )
    return {"customers": customers, "invoices": invoices}
