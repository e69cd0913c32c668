"""The demo's ConnectWise PSA: the sandbox the web server mounts at MOUNT, and a company in it.

Framework-free (sandbox/common/demo.py): `seed_demo()` fills the company
through its API, as the MSP's billing person would: companies with billing
contacts, agreement invoices with their product lines, the accounting
system's shared invoices after HaloPSA's share (one billed again by mistake
for a different amount: a duplicate-number exception for a person to
resolve), and a few closed invoices the Sync Tool has yet to bring over. It
calls back the URLs a connection registers with it. The company lives in the
web server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from functools import cache

import httpx

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest, SharedInvoice
from arbridge.sandbox.connectwise.app import (
    CLIENT_ID,
    COMPANY,
    PRIVATE_KEY,
    PUBLIC_KEY,
    ConnectWiseSandbox,
    create_app,
)
from arbridge.sandbox.connectwise.seed import api_client, post

MOUNT = "/sandbox/connectwise"
ROLE = "tertiary"
COMPANIES, INVOICES = 10, 36
RNG_SEED = 20250101
# The shared invoices HaloPSA bills come first; ConnectWise bills the rest.
AFTER_SHARED = 3

NAMES = [
    "Bluebird Dental", "Harbor Logistics", "Cedar Law Group", "Summit Physical Therapy",
    "Lakeside Veterinary", "Granite Accounting", "Maple Street Clinic", "Evergreen Realty",
    "Stonegate Engineering", "Clearview Credit Union",
]  # fmt: skip
FIRST_NAMES = ["Alex", "Jordan", "Priya", "Marcus", "Elena", "Sam", "Grace", "Omar", "Mei"]
LAST_NAMES = ["Nguyen", "Patel", "Garcia", "Okafor", "Kowalski", "Chen", "Rossi", "Walsh"]
# ConnectWise bills an agreement's monthly amount: (reference, low, high) in dollars.
AGREEMENTS = [
    ("Managed services", 1_200, 9_500),
    ("Backup and disaster recovery", 250, 1_400),
    ("Project labour", 900, 6_000),
]
# (customer, number, total): closed in ConnectWise, waiting for the Sync Tool.
CLOSED = (
    ("Fabrikam Dental Group", "CW-8101", "1240.00"),
    ("Fabrikam Dental Group", "CW-8102", "385.50"),
    ("Tailspin Toys Logistics", "CW-8103", "2975.00"),
    ("Wide World Importers", "CW-8104", "640.25"),
)


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> ConnectWiseSandbox:
    """Return the sandbox to mount, sending the callbacks connections register."""
    return _sandbox()


@cache
def _sandbox() -> ConnectWiseSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    return create_app(http=httpx.Client(timeout=10))


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the company once per process; return the keys of a connection to it."""
    _seed(request.shared[AFTER_SHARED:])
    return DemoAccount(
        account=COMPANY,
        credentials={
            "base_url": request.base_url,
            "public_key": PUBLIC_KEY,
            "private_key": PRIVATE_KEY,
            "client_id": CLIENT_ID,
        },
    )


@cache
def _seed(shared: tuple[SharedInvoice, ...]) -> None:
    app = _sandbox()
    rng = random.Random(RNG_SEED)
    today = app.clock().date()
    with api_client(app) as client:
        companies = [company(client, rng, name) for name in NAMES[:COMPANIES]]
        number = 7300
        for _ in range(INVOICES):
            number += 1
            reference, low, high = rng.choice(AGREEMENTS)
            issued = today - dt.timedelta(days=rng.randrange(0, 150))
            total = Decimal(rng.randrange(low * 100, high * 100)) / 100
            invoice(client, rng.choice(companies), f"CW-{number}", issued, total, reference)
        for shared_invoice in shared:
            total = shared_invoice.total
            if shared_invoice is shared[-1]:
                # Billed again by mistake, for a different amount: a conflict to resolve.
                total += Decimal("100.00")
            invoice(
                client,
                company(client, rng, shared_invoice.customer),
                shared_invoice.number,
                shared_invoice.issued,
                total,
                "Managed services (also billed in the accounting system)",
            )
        bill_closed(client, today - dt.timedelta(days=3))


def company(client: httpx.Client, rng: random.Random, name: str) -> int:
    """Create a company with a billing contact and another; return its id."""
    created = post(client, "/company/companies", {"name": name, "phoneNumber": "555-0100"})
    domain = "".join(ch for ch in name.lower() if ch.isalnum())[:24] + ".example"
    for billing in (True, False):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@{domain}".lower()
        post(client, "/company/contacts", {
            "firstName": first, "lastName": last, "company": {"id": created["id"]},
            "defaultBillingFlag": billing,
            "communicationItems": [{"type": {"id": 1, "name": "Email"}, "value": email,
                                    "communicationType": "Email", "defaultFlag": True}],
        })  # fmt: skip
    return created["id"]


def invoice(
    client: httpx.Client,
    company_id: int,
    number: str,
    issued: dt.date,
    total: Decimal,
    reference: str,
) -> None:
    """Bill a company one agreement amount: an invoice with the product line it is for."""
    created = post(client, "/finance/invoices", {
        "type": "Standard", "invoiceNumber": number, "company": {"id": company_id},
        "date": f"{issued.isoformat()}T00:00:00Z",
        "dueDate": f"{(issued + dt.timedelta(days=30)).isoformat()}T00:00:00Z",
        "billingTerms": {"id": 1, "name": "Net 30"}, "total": total, "reference": reference,
        "currency": {"id": 7, "currencyCode": "USD"},
    })  # fmt: skip
    item = "".join(word[0] for word in reference.split()).upper() + "-MONTHLY"
    post(client, "/procurement/products", {
        "catalogItem": {"identifier": item}, "description": reference, "quantity": 1,
        "price": total, "invoice": {"id": created["id"]},
    })  # fmt: skip


def bill_closed(client: httpx.Client, issued: dt.date) -> None:
    """Bill the invoices closed here that the books do not have yet."""
    companies: dict[str, int] = {}
    for customer, number, total in CLOSED:
        if customer not in companies:
            companies[customer] = post(client, "/company/companies", {"name": customer})["id"]
        post(client, "/finance/invoices", {
            "type": "Standard", "invoiceNumber": number, "company": {"id": companies[customer]},
            "status": {"id": 3, "name": "Closed"},
            "date": f"{issued.isoformat()}T00:00:00Z",
            "dueDate": f"{(issued + dt.timedelta(days=30)).isoformat()}T00:00:00Z",
            "total": Decimal(total), "currency": {"id": 7, "currencyCode": "USD"},
        })  # fmt: skip
