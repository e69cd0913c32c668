"""A Business Central tenant's environments and companies, in memory.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoice
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpaymentjournal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_journal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_generalledgerentry

Records are kept as the API shows them (API v2.0 field names), each with a
sequence number: lists are in that order and a page's skip token is the last
number it held. What Business Central does on its side is done here:

- a sales invoice is made a Draft and posted (Microsoft.NAV.post: numbered,
  status Open); cancelling a posted one (Microsoft.NAV.cancel) leaves it
  Canceled, and is refused once anything is paid on it;
- posting a customer payment journal applies each line to the invoice it
  names (remainingAmount down, Paid at nothing; a negative line gives the
  amount back), writes two G/L entries per line (receivables credited, the
  journal's balancing account debited) and empties the journal;
- posting a general journal refuses lines that do not balance, and writes a
  G/L entry per line.

One liberty, for the connector contract: the lines of a posted invoice with
nothing paid on it may be replaced (PATCH), where Business Central would
have it cancelled and corrected.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbridge.sandbox.business_central.journals import JournalBooks
from arbridge.sandbox.business_central.records import Invalid, amount, iso

__all__ = ["Company", "Environment", "Invalid", "Store", "amount", "iso"]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
POSTED = frozenset({"Open", "Paid", "Corrective"})


@dataclass
class Company:
    id: str
    name: str
    sets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    next_number: dict[str, int] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.sets.setdefault(name, {})

    def number(self, series: str, start: int) -> str:
        value = self.next_number.get(series, start)
        self.next_number[series] = value + 1
        return str(value)


@dataclass
class Environment:
    tenant: str
    name: str
    companies: dict[str, Company] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)


# What a change to a company's list is reported as: (environment, company, entity set, id, kind).
Listener = Callable[[Environment, Company, str, str, str], None]

ACCOUNTS = (
    # number, name, category, subCategory
    ("10100", "Checking account", "Assets", "Cash"),
    ("10400", "Stripe clearing", "Assets", "Cash"),
    ("13100", "Accounts receivable", "Assets", "Accounts Receivable"),
    ("40100", "Sales", "Income", "Income, Services"),
    ("40500", "Surcharge income", "Income", "Income, Other"),
    ("67100", "Bank charges and processing fees", "Expense", "Other Expenses"),
)
RECEIVABLES = "13100"
BANKS = (("CHECKING", "Checking account", "10100"), ("SAVINGS", "Savings account", "10100"))


class Store(JournalBooks):
    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.skew = dt.timedelta()
        self.environments: dict[tuple[str, str], Environment] = {}
        self.listeners: list[Listener] = []
        self.seq = 0
        self.lock = threading.RLock()

    def now(self) -> dt.datetime:
        return self.clock() + self.skew

    # -- tenants, environments, companies --------------------------------------

    def add_company(
        self,
        tenant: str | None = None,
        environment: str = "production",
        name: str = "CRONUS USA, Inc.",
        company_id: str | None = None,
    ) -> tuple[str, str, str]:
        """Add a company (and its tenant and environment); return (tenant, environment, id)."""
        with self.lock:
            tenant = tenant or str(uuid.uuid4())
            env = self.environments.setdefault(
                (tenant, environment), Environment(tenant, environment)
            )
            company_id = company_id or str(uuid.uuid4())
            if company_id not in env.companies:
                company = env.companies[company_id] = Company(company_id, name)
                self._chart(company)
            return tenant, environment, company_id

    def tenant_environments(self, tenant: str) -> list[Environment]:
        return [env for (t, _), env in self.environments.items() if t == tenant]

    def environment(self, tenant: str, name: str) -> Environment:
        env = self.environments.get((tenant, name))
        if env is None:
            raise Invalid(
                f"Environment {name} does not exist for tenant {tenant}",
                status=404,
                code="NoEnvironment",
            )
        return env

    def company(self, tenant: str, environment: str, company_id: str) -> Company:
        company = self.environment(tenant, environment).companies.get(company_id)
        if company is None:
            raise Invalid(f"Company {company_id} does not exist", status=404, code="NotFound")
        return company

    def _chart(self, company: Company) -> None:
        for number, name, category, sub in ACCOUNTS:
            self._insert(
                company,
                "accounts",
                {
                    "number": number,
                    "displayName": name,
                    "category": category,
                    "subCategory": sub,
                    "blocked": False,
                    "accountType": "Posting",
                    "directPosting": True,
                },
            )
        receivables = self.by_number(company, "accounts", RECEIVABLES)
        for number, name, account in BANKS:
            self._insert(
                company,
                "bankAccounts",
                {
                    "number": number,
                    "displayName": name,
                    "currencyCode": "",
                    "_glAccountNumber": account,
                },
            )
        company.next_number["receivables"] = 0
        company.table("_settings")["receivables"] = {"id": receivables["id"]}

    # -- records ----------------------------------------------------------------

    def _insert(self, company: Company, table: str, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        record = {"id": record.get("id") or str(uuid.uuid4()), **record, "_seq": self.seq}
        record["lastModifiedDateTime"] = iso(self.now())
        company.table(table)[record["id"]] = record
        return record

    def touch(self, record: dict[str, Any]) -> None:
        record["lastModifiedDateTime"] = iso(self.now())
        record["_version"] = record.get("_version", 0) + 1

    def get(self, company: Company, table: str, id: str) -> dict[str, Any]:
        record = company.table(table).get(id)
        if record is None:
            raise Invalid(
                f"The {table} record {id} does not exist.",
                status=404,
                code="BadRequest_NotFound",
            )
        return record

    def by_number(self, company: Company, table: str, number: str) -> dict[str, Any]:
        return next(r for r in company.table(table).values() if r.get("number") == number)

    def rows(self, company: Company, table: str) -> Iterator[dict[str, Any]]:
        return iter(company.table(table).values())

    def changed(self, env: Environment, company: Company, table: str, id: str, kind: str) -> None:
        for listener in self.listeners:
            listener(env, company, table, id, kind)

    # -- customers and contacts -------------------------------------------------

    def save_customer(
        self, env: Environment, company: Company, body: dict[str, Any], id: str | None = None
    ) -> dict[str, Any]:
        fields = {
            k: body[k]
            for k in (
                "displayName",
                "type",
                "addressLine1",
                "addressLine2",
                "city",
                "state",
                "country",
                "postalCode",
                "phoneNumber",
                "email",
                "website",
                "currencyCode",
                "blocked",
                "taxLiable",
            )
            if k in body
        }
        if id is None:
            if not str(fields.get("displayName") or "").strip():
                raise Invalid("displayName must have a value.")
            record = self._insert(
                company,
                "customers",
                {
                    "number": company.number("customer", 10000),
                    "type": "Company",
                    "email": "",
                    "phoneNumber": "",
                    "state": "",
                    "country": "US",
                    "currencyCode": "",
                    "blocked": " ",
                    **fields,
                },
            )
            self.changed(env, company, "customers", record["id"], "created")
            return record
        record = self.get(company, "customers", id)
        record.update(fields)
        self.touch(record)
        self.changed(env, company, "customers", id, "updated")
        return record

    def delete_customer(self, env: Environment, company: Company, id: str) -> None:
        self.get(company, "customers", id)
        if any(i["customerId"] == id for i in self.rows(company, "salesInvoices")):
            raise Invalid(
                "You cannot delete the customer because it has ledger entries.",
                code="Internal_RecordNotDeletable",
            )
        del company.table("customers")[id]
        self.changed(env, company, "customers", id, "deleted")

    def add_contact(
        self,
        env: Environment,
        company: Company,
        *,
        customer_id: str | None,
        name: str,
        email: str,
        type: str = "Person",
    ) -> dict[str, Any]:
        """Add a contact, related to a customer (its business relation) when one is named."""
        relations = []
        if customer_id:
            self.get(company, "customers", customer_id)
            relations = [{"relatedId": customer_id, "relatedType": "Customer"}]
        record = self._insert(
            company,
            "contacts",
            {
                "number": f"CT{company.number('contact', 100)}",
                "type": type,
                "displayName": name,
                "email": email,
                "phoneNumber": "",
                "_relations": relations,
            },
        )
        self.changed(env, company, "contacts", record["id"], "created")
        return record

    # -- sales invoices -----------------------------------------------------------

    def save_invoice(
        self, env: Environment, company: Company, body: dict[str, Any], id: str | None = None
    ) -> dict[str, Any]:
        if id is None:
            customer = self.get(company, "customers", str(body.get("customerId") or ""))
            today = self.now().date()
            invoice_date = str(body.get("invoiceDate") or today.isoformat())
            record = self._insert(
                company,
                "salesInvoices",
                {
                    "number": f"D{company.number('draft', 1001)}",
                    "externalDocumentNumber": str(body.get("externalDocumentNumber") or ""),
                    "invoiceDate": invoice_date,
                    "postingDate": invoice_date,
                    "dueDate": str(
                        body.get("dueDate")
                        or (dt.date.fromisoformat(invoice_date) + dt.timedelta(days=30))
                    ),
                    "customerId": customer["id"],
                    "customerNumber": customer["number"],
                    "customerName": customer["displayName"],
                    "currencyCode": str(body.get("currencyCode") or ""),
                    "status": "Draft",
                    "salesInvoiceLines": [],
                },
            )
            self._lines(record, body.get("salesInvoiceLines") or [])
            self.changed(env, company, "salesInvoices", record["id"], "created")
            return record
        record = self.get(company, "salesInvoices", id)
        if record["status"] not in ("Draft", "Open"):
            raise Invalid(f"You cannot change a sales invoice that is {record['status']}.")
        if (
            record["status"] == "Open"
            and record["remainingAmount"] != record["totalAmountIncludingTax"]
        ):
            raise Invalid("You cannot change a posted sales invoice with payments applied.")
        if "salesInvoiceLines" in body:
            self._lines(record, body["salesInvoiceLines"])
            if record["status"] == "Open":
                record["remainingAmount"] = record["totalAmountIncludingTax"]
        for name in ("dueDate", "externalDocumentNumber"):
            if name in body:
                record[name] = str(body[name])
        self.touch(record)
        self.changed(env, company, "salesInvoices", id, "updated")
        return record

    def _lines(self, invoice: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        rows = []
        for n, line in enumerate(lines, start=1):
            quantity = amount(line.get("quantity", 1), "quantity")
            price = amount(line.get("unitPrice", 0), "unitPrice")
            total = (quantity * price).quantize(CENT)
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "documentId": invoice["id"],
                    "sequence": n * 10000,
                    "lineType": str(line.get("lineType") or "Item"),
                    "lineObjectNumber": str(line.get("lineObjectNumber") or ""),
                    "description": str(line.get("description") or ""),
                    "quantity": quantity,
                    "unitPrice": price,
                    "amountExcludingTax": total,
                    "totalTaxAmount": ZERO,
                    "amountIncludingTax": total,
                }
            )
        invoice["salesInvoiceLines"] = rows
        total = sum((r["amountIncludingTax"] for r in rows), ZERO)
        invoice["totalAmountExcludingTax"] = total
        invoice["totalTaxAmount"] = ZERO
        invoice["totalAmountIncludingTax"] = total
        invoice.setdefault("remainingAmount", total if invoice["status"] != "Draft" else ZERO)

    def post_invoice(self, env: Environment, company: Company, id: str) -> dict[str, Any]:
        record = self.get(company, "salesInvoices", id)
        if record["status"] != "Draft":
            raise Invalid("The sales invoice has been posted already.")
        if not record["salesInvoiceLines"]:
            raise Invalid("There is nothing to post.")
        record["number"] = company.number("invoice", 103001)
        record["status"] = "Open"
        record["remainingAmount"] = record["totalAmountIncludingTax"]
        self.touch(record)
        self.changed(env, company, "salesInvoices", id, "updated")
        return record

    def cancel_invoice(self, env: Environment, company: Company, id: str) -> dict[str, Any]:
        record = self.get(company, "salesInvoices", id)
        if record["status"] != "Open":
            raise Invalid(f"You cannot cancel a sales invoice that is {record['status']}.")
        if record["remainingAmount"] != record["totalAmountIncludingTax"]:
            raise Invalid("You cannot cancel this posted sales invoice because it is paid.")
        record["status"] = "Canceled"
        record["remainingAmount"] = ZERO
        self.touch(record)
        self.changed(env, company, "salesInvoices", id, "updated")
        return record

    # -- subscriptions --------------------------------------------------------------

    def subscriptions(self, env: Environment) -> list[dict[str, Any]]:
        return list(env.subscriptions.values())
