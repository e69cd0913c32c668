"""Realistic data for a sandbox tenant: an MSP's clients, their contacts, agreements and billing.

`seed(target, tenant, ...)` writes through the Halo API when given an
httpx.Client (authorized, with the sandbox as base_url), as a Halo user
would; given a Store it writes to the store directly, the fast path for
large volumes (the API's 450 requests in 5 minutes would take hours).
The same rng_seed gives the same tenant.

Each client gets one billing contact (a user with "Send accounts emails")
and a couple of others; most invoices belong to one of the client's
agreements; a few have no agreement and one has no client at all, so every
case arbridge handles is there.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from arbridge.sandbox.halopsa.wire import CENT, dumps, loads

if TYPE_CHECKING:
    from arbridge.sandbox.halopsa.store import Store

PLACES = [
    "Summit", "Riverside", "Northwind", "Harbor", "Cedar", "Pinecrest", "Lakeshore", "Granite",
    "Bluewater", "Redwood", "Maple", "Ironbridge", "Sterling", "Oakridge", "Silverline",
]  # fmt: skip
TRADES = [
    "Dental", "Law", "Logistics", "Accounting", "Architects", "Veterinary", "Realty",
    "Insurance", "Engineering", "Pediatrics", "Construction", "Marketing", "Credit Union",
]  # fmt: skip
SUFFIXES = ["LLC", "Group", "Partners", "Inc.", "Associates"]
FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas"]
LAST = ["Adams", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Gupta", "Hughes", "Ito"]
# (code, description, price, typical quantities, agreement type it bills under)
ITEMS = [
    ("MS-DEV", "Managed Services - Per Device", "45.00", (5, 150), "Managed Services"),
    ("MS-USR", "Managed Services - Per User", "125.00", (3, 60), "Managed Services"),
    ("M365-BP", "Microsoft 365 Business Premium", "22.00", (3, 80), "Managed Services"),
    ("PRJ-LAB", "Project Labor", "165.00", (1, 40), "Project"),
    ("AH-SUP", "After-hours Support", "225.00", (1, 6), "Break-Fix"),
    ("FW-APP", "Firewall Appliance", "899.00", (1, 2), "Hardware"),
]
AGREEMENT_TYPES = ["Managed Services", "Project", "Break-Fix"]


def seed(
    target: Store | httpx.Client,
    tenant: str,
    *,
    clients: int = 10,
    contacts_per_client: int = 3,
    invoices: int = 40,
    lines_per_invoice: int = 3,
    payments: int | None = None,
    credit_notes: int | None = None,
    rng_seed: int = 1,
) -> dict[str, int]:
    """Fill a tenant with an MSP's billing; return how many of each were created."""
    rng = random.Random(rng_seed)
    write, today = _access(target, tenant)
    payments = invoices // 4 if payments is None else payments
    credit_notes = invoices // 20 if credit_notes is None else credit_notes

    made = {"clients": 0, "contacts": 0, "agreements": 0, "invoices": 0, "payments": 0}
    made["credit_notes"] = 0
    names: set[str] = set()
    books: list[tuple[int, list[dict]]] = []  # (client id, its agreements)
    for number in range(clients):
        name = f"{rng.choice(PLACES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
        name = name if name not in names else f"{name} #{number}"
        names.add(name)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        client = write(
            "Client",
            {
                "name": name,
                "accountsemailaddress": f"ap@{slug}.example",
                "main_phonenumber": f"({rng.randint(201, 989)}) 555-{number % 10000:04d}",
                "website": f"https://{slug}.example",
            },
        )
        made["clients"] += 1
        for position in range(contacts_per_client):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            write(
                "Users",
                {
                    "client_id": client["id"],
                    "firstname": first,
                    "surname": last,
                    "emailaddress": f"{first.lower()}.{last.lower()}@{slug}.example",
                    "phonenumber": f"555-{rng.randint(1000, 9999)}",
                    # The first contact receives the invoices; the others never should.
                    "sendaccountsemails": position == 0,
                    "ismaincontact": position == 1,
                },
            )
            made["contacts"] += 1
        agreements = []
        for kind in rng.sample(AGREEMENT_TYPES, k=rng.randint(1, 2)):
            start = today - dt.timedelta(days=rng.randint(60, 700))
            agreements.append(
                write(
                    "ClientContract",
                    {
                        "client_id": client["id"],
                        "contracttype_name": kind,
                        "start_date": start.isoformat(),
                        "end_date": (start + dt.timedelta(days=365 * 3)).isoformat(),
                    },
                )
            )
            made["agreements"] += 1
        books.append((client["id"], agreements))

    billed: list[dict] = []
    for number in range(invoices if books else 0):
        client_id, agreements = rng.choice(books)
        agreement = rng.choice(agreements) if rng.random() < 0.85 else None
        kind = agreement["contracttype_name"] if agreement else None
        choices = [item for item in ITEMS if item[4] == kind] or ITEMS
        lines = []
        for _ in range(lines_per_invoice):
            code, description, price, (low, high), _ = rng.choice(choices)
            lines.append(
                {
                    "item_code": code,
                    "item_shortdescription": description,
                    "qty_order": rng.randint(low, high),
                    "unit_price": Decimal(price),
                }
            )
        date = today - dt.timedelta(days=rng.randint(0, 120))
        body: dict[str, Any] = {
            "client_id": client_id if number != invoices - 1 else None,
            "invoice_date": date.isoformat(),
            "duedate": (date + dt.timedelta(days=rng.choice((15, 30)))).isoformat(),
            "lines": lines,
            "posted": True,
        }
        if agreement and body["client_id"]:
            body["contract_id"] = agreement["id"]
        billed.append(write("Invoice", body))
        made["invoices"] += 1

    rng.shuffle(billed)
    for invoice in billed[:payments]:
        total = Decimal(invoice["total"])
        share = Decimal(1) if rng.random() < 0.7 else Decimal(rng.randint(20, 80)) / 100
        write(
            "InvoicePayment",
            {
                "invoice_id": invoice["id"],
                "amount": (total * share).quantize(CENT),
                "date": today.isoformat(),
                "thirdpartyid": f"{rng.choice(['CHK', 'ACH'])} {rng.randint(1000, 99999)}",
            },
        )
        made["payments"] += 1
    for invoice in billed[payments : payments + credit_notes]:
        amount = min(Decimal(invoice["total"]), Decimal(rng.randint(50, 250)))
        write(
            "Invoice",
            {
                "client_id": invoice["client_id"],
                "creditlinkedtoinvoiceid": invoice["id"],
                "lines": [
                    {"item_shortdescription": "Service credit - SLA breach", "unit_price": amount}
                ],
            },
        )
        made["credit_notes"] += 1
    return made


Write = Callable[[str, dict], dict]


def _access(target: Store | httpx.Client, tenant: str) -> tuple[Write, dt.date]:
    """Return how to write a record in the tenant, and its today."""
    if isinstance(target, httpx.Client):

        def write(table: str, body: dict) -> dict:
            response = target.post(
                f"/api/{table}",
                content=dumps([body]),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            return loads(response.content)

        return write, dt.datetime.now(dt.UTC).date()

    def write_directly(table: str, body: dict) -> dict:
        return target.save(tenant, table, body)

    return write_directly, target.clock().date()
