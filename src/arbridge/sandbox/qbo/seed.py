"""Realistic data for a sandbox company: an MSP's accounts, services, clients and billing.

`seed(target, realm_id, ...)` writes through the v3 API when given an
httpx.Client (authorized, with the sandbox as base_url), as a QuickBooks user
would; given a Store it writes to the store directly, which is the fast path
for benchmark volumes (the API's 500 requests a minute would take hours).
The same rng_seed gives the same company.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from arbridge.sandbox.qbo.wire import CENT, company_date, dumps, loads

if TYPE_CHECKING:
    from arbridge.sandbox.qbo.store import Store

PLACES = [
    "Summit", "Riverside", "Northwind", "Harbor", "Cedar", "Pinecrest", "Lakeshore", "Granite",
    "Bluewater", "Redwood", "Maple", "Ironbridge", "Sterling", "Oakridge", "Silverline",
    "Westfield", "Brightpath", "Evergreen", "Fairview", "Kingsley", "Meadowbrook", "Crescent",
    "Highland", "Lighthouse", "Copper", "Willow", "Stonegate", "Clearwater", "Foxhall", "Juniper",
]  # fmt: skip
TRADES = [
    "Dental", "Law", "Logistics", "Accounting", "Architects", "Veterinary", "Realty",
    "Insurance", "Engineering", "Pediatrics", "Construction", "Orthodontics", "Marketing",
    "Property Management", "Chiropractic", "Credit Union", "Title Company", "Manufacturing",
    "Wealth Advisors", "Physical Therapy", "Family Medicine", "Auto Group", "Brewing",
    "Landscaping", "Staffing", "Surveying", "Printing", "Hospitality", "Nonprofit", "Academy",
]  # fmt: skip
SUFFIXES = ["LLC", "Group", "Partners", "Inc.", "Associates", "PLLC"]
CITIES = [
    ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Raleigh", "NC", "27601"),
    ("Columbus", "OH", "43215"), ("Tampa", "FL", "33602"), ("Portland", "OR", "97204"),
    ("Madison", "WI", "53703"), ("Boise", "ID", "83702"), ("Richmond", "VA", "23219"),
]  # fmt: skip
STREETS = ["Main St", "Oak Ave", "Commerce Dr", "Park Blvd", "Market St", "Industrial Way"]

ACCOUNTS = [
    {"Name": "Business Checking", "AccountType": "Bank", "AccountSubType": "Checking"},
    {"Name": "Merchant Fees", "AccountType": "Expense", "AccountSubType": "BankCharges"},
    {"Name": "Managed Services Income", "AccountType": "Income"},
    {"Name": "Project Income", "AccountType": "Income"},
    {"Name": "Hardware Sales", "AccountType": "Income", "AccountSubType": "SalesOfProductIncome"},
]
# (name, type, price, income account, typical quantities)
ITEMS = [
    ("Managed Services - Per Device", "Service", "45.00", "Managed Services Income", (5, 150)),
    ("Managed Services - Per User", "Service", "125.00", "Managed Services Income", (3, 60)),
    ("Microsoft 365 Business Premium", "Service", "22.00", "Managed Services Income", (3, 80)),
    ("Backup & Disaster Recovery", "Service", "250.00", "Managed Services Income", (1, 3)),
    ("Project Labor", "Service", "165.00", "Project Income", (1, 40)),
    ("After-hours Support", "Service", "225.00", "Project Income", (1, 6)),
    ("Firewall Appliance", "NonInventory", "899.00", "Hardware Sales", (1, 2)),
]
TERMS = [("Net 15", 15), ("Net 30", 30)]


def seed(
    target: Store | httpx.Client,
    realm_id: str,
    *,
    customers: int = 25,
    invoices: int = 100,
    lines_per_invoice: int = 3,
    payments: int | None = None,
    credit_memos: int | None = None,
    deposits: int | None = None,
    rng_seed: int = 1,
) -> dict[str, int]:
    """Fill a company with an MSP's books; return how many of each were created."""
    rng = random.Random(rng_seed)
    write, find, today = _access(target, realm_id)
    payments = invoices // 4 if payments is None else payments
    credit_memos = invoices // 50 if credit_memos is None else credit_memos
    deposits = payments // 10 if deposits is None else deposits

    accounts = {a["Name"]: _find_or_create(find, write, "Account", "Name", a) for a in ACCOUNTS}
    undeposited = find("Account", "AccountSubType", "UndepositedFunds")
    terms = [
        _find_or_create(find, write, "Term", "Name", {"Name": name, "DueDays": days})
        for name, days in TERMS
    ]
    items = []
    for name, kind, price, income, quantities in ITEMS:
        body = {
            "Name": name,
            "Type": kind,
            "UnitPrice": Decimal(price),
            "IncomeAccountRef": {"value": accounts[income]["Id"]},
        }
        items.append((_find_or_create(find, write, "Item", "Name", body), quantities))

    names = set()
    clients = []
    for number in range(customers):
        name = _company_name(rng, names, number)
        city, state, postal = rng.choice(CITIES)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        body = {
            "DisplayName": name,
            "CompanyName": name,
            "PrimaryEmailAddr": {"Address": f"ap@{slug}.example"},
            "PrimaryPhone": {
                "FreeFormNumber": f"({rng.randint(201, 989)}) 555-{number % 10000:04d}"
            },
            "BillAddr": {
                "Line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                "City": city,
                "CountrySubDivisionCode": state,
                "PostalCode": postal,
                "Country": "USA",
            },
            "SalesTermRef": {"value": rng.choice(terms)["Id"]},
        }
        clients.append(write("Customer", body)["Id"])

    billed = []
    for _ in range(invoices if clients else 0):
        lines = []
        for position in range(lines_per_invoice):
            item, (low, high) = items[0] if position == 0 else rng.choice(items[1:])
            quantity = rng.randint(low, high)
            price = Decimal(item["UnitPrice"])
            lines.append(
                {
                    "Amount": (price * quantity).quantize(CENT),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "Qty": quantity,
                        "UnitPrice": price,
                    },
                }
            )
        date = today - dt.timedelta(days=rng.randint(0, 120))
        customer = rng.choice(clients)
        invoice = write(
            "Invoice",
            {"CustomerRef": {"value": customer}, "TxnDate": date.isoformat(), "Line": lines},
        )
        billed.append((invoice["Id"], customer, Decimal(invoice["TotalAmt"])))

    rng.shuffle(billed)
    received = []
    for invoice_id, customer, total in billed[:payments]:
        amount = total if rng.random() < 0.7 else (total * Decimal(rng.randint(20, 80)) / 100)
        amount = amount.quantize(CENT)
        payment = write(
            "Payment",
            {
                "CustomerRef": {"value": customer},
                "TotalAmt": amount,
                "PaymentRefNum": f"{rng.choice(['CHK', 'ACH', 'CC'])} {rng.randint(1000, 99999)}",
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                ],
            },
        )
        received.append(payment)

    credited = 0
    for invoice_id, customer, total in billed[payments : payments + credit_memos]:
        amount = min(total, Decimal(rng.randint(50, 250))).quantize(CENT)
        memo = write(
            "CreditMemo",
            {
                "CustomerRef": {"value": customer},
                "Line": [
                    {
                        "Amount": amount,
                        "Description": "Service credit - SLA breach",
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": items[0][0]["Id"]}},
                    }
                ],
            },
        )
        credited += 1
        if rng.random() < 0.5:  # Apply the credit to the invoice, as QuickBooks does: a $0 payment.
            links = [("Invoice", invoice_id), ("CreditMemo", memo["Id"])]
            write(
                "Payment",
                {
                    "CustomerRef": {"value": customer},
                    "TotalAmt": Decimal(0),
                    "Line": [
                        {"Amount": amount, "LinkedTxn": [{"TxnId": id, "TxnType": kind}]}
                        for kind, id in links
                    ],
                },
            )

    made = 0
    batches = [received[start : start + 5] for start in range(0, len(received), 5)]
    for batch in batches[:deposits]:
        gross = sum((Decimal(p["TotalAmt"]) for p in batch), Decimal(0))
        fee = (gross * Decimal("0.029")).quantize(CENT)
        lines: list[dict[str, Any]] = [
            {
                "Amount": Decimal(p["TotalAmt"]),
                "LinkedTxn": [{"TxnId": p["Id"], "TxnType": "Payment", "TxnLineId": "0"}],
            }
            for p in batch
            if undeposited and p["DepositToAccountRef"]["value"] == undeposited["Id"]
        ]
        lines.append(
            {
                "Amount": -fee,
                "Description": "Card processing fees",
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": {"value": accounts["Merchant Fees"]["Id"]}},
            }
        )
        write(
            "Deposit",
            {"DepositToAccountRef": {"value": accounts["Business Checking"]["Id"]}, "Line": lines},
        )
        made += 1

    return {
        "customers": len(clients),
        "invoices": len(billed),
        "payments": len(received),
        "credit_memos": credited,
        "deposits": made,
    }


def _company_name(rng: random.Random, taken: set[str], number: int) -> str:
    name = f"{rng.choice(PLACES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
    if name in taken:
        name = f"{name} #{number}"
    taken.add(name)
    return name


Write = Callable[[str, dict], dict]
Find = Callable[[str, str, str], dict | None]


def _find_or_create(find: Find, write: Write, entity: str, key: str, body: dict) -> dict:
    return find(entity, key, body[key]) or write(entity, body)


def _access(target: Store | httpx.Client, realm_id: str) -> tuple[Write, Find, dt.date]:
    """Return how to write and find entities in the company, and its today."""
    if isinstance(target, httpx.Client):

        def call(method: str, path: str, **kwargs: Any) -> dict:
            response = target.request(method, f"/v3/company/{realm_id}/{path}", **kwargs)
            response.raise_for_status()
            return loads(response.content)

        def write(entity: str, body: dict) -> dict:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            return call("POST", entity.lower(), content=dumps(body), headers=headers)[entity]

        def select(text: str) -> dict:
            return call("GET", "query", params={"query": text})["QueryResponse"]

        today = company_date(dt.datetime.now(dt.UTC).timestamp())
    else:

        def write(entity: str, body: dict) -> dict:
            return loads(target.create(realm_id, entity, body))

        def select(text: str) -> dict:
            return loads(target.query(realm_id, text))

        today = company_date(target.now())

    def find(entity: str, key: str, value: str) -> dict | None:
        quoted = value.replace("'", "\\'")
        text = f"SELECT * FROM {entity} WHERE {key} = '{quoted}'"  # noqa: S608 - not SQL
        found = select(text).get(entity)
        return found[0] if found else None

    return write, find, today
