"""Fill a sandbox organization with an MSP's books: customers, invoices, payments, credits."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from arbridge.sandbox.zoho_books.store import Store

SERVICES = (
    ("Managed services", Decimal("85.00")),
    ("Microsoft 365 Business Premium", Decimal("22.00")),
    ("Endpoint protection", Decimal("6.50")),
    ("Backup and recovery", Decimal("40.00")),
    ("On-site support hour", Decimal("125.00")),
)
COMPANIES = ("Bluebird Dental", "Harbor Logistics", "Cedar Law", "Maple Clinic", "Summit Realty")


def seed(
    store: Store,
    organization_id: str,
    *,
    customers: int = 10,
    invoices: int = 30,
    lines_per_invoice: int = 3,
    seed: int = 1,
) -> dict[str, Any]:
    """Add customers with a primary person, sent invoices, and some payments and credits.

    About a third of the invoices are paid, one in ten partly, one in twenty credited.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data
    with store.lock:
        contacts = []
        for n in range(customers):
            name = f"{COMPANIES[n % len(COMPANIES)]} {n + 1}"
            slug = "".join(ch for ch in name.lower() if ch.isalnum())
            contacts.append(
                store.create_contact(
                    organization_id,
                    {
                        "contact_name": name,
                        "contact_persons": [
                            {
                                "first_name": "Accounts",
                                "last_name": "Payable",
                                "email": f"ap@{slug}.example",
                                "is_primary_contact": True,
                            },
                            {
                                "first_name": "Office",
                                "last_name": "Manager",
                                "email": f"office@{slug}.example",
                            },
                        ],
                    },
                )
            )
        paid = credited = 0
        start = dt.date(2026, 1, 5)
        for n in range(invoices):
            contact = contacts[n % len(contacts)]
            date = start + dt.timedelta(days=n % 60)
            lines = []
            for k in range(lines_per_invoice):
                name, rate = SERVICES[(n + k) % len(SERVICES)]
                lines.append(
                    {
                        "name": name,
                        "description": name,
                        "quantity": rng.randint(1, 20),
                        "rate": rate,
                    }
                )
            invoice = store.create_invoice(
                organization_id,
                {
                    "customer_id": contact["contact_id"],
                    "date": date.isoformat(),
                    "due_date": (date + dt.timedelta(days=30)).isoformat(),
                    "payment_terms_label": "Net 30",
                    "line_items": lines,
                },
            )
            store.set_status(organization_id, invoice["invoice_id"], "sent")
            roll = rng.random()
            if roll < 0.45:
                share = (
                    invoice["total"]
                    if roll < 0.35
                    else (invoice["total"] / 2).quantize(Decimal("0.01"))
                )
                store.create_payment(
                    organization_id,
                    {
                        "customer_id": contact["contact_id"],
                        "payment_mode": rng.choice(("check", "banktransfer", "creditcard")),
                        "amount": share,
                        "date": (date + dt.timedelta(days=12)).isoformat(),
                        "reference_number": f"CHK-{n:06d}",
                        "invoices": [
                            {"invoice_id": invoice["invoice_id"], "amount_applied": share}
                        ],
                    },
                )
                paid += 1
            elif roll < 0.50:
                note = store.create_credit_note(
                    organization_id,
                    {
                        "customer_id": contact["contact_id"],
                        "line_items": [{"name": "Service credit", "rate": Decimal("10.00")}],
                    },
                )
                store.apply_credit(
                    organization_id,
                    note["creditnote_id"],
                    [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("10.00")}],
                )
                credited += 1
    return {"customers": customers, "invoices": invoices, "paid": paid, "credited": credited}
