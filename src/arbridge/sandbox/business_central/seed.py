"""Fill a sandbox company with customers, contacts and posted sales invoices, deterministically.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoice
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from arbridge.sandbox.business_central.store import Store

NAMES = (
    "Bluebird Dental", "Harbor Logistics", "Summit Legal", "Cedar Clinic", "Maple Realty",
    "Northstar Freight", "Copperleaf Cafe", "Ironwood Builders", "Lakeside Vets", "Orchid Spa",
    "Pinecrest School", "Quarry Studios",
)  # fmt: skip
SERVICES = (
    ("MANAGED-SEAT", "Managed services, per seat", Decimal("85.00")),
    ("BACKUP-TB", "Cloud backup, per TB", Decimal("40.00")),
    ("M365-BP", "Microsoft 365 Business Premium", Decimal("22.00")),
    ("ONSITE-HR", "On-site support, hourly", Decimal("125.00")),
)


def seed(
    store: Store,
    tenant: str,
    environment: str,
    company_id: str,
    *,
    customers: int = 12,
    invoices: int = 40,
    lines: int = 3,
    seed: int = 1,
    paid_share: float = 0.3,
) -> dict[str, Any]:
    """Add customers (each with a person contact) and posted invoices; some paid in part."""
    rng = random.Random(seed)  # noqa: S311 - sample data
    env = store.environment(tenant, environment)
    company = store.company(tenant, environment, company_id)
    today = store.now().date()
    with store.lock:
        people = []
        for n in range(customers):
            name = NAMES[n % len(NAMES)] + (f" {n // len(NAMES) + 1}" if n >= len(NAMES) else "")
            slug = "".join(ch for ch in name.lower() if ch.isalnum())
            customer = store.save_customer(
                env, company, {"displayName": name, "email": f"ap@{slug}.example", "state": "WA"}
            )
            store.add_contact(
                env, company, customer_id=customer["id"], name=f"Pat {name.split()[0]}",
                email=f"pat@{slug}.example",
            )  # fmt: skip
            people.append(customer)
        for n in range(invoices):
            customer = people[n % len(people)]
            issued = today - dt.timedelta(days=rng.randrange(0, 90))
            body = {
                "customerId": customer["id"],
                "invoiceDate": issued.isoformat(),
                "dueDate": (issued + dt.timedelta(days=30)).isoformat(),
                "salesInvoiceLines": [
                    {
                        "lineType": "Item",
                        "lineObjectNumber": item,
                        "description": text,
                        "quantity": Decimal(rng.randrange(1, 12)),
                        "unitPrice": price,
                    }
                    for item, text, price in rng.sample(SERVICES, k=min(lines, len(SERVICES)))
                ],
            }
            invoice = store.save_invoice(env, company, body)
            store.post_invoice(env, company, invoice["id"])
            if rng.random() < paid_share:
                # Paid in part in Business Central: a payment arbridge did not take.
                invoice["remainingAmount"] = (invoice["totalAmountIncludingTax"] / 2).quantize(
                    Decimal("0.01")
                )
    return {"customers": customers, "invoices": invoices}
