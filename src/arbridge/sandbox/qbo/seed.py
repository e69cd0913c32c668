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
    "Wealth Advisors", "Physical Therapy", "Family Medicine", "Auto Sales", "Brewing",
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
    """Fill a company with an MSP's books; return how many of each were created.

    By default a quarter of the invoices are paid (most in full), one in fifty
    gets a credit memo (half of them applied), and payments are deposited in
    fives with the card fees taken out.
    """
    rng = random.Random(rng_seed)
    write, find, today = _access(target, realm_id)
    payments = invoices // 4 if payments is None else payments
    credit_memos = invoices // 50 if credit_memos is None else credit_memos
    deposits = payments // 10 if deposits is None else deposits

    accounts = {
        body["Name"]: _find_or_create(find, write, "Account", "Name", body)["Id"]
        for body in ACCOUNTS
    }
    terms = [
        _find_or_create(find, write, "Term", "Name", {"Name": name, "DueDays": days})["Id"]
        for name, days in TERMS
    ]
    items = []  # (id, unit price, typical quantities)
    for name, kind, price, income, quantities in ITEMS:
        body = {
            "Name": name,
            "Type": kind,
            "UnitPrice": Decimal(price),
            "IncomeAccountRef": {"value": accounts[income]},
        }
        item = _find_or_create(find, write, "Item", "Name", body)
        items.append((item["Id"], Decimal(item.get("UnitPrice", price)), quantities))

    taken: set[str] = set()
    clients = [
        write("Customer", _customer(rng, number, taken, terms)) for number in range(customers)
    ]

    billed = []  # (invoice id, customer id, date, total)
    for _ in range(invoices if clients else 0):
        lines = []
        for position in range(lines_per_invoice):
            item_id, price, (low, high) = items[0] if position == 0 else rng.choice(items[1:])
            quantity = rng.randint(low, high)
            detail = {"ItemRef": {"value": item_id}, "Qty": quantity, "UnitPrice": price}
            lines.append(
                {
                    "Amount": (price * quantity).quantize(CENT),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
        date = today - dt.timedelta(days=rng.randint(0, 120))
        customer = rng.choice(clients)
        body = {"CustomerRef": {"value": customer}, "TxnDate": date.isoformat(), "Line": lines}
        total = sum((line["Amount"] for line in lines), Decimal(0))
        billed.append((write("Invoice", body), customer, date, total))

    rng.shuffle(billed)
    received = []  # (payment id, amount)
    for invoice_id, customer, date, total in billed[:payments]:
        share = 1 if rng.random() < 0.7 else Decimal(rng.randint(20, 80)) / 100
        amount = (total * share).quantize(CENT)
        paid_on = min(today, date + dt.timedelta(days=rng.randint(5, 45)))
        body = {
            "CustomerRef": {"value": customer},
            "TxnDate": paid_on.isoformat(),
            "TotalAmt": amount,
            "PaymentRefNum": f"{rng.choice(['CHK', 'ACH', 'CC'])} {rng.randint(1000, 99999)}",
            "Line": [_applied(amount, "Invoice", invoice_id)],
        }
        received.append((write("Payment", body), amount))

    credited = billed[payments : payments + credit_memos]
    for invoice_id, customer, _, total in credited:
        amount = min(total, Decimal(rng.randint(50, 250))).quantize(CENT)
        line = {
            "Amount": amount,
            "Description": "Service credit - SLA breach",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": items[0][0]}},
        }
        memo = write("CreditMemo", {"CustomerRef": {"value": customer}, "Line": [line]})
        if rng.random() < 0.5:  # QuickBooks applies a credit with a payment of nothing.
            lines = [_applied(amount, "Invoice", invoice_id), _applied(amount, "CreditMemo", memo)]
            write("Payment", {"CustomerRef": {"value": customer}, "TotalAmt": 0, "Line": lines})

    batches = [received[start : start + 5] for start in range(0, len(received), 5)][:deposits]
    for batch in batches:
        gross = sum((amount for _, amount in batch), Decimal(0))
        lines = [
            {
                "Amount": amount,
                "LinkedTxn": [{"TxnId": payment, "TxnType": "Payment", "TxnLineId": "0"}],
            }
            for payment, amount in batch
        ]
        fees = {
            "Amount": -(gross * Decimal("0.029")).quantize(CENT),
            "Description": "Card processing fees",
            "DetailType": "DepositLineDetail",
            "DepositLineDetail": {"AccountRef": {"value": accounts["Merchant Fees"]}},
        }
        body = {
            "DepositToAccountRef": {"value": accounts["Business Checking"]},
            "Line": [*lines, fees],
        }
        write("Deposit", body)

    return {
        "customers": len(clients),
        "invoices": len(billed),
        "payments": len(received),
        "credit_memos": len(credited),
        "deposits": len(batches),
    }


def _customer(rng: random.Random, number: int, taken: set[str], terms: list[str]) -> dict:
    name = f"{rng.choice(PLACES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
    if name in taken:  # Names repeat among thousands of customers; DisplayName may not.
        name = f"{name} ({number})"
    taken.add(name)
    city, state, postal = rng.choice(CITIES)
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
    return {
        "DisplayName": name,
        "CompanyName": name,
        "PrimaryEmailAddr": {"Address": f"ap@{slug}.example"},
        "PrimaryPhone": {"FreeFormNumber": f"({rng.randint(201, 989)}) 555-{number % 10000:04d}"},
        "BillAddr": {
            "Line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
            "City": city,
            "CountrySubDivisionCode": state,
            "PostalCode": postal,
            "Country": "USA",
        },
        "SalesTermRef": {"value": rng.choice(terms)},
    }


def _applied(amount: Decimal, kind: str, id: str) -> dict[str, Any]:
    return {"Amount": amount, "LinkedTxn": [{"TxnId": id, "TxnType": kind}]}


Write = Callable[[str, dict], str]  # returns the new entity's Id
Find = Callable[[str, str, str], dict | None]


def _find_or_create(find: Find, write: Write, entity: str, key: str, body: dict) -> dict:
    return find(entity, key, body[key]) or {**body, "Id": write(entity, body)}


def _access(target: Store | httpx.Client, realm_id: str) -> tuple[Write, Find, dt.date]:
    """Return how to write and find entities in the company, and its today."""
    if isinstance(target, httpx.Client):

        def call(method: str, path: str, **kwargs: Any) -> dict:
            response = target.request(method, f"/v3/company/{realm_id}/{path}", **kwargs)
            response.raise_for_status()
            return loads(response.content)

        def write(entity: str, body: dict) -> str:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            return call("POST", entity.lower(), content=dumps(body), headers=headers)[entity]["Id"]

        def select(text: str) -> dict:
            return call("GET", "query", params={"query": text})["QueryResponse"]

        today = company_date(dt.datetime.now(dt.UTC).timestamp())
    else:

        def write(entity: str, body: dict) -> str:
            return str(target.add(realm_id, entity, body))

        def select(text: str) -> dict:
            return loads(target.query(realm_id, text))

        today = company_date(target.now())

    def find(entity: str, key: str, value: str) -> dict | None:
        quoted = value.replace("'", "\\'")
        text = f"SELECT * FROM {entity} WHERE {key} = '{quoted}'"  # noqa: S608 - not SQL
        found = select(text).get(entity)
        return found[0] if found else None

    return write, find, today
