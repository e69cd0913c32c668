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
    """Create companies, a billing contact each, and invoices; return the ids made."""
    pick = random.Random(rng)  # noqa: S311 - sample data
    client = api_client(app)
    made: dict[str, list[int]] = {"companies": [], "contacts": [], "invoices": []}
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
            total = Decimal(pick.randint(5_000, 250_000)) / 100
            invoice = post(client, "/finance/invoices", {
                "type": "Standard", "company": {"id": company["id"]},
                "date": f"{issued.isoformat()}T00:00:00Z",
                "dueDate": f"{(issued + dt.timedelta(days=30)).isoformat()}T00:00:00Z",
                "billingTerms": {"id": 1, "name": "Net 30"}, "total": total,
                "currency": {"id": 7, "currencyCode": "USD"},
            })  # fmt: skip
            made["invoices"].append(invoice["id"])
    return made
