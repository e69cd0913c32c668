"""Fill a sandbox organisation with an MSP's books, straight into the store (no API calls).

# Reference: https://developer.xero.com/documentation/api/accounting/invoices

Contacts with a billing person or two, AUTHORISED sales invoices of a few
lines each, some paid in part, some credited; fast enough for a benchmark's
tens of thousands.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from arbridge.sandbox.xero.store import ZERO, Store, put_date

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
SERVICES = (
    ("Managed services", "MSP-100"),
    ("Microsoft 365 seats", "M365"),
    ("Backup and DR", "BDR"),
    ("Onsite hours", "LABOR"),
    ("Firewall licence", "FW"),
)


def seed(
    store: Store,
    tenant_id: str,
    *,
    customers: int = 10,
    invoices: int = 30,
    lines_per_invoice: int = 3,
    paid_share: float = 0.2,
    credited_share: float = 0.05,
    seed: int = 11,
) -> dict[str, int]:
    """Add customers and their invoices; return how many of each were added."""
    rng = random.Random(seed)  # noqa: S311 - test data
    with store.lock:
        org = store.org(tenant_id)
        now = store.now()
        contact_ids = []
        for n in range(customers):
            name = f"{NAMES[n % len(NAMES)]} {n + 1}"
            slug = "".join(ch for ch in name.lower() if ch.isalnum())
            contact = {
                "ContactID": str(uuid.uuid4()),
                "ContactStatus": "ACTIVE",
                "Name": name,
                "FirstName": "Accounts",
                "LastName": "Payable",
                "EmailAddress": f"ap@{slug}.example",
                "ContactPersons": [
                    {
                        "FirstName": "Pat",
                        "LastName": "Owner",
                        "EmailAddress": f"pat@{slug}.example",
                        "IncludeInEmails": True,
                    }
                ],
                "Addresses": [
                    {
                        "AddressType": "POBOX",
                        "City": "Portland",
                        "Region": "OR",
                        "PostalCode": "97201",
                        "Country": "United States",
                    }
                ],
                "Phones": [
                    {"PhoneType": "DEFAULT", "PhoneAreaCode": "503", "PhoneNumber": "555 0100"}
                ],
                "IsSupplier": False,
                "IsCustomer": True,
            }
            store._save(org, "Contacts", contact, event=False)
            contact_ids.append((contact["ContactID"], name))
        bank = next(a for a in org.records["Accounts"].values() if a["Type"] == "BANK")
        paid = credited = 0
        for n in range(invoices):
            contact_id, name = contact_ids[n % len(contact_ids)] if contact_ids else ("", "")
            lines = []
            for _ in range(lines_per_invoice):
                description, code = rng.choice(SERVICES)
                quantity = Decimal(rng.randint(1, 20))
                unit = Decimal(rng.randint(1500, 25000)) / 100
                lines.append(
                    {
                        "LineItemID": str(uuid.uuid4()),
                        "Description": description,
                        "Quantity": quantity,
                        "UnitAmount": unit,
                        "ItemCode": code,
                        "AccountCode": "200",
                        "TaxType": "NONE",
                        "TaxAmount": ZERO,
                        "LineAmount": quantity * unit,
                    }
                )
            total = sum((line["LineAmount"] for line in lines), ZERO)
            issued = (now - dt.timedelta(days=rng.randint(0, 90))).date()
            invoice: dict[str, Any] = {
                "Type": "ACCREC",
                "InvoiceID": str(uuid.uuid4()),
                "InvoiceNumber": store._number(org, "INV"),
                "Contact": {"ContactID": contact_id, "Name": name},
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "CurrencyCode": "USD",
                "Reference": "",
                "LineItems": lines,
                "SubTotal": total,
                "TotalTax": ZERO,
                "Total": total,
                "AmountPaid": ZERO,
                "AmountCredited": ZERO,
                "AmountDue": total,
                "Payments": [],
                "CreditNotes": [],
                "HasAttachments": False,
            }
            put_date(invoice, "Date", issued)
            put_date(invoice, "DueDate", issued + dt.timedelta(days=30))
            store._save(org, "Invoices", invoice, event=False)
            if rng.random() < paid_share:
                paid += 1
                store.create_payment(
                    tenant_id,
                    {
                        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                        "Account": {"Code": bank["Code"]},
                        "Amount": (total / 2).quantize(Decimal("0.01")),
                        "Date": issued.isoformat(),
                    },
                )
            elif rng.random() < credited_share:
                credited += 1
                note = store.create_credit_note(
                    tenant_id,
                    {
                        "Contact": {"ContactID": contact_id},
                        "LineItems": [
                            {"Description": "Service credit", "Quantity": 1, "UnitAmount": "25.00"}
                        ],
                    },
                )
                store.allocate(
                    tenant_id,
                    note["CreditNoteID"],
                    {
                        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                        "Amount": min(Decimal("25.00"), total),
                    },
                )
    return {"contacts": customers, "invoices": invoices, "payments": paid, "credit_notes": credited}
