"""Fill a sandbox ConnectWise company through its own API, as an MSP's billing person would."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import httpx

from arbridge.sandbox.connectwise.app import (
    API,
    CLIENT_ID,
    COMPANY,
    MEDIA_TYPE,
    PRIVATE_KEY,
    PUBLIC_KEY,
    VERSION,
    ConnectWiseSandbox,
    basic,
    dumps,
)

# What an MSP bills: (catalog item, description, unit price).
PRODUCTS = (
    ("MANAGED-SVC", "Managed services, per device", Decimal("45.00")),
    ("BACKUP-365", "Microsoft 365 backup, per user", Decimal("4.50")),
    ("FW-LICENSE", "Firewall licence renewal", Decimal("320.00")),
    ("ONSITE-HR", "On-site support, hourly", Decimal("125.00")),
)
NAMES = (
    "Bluebird Dental", "Harbor Logistics", "Cedar Law Group", "Summit Physical Therapy",
    "Lakeside Veterinary", "Northwind Traders", "Granite Accounting", "Maple Street Clinic",
)  # fmt: skip


def api_client(app: ConnectWiseSandbox, root: str = "http://cw.test") -> httpx.Client:
    """Return a client of the sandbox's API with the company's keys, as an integration has."""
    headers = {
        "Authorization": basic(COMPANY, PUBLIC_KEY, PRIVATE_KEY),
        "clientId": CLIENT_ID,
        "Accept": f"{MEDIA_TYPE}; version={VERSION}",
        "Content-Type": "application/json",
    }
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"{root}{API}", headers=headers
    )


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, content=dumps(body))
    response.raise_for_status()
    return response.json()


def seed(
    app: ConnectWiseSandbox, *, companies: int = 5, invoices_per_company: int = 3, rng: int = 0
) -> dict[str, list[int]]:
    """Create companies, a billing contact each, and invoices of product lines; return the ids."""
    pick = random.Random(rng)  # noqa: S311 - sample data
    client = api_client(app)
    made: dict[str, list[int]] = {"companies": [], "contacts": [], "invoices": [], "products": []}
    today = dt.date(2026, 3, 2)
    for number in range(companies):
        name = NAMES[number % len(NAMES)] + ("" if number < len(NAMES) else f" {number}")
        company = post(client, "/company/companies", {"name": name, "phoneNumber": "555-0100"})
        made["companies"].append(company["id"])
        email = f"billing@{name.split()[0].lower()}.example"
        contact = post(client, "/company/contacts", {
            "firstName": "Accounts", "lastName": "Payable", "company": {"id": company["id"]},
            "defaultBillingFlag": True,
            "communicationItems": [{"type": {"id": 1, "name": "Email"}, "value": email,
                                    "communicationType": "Email", "defaultFlag": True}],
        })  # fmt: skip
        made["contacts"].append(contact["id"])
        for _ in range(invoices_per_company):
            issued = today - dt.timedelta(days=pick.randint(0, 60))
            lines = [
                (*pick.choice(PRODUCTS), pick.randint(1, 20)) for _ in range(pick.randint(1, 2))
            ]
            total = sum(price * quantity for _, _, price, quantity in lines)
            invoice = post(client, "/finance/invoices", {
                "type": "Standard", "company": {"id": company["id"]},
                "date": f"{issued.isoformat()}T00:00:00Z",
                "dueDate": f"{(issued + dt.timedelta(days=30)).isoformat()}T00:00:00Z",
                "billingTerms": {"id": 1, "name": "Net 30"}, "total": total,
                "currency": {"id": 7, "currencyCode": "USD"},
            })  # fmt: skip
            made["invoices"].append(invoice["id"])
            for item, description, price, quantity in lines:
                product = post(client, "/procurement/products", {
                    "catalogItem": {"identifier": item}, "description": description,
                    "quantity": quantity, "price": price, "invoice": {"id": invoice["id"]},
                })  # fmt: skip
                made["products"].append(product["id"])
    return made
