"""Fill a sandbox account with an MSP's books, straight into the store (no API calls).

# Reference: https://www.freshbooks.com/api/invoices

Clients with a billing contact, sent invoices of a few lines each, some
paid in part, some credited; fast enough for a benchmark's tens of thousands.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from arbridge.sandbox.freshbooks.store import Store

NAMES = (
    "Bluebird Dental",
    "Harbor Logistics",
    "Cedar Law",
    "Summit Clinics",
    "Atlas Freight",
    "Northwind Traders",
    "Pioneer Realty",
    "Lakeside Vets",
    "Orchard Schools",
    "Beacon CPA",
)
SERVICES = ("Managed services", "Microsoft 365 seats", "Backup and DR", "Onsite hours")


def seed(
    store: Store,
    account_id: str,
    *,
    customers: int = 10,
    invoices: int = 30,
    lines_per_invoice: int = 3,
    paid_share: float = 0.2,
    credited_share: float = 0.05,
    seed: int = 11,
) -> dict[str, int]:
    """Add clients and their invoices through the store; return how many of each were added."""
    rng = random.Random(seed)  # noqa: S311 - test data
    listeners, store.listeners = store.listeners, []  # a seed sends no webhooks
    try:
        with store.lock:
            clients = []
            for n in range(customers):
                name = f"{NAMES[n % len(NAMES)]} {n + 1}"
                slug = "".join(ch for ch in name.lower() if ch.isalnum())
                client = store.save_client(
                    account_id,
                    {
                        "organization": name,
                        "fname": "Accounts",
                        "lname": "Payable",
                        "email": f"ap@{slug}.example",
                        "p_province": "WA",
                        "p_country": "United States",
                        "contacts": [
                            {
                                "fname": "Billing",
                                "lname": "Office",
                                "email": f"bills@{slug}.example",
                            }
                        ],
                    },
                )
                clients.append(client["id"])
            payments = credits = 0
            start = dt.date(2026, 1, 5)
            for n in range(invoices):
                lines = [
                    {
                        "name": SERVICES[(n + k) % len(SERVICES)],
                        "description": f"Month {1 + n % 12}",
                        "qty": rng.randint(1, 5),
                        "unit_cost": {"amount": f"{rng.randint(20, 400)}.00", "code": "USD"},
                    }
                    for k in range(lines_per_invoice)
                ]
                invoice = store.save_invoice(
                    account_id,
                    {
                        "customerid": clients[n % len(clients)],
                        "create_date": (start + dt.timedelta(days=n % 300)).isoformat(),
                        "due_offset_days": 30,
                        "lines": lines,
                    },
                )
                total = Decimal(invoice["amount"]["amount"])
                roll = rng.random()
                if roll < paid_share:
                    part = (total / 2).quantize(Decimal("0.01"))
                    store.create_payment(
                        account_id,
                        {
                            "invoiceid": invoice["id"],
                            "amount": {"amount": str(part)},
                            "type": "Check",
                            "date": invoice["create_date"],
                        },
                    )
                    payments += 1
                elif roll < paid_share + credited_share:
                    store.create_payment(
                        account_id,
                        {
                            "invoiceid": invoice["id"],
                            "amount": {"amount": "10.00"},
                            "type": "Credit",
                            "creditid": 900000 + n,
                            "date": invoice["create_date"],
                        },
                    )
                    credits += 1
    finally:
        store.listeners = listeners
    return {"customers": customers, "invoices": invoices, "payments": payments, "credits": credits}
