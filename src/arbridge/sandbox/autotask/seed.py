"""Fill a sandbox database with a few companies, their contacts and invoices for the demo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from arbridge.sandbox.autotask.store import Store, iso

COMPANIES = ("Bluebird Dental", "Harbor Logistics", "Cedar Law Group", "Northwind Clinics")


def seed(store: Store, invoices_per_company: int = 3) -> None:
    """Add each company with a billing contact and a few monthly invoices."""
    today = store.clock()
    for n, name in enumerate(COMPANIES, start=1):
        company = store.create("companies", {"companyName": name, "phone": f"555-01{n:02}"})
        first, _, last = name.partition(" ")
        store.create("contacts", {
            "companyID": company["id"], "firstName": "Accounts", "lastName": first,
            "emailAddress": f"ap@{first.lower()}.example", "primaryContact": True,
        })  # fmt: skip
        for month in range(invoices_per_company):
            issued = today - dt.timedelta(days=30 * (invoices_per_company - month))
            invoice = store.create("invoices", {
                "companyID": company["id"],
                "invoiceNumber": f"AT-{company['id']:03}{month + 1:02}",
                "invoiceTotal": Decimal(150 * n) + Decimal("0.50"),
                "invoiceDateTime": iso(issued),
                "dueDate": iso(issued + dt.timedelta(days=30)),
                "paymentTerm": 30,
            })  # fmt: skip
            # Billing items (an invoice's lines) that add up to its total.
            lines = (("Managed services", Decimal(n), Decimal("150.00")),
                     ("Backup storage overage", Decimal(1), Decimal("0.50")))  # fmt: skip
            for item, quantity, rate in lines:
                price = quantity * rate
                store.create("billingitems", {
                    "companyID": company["id"], "invoiceID": invoice["id"], "itemName": item,
                    "description": item, "quantity": quantity, "rate": rate,
                    "extendedPrice": price, "totalAmount": price, "itemDate": iso(issued),
                })  # fmt: skip
