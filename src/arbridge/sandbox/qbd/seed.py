"""A company file of an MSP's customers, invoices and some payments, from a seeded generator."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from arbridge.sandbox.qbd.company import Company

SERVICES = (
    ("Managed services", "1200.00"),
    ("Microsoft 365 Business Premium", "22.00"),
    ("Endpoint protection", "6.50"),
    ("Backup and recovery", "150.00"),
    ("On-site support (hours)", "125.00"),
    ("Firewall subscription", "45.00"),
)
NAMES = ("Bluebird Dental", "Harbor Logistics", "Cedar Law", "Northwind Clinic", "Summit Realty")


def seed(
    company: Company,
    *,
    customers: int,
    invoices: int,
    lines: int = 3,
    paid_share: float = 0.2,
    seed: int = 1,
) -> None:
    """Fill the company: customers, invoices spread over them, a share of invoices paid."""
    rng = random.Random(seed)  # noqa: S311 - test data
    ids = []
    for n in range(customers):
        name = f"{NAMES[n % len(NAMES)]} {n + 1}"
        ids.append(company.add_customer(name, f"ap{n + 1}@example.com", contact="Accounts Payable"))
    today = company.clock().date()
    for n in range(invoices):
        customer = ids[n % len(ids)]
        picked = [SERVICES[rng.randrange(len(SERVICES))] for _ in range(lines)]
        txn = company.add_invoice(
            customer,
            [(desc, Decimal(price)) for desc, price in picked],
            number=str(10001 + n),
            date=today - dt.timedelta(days=rng.randrange(90)),
        )
        if rng.random() < paid_share:
            company.receive_payment(customer, [(txn, company.balance(txn))], ref_number=f"CHK{n}")
