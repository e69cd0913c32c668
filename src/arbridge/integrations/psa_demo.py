"""The demo's HaloPSA and ConnectWise: sandboxes served at /sandbox/<kind>, and an MSP in each.

The sandboxes are their packages' (arbridge.sandbox.<kind>.demo, mounted by
the web server); `connect()` fills them with what the demo partner bills
from its PSAs and connects its connections to them with the sandboxes' own
keys, so that their customers, contacts and invoices arrive through the
connectors, as a real partner's do. A few invoices are billed in QuickBooks
too (integrations/qbo_demo.py): same number, total and currency, so the
hierarchy links each to both sources; one ConnectWise invoice disagrees, and
is left as a duplicate-number exception for a person to resolve. Autotask's
sandbox is mounted too, for a person to connect. The sandboxes live in the
web server's memory, so each start seeds them afresh.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import httpx
from django.conf import settings

from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.sandbox import connectwise, halopsa
from arbridge.sandbox.connectwise import app as connectwise_app
from arbridge.sandbox.connectwise import demo as connectwise_demo
from arbridge.sandbox.connectwise.seed import api_client, post
from arbridge.sandbox.halopsa import app as halopsa_app
from arbridge.sandbox.halopsa import demo as halopsa_demo
from arbridge.sandbox.halopsa.store import DEFAULT_VERSION
from arbridge.sandbox.qbo import demo as qbo_demo

HALO_TENANT = halopsa_demo.TENANT
HALO_CLIENTS, HALO_INVOICES = 15, 40
CONNECTWISE_COMPANIES, CONNECTWISE_INVOICES = 10, 36
RNG_SEED = 20250101
# QuickBooks invoices billed in a PSA as well: this many in each.
SHARED_INVOICES = 3

CONNECTWISE_NAMES = [
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

_seeded: set[str] = set()


def connect(halo: Connection, cw: Connection) -> None:
    """Seed both PSAs if this process has not, connect the connections to them, sync them."""
    if "halopsa" not in _seeded:
        seed_halopsa(halopsa_demo.sandbox().store)
        _seeded.add("halopsa")
    if "connectwise" not in _seeded:
        seed_connectwise(connectwise_demo.sandbox())
        _seeded.add("connectwise")
    wire(
        halo,
        HALO_TENANT,
        base_url=f"{settings.BASE_URL}{halopsa_demo.MOUNT}",
        client_id=halopsa_app.CLIENT_ID,
        client_secret=halopsa_app.CLIENT_SECRET,
        # What the test call of a real connection would have detected.
        version=DEFAULT_VERSION,
    )
    wire(
        cw,
        connectwise_app.COMPANY,
        base_url=f"{settings.BASE_URL}{connectwise_demo.MOUNT}",
        public_key=connectwise_app.PUBLIC_KEY,
        private_key=connectwise_app.PRIVATE_KEY,
        client_id=connectwise_app.CLIENT_ID,
    )


def wire(connection: Connection, remote_account: str, **credentials: str) -> SyncRun:
    """Store the sandbox's keys on the connection, mark it connected, request a sync."""

    connection.credentials = {**connection.credentials, **credentials}
    connection.remote_account = remote_account
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["credentials", "remote_account", "status", "status_detail"])
    first = not connection.sync_runs.exists()
    return request_sync(connection, SyncRun.Trigger.INITIAL if first else SyncRun.Trigger.SCHEDULE)


def shared_invoices() -> list[dict]:
    """Return the QuickBooks invoices the PSAs bill too, oldest ids first."""
    realm = qbo_demo.STORE.realm(qbo_demo.REALM)
    ids = sorted(realm.tables["Invoice"])[: 2 * SHARED_INVOICES + 1]
    return [qbo_demo.STORE.document(qbo_demo.REALM, "Invoice", str(id)) for id in ids]


def seed_halopsa(store: halopsa.Store) -> None:
    """Fill the HaloPSA tenant with clients, billing contacts and invoices with lines."""
    halopsa.seed(
        store,
        HALO_TENANT,
        clients=HALO_CLIENTS,
        invoices=HALO_INVOICES,
        lines_per_invoice=3,
        rng_seed=RNG_SEED,
    )
    for invoice in shared_invoices()[:SHARED_INVOICES]:
        client = store.save(
            HALO_TENANT,
            "Client",
            {"name": invoice["CustomerRef"]["name"], "accountsemailaddress": "ap@shared.example"},
        )
        store.save(
            HALO_TENANT,
            "Users",
            {
                "client_id": client["id"],
                "firstname": "Accounts",
                "surname": "Payable",
                "emailaddress": f"ap+{client['id']}@shared.example",
                "sendaccountsemails": True,
            },
        )
        store.save(
            HALO_TENANT,
            "Invoice",
            {
                "client_id": client["id"],
                "invoicenumber": invoice["DocNumber"],
                "invoice_date": invoice["TxnDate"],
                "duedate": invoice.get("DueDate", invoice["TxnDate"]),
                "currency_code_name": invoice["CurrencyRef"]["value"],
                # One line for the whole amount: QuickBooks' lines are its own items.
                "lines": [
                    {
                        "item_shortdescription": "Managed services (also billed in QuickBooks)",
                        "qty_order": 1,
                        "unit_price": Decimal(str(invoice["TotalAmt"])),
                    }
                ],
                "posted": True,
            },
        )


def seed_connectwise(app: connectwise.ConnectWiseSandbox) -> None:
    """Fill the ConnectWise company through its API, as the MSP's billing person would."""
    rng = random.Random(RNG_SEED)
    today = app.clock().date()
    shared = shared_invoices()
    with api_client(app) as client:
        companies = []
        for name in CONNECTWISE_NAMES[:CONNECTWISE_COMPANIES]:
            companies.append(company(client, rng, name))
        number = 7300
        for _ in range(CONNECTWISE_INVOICES):
            number += 1
            reference, low, high = rng.choice(AGREEMENTS)
            issued = today - dt.timedelta(days=rng.randrange(0, 150))
            total = Decimal(rng.randrange(low * 100, high * 100)) / 100
            invoice(client, rng.choice(companies), f"CW-{number}", issued, total, reference)
        for shared_invoice in shared[SHARED_INVOICES:]:
            total = Decimal(str(shared_invoice["TotalAmt"]))
            if shared_invoice is shared[-1]:
                # Billed again by mistake, for a different amount: a conflict to resolve.
                total += Decimal("100.00")
            invoice(
                client,
                company(client, rng, shared_invoice["CustomerRef"]["name"]),
                shared_invoice["DocNumber"],
                dt.date.fromisoformat(shared_invoice["TxnDate"]),
                total,
                "Managed services (also billed in QuickBooks)",
            )


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
