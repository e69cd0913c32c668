"""A DataGate account in memory, and the invoice export files it writes.

Telecom billing as an MSP reselling voice and mobility runs it: customers
with services (mobile numbers, hosted PBX seats, SIP trunks, internet
links), a monthly bill run of recurring charges, usage and the taxes and
fees on them, and the invoice export of that bill run: one CSV row per
charge, the invoice's header repeated on each (connectors/datagate/export.py
reads it; docs/decisions.md says what of the format is assumed). Seeded, so
a seed gives the same files every time.

# Reference: https://datagate-i.zendesk.com/hc/en-us/articles/15813221662105-How-To-Export-Invoices-To-ConnectWise-Agreements
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal

HEADERS = (
    "Invoice Number", "Invoice Date", "Due Date", "Customer Number", "Customer Name",
    "Billing Contact", "Billing Email", "Billing Phone", "Currency", "Service", "Charge Type",
    "Description", "Quantity", "Unit Price", "Amount", "Invoice Total", "Amount Due", "Status",
    "Period Start", "Period End",
)  # fmt: skip
CENT = Decimal("0.01")
PLANS = (
    ("Business Mobile 40GB", Decimal("45.00")),
    ("Business Mobile Unlimited", Decimal("65.00")),
    ("Hosted PBX seat", Decimal("24.95")),
    ("SIP trunk, 10 channels", Decimal("89.00")),
    ("Business fibre 100/40", Decimal("119.00")),
    ("Toll-free number", Decimal("15.00")),
)
USAGE = (
    ("Calls to mobiles", Decimal("0.09")),
    ("Long-distance calls", Decimal("0.04")),
    ("International calls", Decimal("0.35")),
    ("Mobile data overage (GB)", Decimal("10.00")),
    ("Toll-free inbound minutes", Decimal("0.03")),
)
FEES = (("Federal USF recovery", Decimal("0.034")), ("State 911 fee", Decimal("0.011")))
WORDS = (
    "Harbor", "Summit", "Cedar", "Bluebird", "Granite", "Lakeside", "Pioneer", "Maple", "Beacon",
    "Northgate", "Riverbend", "Ironwood", "Silverline", "Oakridge", "Redwood", "Westfield",
)  # fmt: skip
TRADES = ("Dental", "Logistics", "Law Group", "Realty", "Clinic", "Builders", "Accounting",
          "Veterinary", "Insurance", "Motors", "Studios", "Foods")  # fmt: skip


@dataclass
class Customer:
    number: str
    name: str
    contact: str
    email: str
    phone: str
    services: list[tuple[str, str, Decimal]]  # service id, plan, monthly price


@dataclass
class Invoice:
    number: str
    customer: str
    date: dt.date
    lines: list[tuple[str, str, str, Decimal, Decimal]]  # service, type, description, qty, price
    status: str = "Sent"
    paid: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((amount(qty, price) for *_, qty, price in self.lines), Decimal(0))

    @property
    def due(self) -> Decimal:
        return Decimal(0) if self.status in ("Void", "Paid") else self.total - self.paid


def amount(quantity: Decimal, price: Decimal) -> Decimal:
    return (quantity * price).quantize(CENT)


@dataclass
class Account:
    """One DataGate account: customers, invoices, and what changed since the last export."""

    rng: random.Random = field(default_factory=lambda: random.Random(1))
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    changed: dict[str, None] = field(default_factory=dict)  # invoice numbers, in order
    bill_date: dt.date = dt.date(2026, 11, 1)
    next_customer: int = 1001
    next_invoice: int = 500001
    currency: str = "USD"

    def add_customer(self, name: str | None = None, services: int = 3) -> str:
        rng = self.rng
        name = name or f"{rng.choice(WORDS)} {rng.choice(TRADES)}"
        number = f"C{self.next_customer}"
        self.next_customer += 1
        first = rng.choice(("Dana", "Lee", "Morgan", "Priya", "Sam", "Jordan", "Alex", "Kim"))
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:20] + ".example"
        lines = []
        for _ in range(services):
            plan, price = rng.choice(PLANS)
            service = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
            lines.append((service, plan, price))
        self.customers[number] = Customer(
            number, name, f"{first} {rng.choice(('Ng', 'Ortiz', 'Shah', 'Walsh', 'Kowalski'))}",
            f"accounts@{domain}", f"+1 555 01{rng.randrange(10, 99)}", lines,
        )  # fmt: skip
        return number

    def rename_customer(self, number: str, name: str) -> None:
        self.customers[number].name = name
        self.changed.update((n, None) for n, i in self.invoices.items() if i.customer == number)

    def bill(self, customer: str, total: Decimal | None = None) -> str:
        """Bill a customer's month: each service's plan, some usage, the fees; or one charge."""
        rng, who = self.rng, self.customers[customer]
        number = f"INV-{self.next_invoice}"
        self.next_invoice += 1
        if total is not None:
            lines = [(who.services[0][0], "One-off", "Telecom services", Decimal(1), total)]
        else:
            lines = [(service, "Recurring", plan, Decimal(1), price)
                     for service, plan, price in who.services]  # fmt: skip
            service = who.services[0][0]
            description, rate = rng.choice(USAGE)
            lines.append((service, "Usage", description, Decimal(rng.randrange(20, 400)), rate))
            base = sum((amount(q, p) for *_, q, p in lines), Decimal(0))
            description, share = rng.choice(FEES)
            lines.append(("", "Tax", description, Decimal(1), (base * share).quantize(CENT)))
        self.invoices[number] = Invoice(number, customer, self.bill_date, lines)
        self.changed[number] = None
        return number

    def change_invoice(self, number: str, total: Decimal) -> None:
        invoice = self.invoices[number]
        invoice.lines = [(invoice.lines[0][0], "One-off", "Telecom services", Decimal(1), total)]
        self.changed[number] = None

    def pay(self, number: str, paid: Decimal) -> None:
        invoice = self.invoices[number]
        invoice.paid += paid
        if invoice.paid >= invoice.total:
            invoice.status = "Paid"
        self.changed[number] = None

    def void(self, number: str) -> None:
        self.invoices[number].status = "Void"
        self.changed[number] = None

    def export(self, numbers: list[str] | None = None) -> bytes:
        """Return the invoice export of these invoices (default: those changed since the last)."""
        if numbers is None:
            numbers = list(self.changed)
            self.changed.clear()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for number in numbers:
            writer.writerows(self.rows(self.invoices[number]))
        return out.getvalue().encode("utf-8-sig")

    def rows(self, invoice: Invoice) -> list[list[str]]:
        who = self.customers[invoice.customer]
        end = invoice.date.replace(day=1) + dt.timedelta(days=31)
        period_end = end.replace(day=1) - dt.timedelta(days=1)
        header = [
            invoice.number, invoice.date.isoformat(),
            (invoice.date + dt.timedelta(days=30)).isoformat(), who.number, who.name,
            who.contact, who.email, who.phone, self.currency,
        ]  # fmt: skip
        totals = [str(invoice.total), str(invoice.due), invoice.status,
                  invoice.date.replace(day=1).isoformat(), period_end.isoformat()]  # fmt: skip
        return [
            [*header, service, kind, description, str(qty), str(price), str(amount(qty, price)),
             *totals]
            for service, kind, description, qty, price in invoice.lines
        ]  # fmt: skip


def seed(customers: int, invoices: int, rng_seed: int = 20261101) -> Account:
    """Return an account with customers and a bill run of invoices among them."""
    account = Account(rng=random.Random(rng_seed))
    numbers = [account.add_customer() for _ in range(customers)]
    for i in range(invoices):
        account.bill(numbers[i % len(numbers)])
    return account


def write_exports(account: Account, rows_per_file: int) -> list[bytes]:
    """Return the account's pending changes as export files of about this many invoices."""
    numbers = list(account.changed)
    account.changed.clear()
    return [
        account.export(numbers[i : i + rows_per_file])
        for i in range(0, len(numbers), rows_per_file)
    ]
