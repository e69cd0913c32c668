"""Filling a sandbox company with customers and AR invoices, reproducibly."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from arbridge.sandbox.sage_intacct.store import Store

NAMES = (
    "Bluebird Dental", "Harbor Logistics", "Summit Legal", "Cedar Clinics", "Northwind Freight",
    "Maple Accounting", "Riverbend Schools", "Granite Builders", "Orchard Vets", "Beacon Realty",
)  # fmt: skip
SERVICES = (
    "Managed services",
    "Backup and recovery",
    "Microsoft 365 seats",
    "Firewall",
    "Help desk",
)


def seed(
    store: Store,
    company_id: str,
    *,
    customers: int = 10,
    invoices: int = 30,
    lines_per_invoice: int = 3,
    seed: Any = 1,
    entity: str = "",
) -> dict[str, int]:
    """Add customers and posted invoices to a company; return how many of each."""
    rng = random.Random(seed)  # noqa: S311 - sample data
    with store.lock:
        ids = []
        for n in range(customers):
            name = NAMES[n % len(NAMES)] + ("" if n < len(NAMES) else f" {n // len(NAMES) + 1}")
            slug = "".join(ch for ch in name.lower() if ch.isalnum())
            customer = store.add_customer(
                company_id, name, email=f"ap@{slug}.example", state="WA", entity=entity
            )
            ids.append(customer["CUSTOMERID"])
        today = store.now().date()
        for _ in range(invoices):
            lines = [
                (rng.choice(SERVICES), Decimal(rng.randrange(5_000, 250_000)) / 100)
                for _ in range(lines_per_invoice)
            ]
            store.add_invoice(
                company_id,
                rng.choice(ids),
                lines,
                issued=today - dt.timedelta(days=rng.randrange(0, 60)),
            )
    return {"customers": customers, "invoices": invoices, "lines": invoices * lines_per_invoice}
