"""The demo partner: Northwind MSP, its three connections and six months of billing.

What its PSAs bill is seeded here as rows; every balance comes from the
ledger's own operations (Payment.allocate, Payment.set_status, Credit.apply,
Invoice.void), so the demo obeys the same invariants as synced data. What
QuickBooks Online holds arrives through its connector from the sandbox
company (integrations/qbo_demo.py). The random generator is seeded: a fresh
demo made on the same day always looks the same.
"""

import datetime as dt
import json
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from arbridge import settings as arbridge_settings
from arbridge.core import clock
from arbridge.core.models import ApiKey, Membership, Partner
from arbridge.core.money import quantize
from arbridge.integrations import qbo_demo
from arbridge.integrations.models import Connection, ExceptionItem, ExternalRef, SyncRun
from arbridge.ledger.models import Contact, Credit, Customer, Invoice, InvoiceLine, Payment

PARTNER_SLUG = "northwind-msp"
USERNAME = "demo"
API_KEY_NAME = "Demo key"
SEED = 20250101
MONTHS = 6


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    api_key: str
    quickbooks: qbo_demo.DemoCompany


@dataclass(frozen=True)
class Product:
    item: str
    description: str
    unit_price: Decimal
    per_seat: bool = False  # the quantity is the customer's head count
    quantities: tuple[int, int] = (1, 6)  # otherwise a random quantity in this range
    memo: str = "Managed services for {month}"


MANAGED_SEATS = Product(
    "MS-SEAT", "Managed services - per user, monthly", Decimal("125.00"), per_seat=True
)
PROJECT_HOURS = Product(
    "PROJ-HRS",
    "Project hours - network refresh",
    Decimal("165.00"),
    quantities=(4, 40),
    memo="Project work, {month}",
)
MONTHLY_EXTRAS = [
    Product("MS-SRV", "Managed server - per server, monthly", Decimal("175.00")),
    Product("BKP-TB", "Cloud backup - per TB, monthly", Decimal("95.00")),
    Product("M365-BP", "Microsoft 365 Business Premium licence", Decimal("22.00"), per_seat=True),
    Product("M365-BS", "Microsoft 365 Business Standard licence", Decimal("12.50"), per_seat=True),
    Product("EDR", "Endpoint detection and response - per user", Decimal("6.50"), per_seat=True),
    Product("MAIL-SEC", "Email security and archiving - per user", Decimal("4.00"), per_seat=True),
    Product("AH-SUP", "After-hours support - per hour", Decimal("210.00")),
]

FIRST_WORDS = [
    "Harbor", "Summit", "Cedar", "Bluewater", "Granite", "Riverside", "Oakridge", "Lakeshore",
    "Pinecrest", "Northgate", "Silverline", "Redwood", "Ironbridge", "Maple", "Westfield",
    "Brightpath", "Clearview", "Stonegate", "Evergreen", "Highland",
]  # fmt: skip
SECOND_WORDS = [
    "Dental Group", "Legal LLP", "Family Medicine", "Accounting", "Architects", "Logistics",
    "Veterinary Clinic", "Realty", "Engineering", "Insurance Agency", "Credit Union",
    "Manufacturing", "Physical Therapy", "Property Management", "Construction",
]  # fmt: skip
FIRST_NAMES = [
    "Alex", "Jordan", "Priya", "Marcus", "Elena", "Sam", "Grace", "Omar", "Hannah", "Luis",
    "Mei", "Daniel", "Fatima", "Noah", "Olivia", "Ravi", "Sofia", "Tom", "Yuki", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Nguyen", "Patel", "Garcia", "Smith", "Okafor", "Kowalski", "Johnson", "Chen", "Rossi",
    "Murphy", "Haddad", "Larsen", "Silva", "Brown", "Tanaka", "Fischer", "Lopez", "Walsh",
]  # fmt: skip
STATES = ["WA", "OR", "CA", "TX", "CO", "IL", "NY", "FL", "GA", "NC", "AZ", "MN"]


def start(today: dt.date | None = None) -> DemoLogin:
    """Seed the demo if needed and return a working login with a freshly issued API key."""
    partner = seed(today)
    password = arbridge_settings.generated_secret(
        "ARBRIDGE_DEMO_PASSWORD", "demo_password", lambda: secrets.token_urlsafe(12)
    )
    user = User.objects.get(username=USERNAME)
    # Set at every start, so a database rebuilt beside an old password file still matches it.
    user.set_password(password)
    user.save(update_fields=["password"])
    # The raw key is never stored, so each start issues a new one and retires the last.
    for old in ApiKey.objects.for_partner(partner).filter(name=API_KEY_NAME, revoked_at=None):
        old.revoke()
    _, raw = ApiKey.issue(partner, API_KEY_NAME, created_by=user)
    # The sandbox company lives in this process's memory: seeded and connected at every start.
    quickbooks = qbo_demo.connect(
        Connection.objects.for_partner(partner).get(kind="qbo", role=Connection.Role.PRIMARY)
    )
    return DemoLogin(username=USERNAME, password=password, api_key=raw, quickbooks=quickbooks)


def seed(today: dt.date | None = None) -> Partner:
    """Create the demo partner and its data unless it exists; return the partner."""
    if partner := Partner.objects.filter(slug=PARTNER_SLUG).first():
        return partner
    with transaction.atomic():
        return Seeder(random.Random(SEED), today or clock.today()).run()


class Seeder:
    """Build the demo partner's rows in one pass, oldest first."""

    def __init__(self, rng: random.Random, today: dt.date):
        self.rng = rng
        self.today = today
        self.remote_ids: dict[str, int] = {}
        # Per customer: the system that bills it, and its head count.
        self.home: dict[int, Connection] = {}
        self.seats: dict[int, int] = {}

    def run(self) -> Partner:
        self.partner = Partner.objects.create(
            name="Northwind MSP",
            slug=PARTNER_SLUG,
            display_name="Northwind Managed Services",
            primary_colour="#0b5394",
            accent_colour="#e69138",
            support_email="billing@northwind.example",
        )
        user = User.objects.create_user(USERNAME, "demo@northwind.example")
        Membership.objects.create(user=user, partner=self.partner, role=Membership.Role.OWNER)
        self.qbo = self.connection("qbo", Connection.Role.PRIMARY, "9130357122045519")
        self.halo = self.connection("halopsa", Connection.Role.SECONDARY, "northwind.halopsa.com")
        self.cw = self.connection("connectwise", Connection.Role.TERTIARY, "northwind")
        customers = [self.customer(name) for name in self.company_names(60)]
        for invoice in self.invoices(customers):
            self.settle(invoice)
        self.external_payment()
        self.sync_history()
        self.exceptions()
        return self.partner

    # -- helpers ------------------------------------------------------------

    def next_remote_id(self, connection: Connection, entity: str) -> str:
        key = f"{connection.kind}:{entity}"
        self.remote_ids[key] = self.remote_ids.get(key, self.rng.randrange(100, 900)) + 1
        return str(self.remote_ids[key])

    def link(self, connection: Connection, entity: str, row) -> None:
        """Record that the row came from (or was written to) the connection."""
        ExternalRef.objects.create(
            partner=self.partner,
            connection=connection,
            entity=entity,
            remote_id=self.next_remote_id(connection, entity),
            local_id=row.pk,
        )

    def moment(self, day: dt.date, hour: int = 9) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60)), tzinfo=dt.UTC)

    def company_names(self, count: int) -> list[str]:
        names = [f"{a} {b}" for a in FIRST_WORDS for b in SECOND_WORDS]
        return self.rng.sample(names, count)

    # -- rows ---------------------------------------------------------------

    def connection(self, kind: str, role: str, account: str) -> Connection:
        return Connection.objects.create(
            partner=self.partner,
            kind=kind,
            role=role,
            status=Connection.Status.CONNECTED,
            remote_account=account,
            created_at=self.moment(self.today - dt.timedelta(days=MONTHS * 31 + 7)),
            last_synced_at=self.moment(self.today, hour=8),
        )

    def customer(self, name: str) -> Customer:
        domain = name.lower().replace(" ", "")[:24] + ".example"
        customer = Customer.objects.create(
            partner=self.partner,
            name=name,
            phone=f"+1 555 01{self.rng.randrange(100):02d}",
            billing_state=self.rng.choice(STATES),
            billing_country="US",
        )
        # Billed from one of the PSAs; QuickBooks' own customers come from its sandbox.
        home = self.rng.choices([self.halo, self.cw], weights=[3, 2])[0]
        self.home[customer.pk] = home
        self.seats[customer.pk] = self.rng.randrange(5, 80)
        self.link(home, ExternalRef.Entity.CUSTOMER, customer)

        people = self.rng.sample(
            [(f, last) for f in FIRST_NAMES for last in LAST_NAMES], self.rng.choice([2, 3])
        )
        # The last person is the customer's IT contact; the others receive invoices.
        for i, (first, last) in enumerate(people):
            contact = Contact.objects.create(
                partner=self.partner,
                customer=customer,
                name=f"{first} {last}",
                email=f"{first}.{last}@{domain}".lower(),
                is_billing=i < len(people) - 1,
            )
            # HaloPSA syncs billing contacts only; ConnectWise all of them.
            if home == self.cw or (home == self.halo and contact.is_billing):
                self.link(home, ExternalRef.Entity.CONTACT, contact)
        customer.email = customer.contacts.filter(is_billing=True).first().email
        customer.save(update_fields=["email"])
        return customer

    def invoices(self, customers: list[Customer]) -> list[Invoice]:
        """Bill most customers monthly, some for project hours too, numbered in date order."""
        plans = []
        for customer in customers:
            day = self.rng.randrange(1, 6)
            for months_ago in range(MONTHS - 1, -1, -1):
                month = self.today.month - months_ago
                first = dt.date(self.today.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
                if self.rng.random() < 0.75:
                    plans.append((first.replace(day=day), customer, [MANAGED_SEATS]))
                if self.rng.random() < 0.08:
                    plans.append((first.replace(day=day + 14), customer, [PROJECT_HOURS]))
        plans = [plan for plan in plans if plan[0] <= self.today]
        plans.sort(key=lambda plan: (plan[0], plan[1].name))

        numbers = {self.halo: 20410, self.cw: 7300}
        prefixes = {self.halo: "H-", self.cw: "CW-"}
        invoices = []
        for issue_date, customer, products in plans:
            home = self.home[customer.pk]
            numbers[home] += 1
            number = f"{prefixes[home]}{numbers[home]}"
            invoices.append(self.invoice(customer, home, number, issue_date, products))
        return invoices

    def invoice(
        self,
        customer: Customer,
        connection: Connection,
        number: str,
        issue_date: dt.date,
        products: list[Product],
    ) -> Invoice:
        if products == [MANAGED_SEATS]:
            products = [*products, *self.rng.sample(MONTHLY_EXTRAS, self.rng.randrange(0, 4))]
        lines = []
        for position, product in enumerate(products):
            if product.per_seat:
                quantity = Decimal(self.seats[customer.pk])
            else:
                quantity = Decimal(self.rng.randrange(*product.quantities))
            lines.append(
                InvoiceLine(
                    partner=self.partner,
                    position=position,
                    item=product.item,
                    description=product.description,
                    quantity=quantity,
                    unit_price=product.unit_price,
                    amount=quantize(quantity * product.unit_price),
                )
            )
        invoice = Invoice.objects.create(
            partner=self.partner,
            connection=connection,
            customer=customer,
            number=number,
            issue_date=issue_date,
            due_date=issue_date + dt.timedelta(days=30),
            terms="Net 30",
            memo=products[0].memo.format(month=f"{issue_date:%B %Y}"),
            total=sum(line.amount for line in lines),
            created_at=self.moment(issue_date),
        )
        for line in lines:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(lines)
        self.link(connection, ExternalRef.Entity.INVOICE, invoice)
        return invoice

    def payment(
        self, invoice: Invoice, amount: Decimal, method: str, status: str, **fields
    ) -> Payment:
        """Take a payment against one invoice and move it to its final status."""
        paid_on = min(self.today, invoice.issue_date + dt.timedelta(days=self.rng.randrange(2, 45)))
        if fields.get("origin") != Payment.Origin.EXTERNAL:
            fields["processor_reference"] = f"sbx_pay_{self.rng.getrandbits(48):012x}"
        payment = Payment.objects.create(
            partner=self.partner,
            customer=invoice.customer,
            amount=amount,
            date=paid_on,
            method=method,
            # A card declines or an ACH debit fails while pending; refunds follow success.
            status=(
                Payment.Status.PENDING
                if status in (Payment.Status.PENDING, Payment.Status.FAILED)
                else Payment.Status.SUCCEEDED
            ),
            created_at=self.moment(paid_on, hour=14),
            **fields,
        )
        payment.allocate(invoice, amount)
        payment.set_status(status)
        if status == Payment.Status.SUCCEEDED:
            # Written back to (or, for an external payment, found in) the invoice's source.
            self.link(invoice.connection, ExternalRef.Entity.PAYMENT, payment)
        return payment

    def settle(self, invoice: Invoice) -> None:
        """Give the invoice a fate that fits its age: paid, part-paid, credited, void or open."""
        age = (self.today - invoice.issue_date).days
        roll = self.rng.random()
        card_or_ach = self.rng.choice([Payment.Method.CARD, Payment.Method.ACH])
        if roll < 0.03:
            invoice.void()
        elif age < 20:
            if roll < 0.25:
                self.payment(invoice, invoice.total, card_or_ach, Payment.Status.SUCCEEDED)
            elif roll < 0.32:
                # ACH in flight: the balance stands, but nothing more may be paid on it.
                self.payment(invoice, invoice.total, Payment.Method.ACH, Payment.Status.PENDING)
        elif roll < 0.62:
            self.payment(invoice, invoice.total, card_or_ach, Payment.Status.SUCCEEDED)
        elif roll < 0.72:
            part = quantize(invoice.total * Decimal(self.rng.randrange(25, 75)) / 100)
            self.payment(invoice, part, card_or_ach, Payment.Status.SUCCEEDED)
        elif roll < 0.77:
            credit = quantize(invoice.total * Decimal(self.rng.randrange(5, 20)) / 100)
            Credit.apply(
                invoice,
                credit,
                reference=f"CM-{invoice.number}",
                connection=invoice.connection,
                date=invoice.issue_date + dt.timedelta(days=10),
            )
            self.payment(invoice, invoice.balance, card_or_ach, Payment.Status.SUCCEEDED)
        elif roll < 0.83:
            self.payment(
                invoice,
                invoice.total,
                Payment.Method.CHECK,
                Payment.Status.SUCCEEDED,
                origin=Payment.Origin.EXTERNAL,
                connection=invoice.connection,
                reference=f"Check {self.rng.randrange(1000, 9999)}",
            )
        elif roll < 0.86:
            # A declined card: the attempt is kept, the invoice stays open.
            self.payment(invoice, invoice.total, Payment.Method.CARD, Payment.Status.FAILED)
        elif roll < 0.88:
            # Refunded after a billing dispute: the invoice is open again.
            self.payment(invoice, invoice.total, Payment.Method.CARD, Payment.Status.REFUNDED)
        # Otherwise it stays open, overdue once past its due date.

    def external_payment(self) -> None:
        """Record one check, entered in HaloPSA, that paid two open invoices at once."""
        open_invoices = Invoice.objects.for_partner(self.partner).filter(
            connection=self.halo, status=Invoice.Status.OPEN
        )
        by_customer: dict[int, list[Invoice]] = {}
        for invoice in open_invoices.order_by("issue_date", "id"):
            by_customer.setdefault(invoice.customer_id, []).append(invoice)
        pair = next(invoices[:2] for invoices in by_customer.values() if len(invoices) >= 2)
        payment = Payment.objects.create(
            partner=self.partner,
            customer=pair[0].customer,
            amount=pair[0].balance + pair[1].balance,
            date=self.today - dt.timedelta(days=3),
            method=Payment.Method.CHECK,
            status=Payment.Status.SUCCEEDED,
            origin=Payment.Origin.EXTERNAL,
            connection=self.halo,
            reference="Check 10482",
        )
        for invoice in pair:
            payment.allocate(invoice, invoice.balance)
        self.link(self.halo, ExternalRef.Entity.PAYMENT, payment)

    def sync_history(self) -> None:
        """Record the PSAs' first full sync and their recent scheduled ones."""
        # QuickBooks Online's runs are real: see integrations/qbo_demo.py.
        for connection in (self.halo, self.cw):
            began = connection.created_at + dt.timedelta(minutes=5)
            refs = ExternalRef.objects.filter(connection=connection).count()
            self.sync_run(connection, SyncRun.Trigger.INITIAL, began, created=refs)
            for hours_ago in (3, 2, 1):
                began = self.moment(self.today, hour=8) - dt.timedelta(hours=hours_ago)
                changed, unchanged = self.rng.randrange(0, 6), self.rng.randrange(3, 40)
                self.sync_run(
                    connection,
                    SyncRun.Trigger.SCHEDULE,
                    began,
                    updated=changed,
                    unchanged=unchanged,
                )
        began = self.moment(self.today, hour=8) - dt.timedelta(minutes=30)
        self.sync_run(
            self.cw,
            SyncRun.Trigger.SCHEDULE,
            began,
            status=SyncRun.Status.FAILED,
            attempts=3,
            error_message="ConnectWise answered 503 Service Unavailable three times; "
            "the next scheduled sync will retry.",
        )

    def sync_run(self, connection: Connection, trigger: str, began: dt.datetime, **fields):
        fields.setdefault("status", SyncRun.Status.SUCCEEDED)
        fields.setdefault("attempts", 1)
        finished = began + dt.timedelta(seconds=self.rng.randrange(4, 90))
        return SyncRun.objects.create(
            partner=self.partner,
            connection=connection,
            trigger=trigger,
            queued_at=began,
            started_at=began,
            heartbeat_at=finished,
            finished_at=finished,
            **fields,
        )

    def exceptions(self) -> None:
        """Leave two things for a person to resolve: an unreadable invoice and stray money."""
        raw_invoice = {
            "id": 20977,
            "client_id": 318,
            "client_name": "Harbor Dental Group",
            "invoicenumber": "H-20977",
            "invoice_date": f"{self.today:%Y-%m-%d}",
            "total": "1,2O0.00",
            "lines": [{"item_code": "MS-SEAT", "qty": 8, "unit_price": "150.00"}],
        }
        ExceptionItem.objects.create(
            partner=self.partner,
            connection=self.halo,
            sync_run=self.halo.sync_runs.first(),
            kind=ExceptionItem.Kind.MALFORMED_RECORD,
            title="HaloPSA invoice H-20977 could not be read",
            reason="total: '1,2O0.00' is not a number (the letter O in place of a zero).",
            raw_payload=json.dumps(raw_invoice, indent=2),
            entity=ExternalRef.Entity.INVOICE,
            remote_id="20977",
        )
        raw_payment = {
            "Id": "4471",
            "TxnDate": f"{self.today - dt.timedelta(days=2):%Y-%m-%d}",
            "TotalAmt": 1480.0,
            "UnappliedAmt": 1480.0,
            "CustomerRef": {"value": "77", "name": "Quarry Lane Bakery"},
            "PaymentRefNum": "Wire 55120",
            "Line": [],
        }
        ExceptionItem.objects.create(
            partner=self.partner,
            connection=self.qbo,
            sync_run=self.qbo.sync_runs.first(),
            kind=ExceptionItem.Kind.UNMATCHED,
            title="QuickBooks payment 4471 (1,480.00 USD) is applied to no invoice",
            reason="An unapplied payment from a customer arbridge does not know; "
            "match it to an invoice or leave it to QuickBooks.",
            raw_payload=json.dumps(raw_payment, indent=2),
            entity=ExternalRef.Entity.PAYMENT,
            remote_id="4471",
        )
