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

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
POSTED = frozenset({"Open", "Paid", "Corrective"})


class Invalid(Exception):
    """A request Business Central refuses: an OData error body and a status."""

    def __init__(self, message: str, *, status: int = 400, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self)}}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def amount(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise Invalid(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise Invalid(f"{name} is not a number: {value!r}")
    return number.quantize(CENT)


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


class Store:
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

    # -- journals -----------------------------------------------------------------

    def save_journal(
        self, company: Company, table: str, body: dict[str, Any], id: str | None = None
    ) -> dict[str, Any]:
        code = str(body.get("code") or "").upper()
        balancing = body.get("balancingAccountId")
        if balancing:
            self.get(company, "accounts", str(balancing))
        if id is None:
            if not code or len(code) > 10:
                raise Invalid("code must be 1 to 10 characters.")
            if any(j["code"] == code for j in self.rows(company, table)):
                raise Invalid(
                    f"The record in table Gen. Journal Batch already exists. Name='{code}'",
                    code="Internal_EntityWithSameKeyExists",
                )
            return self._insert(
                company,
                table,
                {
                    "code": code,
                    "displayName": str(body.get("displayName") or code),
                    "balancingAccountId": str(balancing or ""),
                    "_lines": {},
                },
            )
        record = self.get(company, table, id)
        if balancing is not None:
            record["balancingAccountId"] = str(balancing)
        if "displayName" in body:
            record["displayName"] = str(body["displayName"])
        self.touch(record)
        return record

    def add_payment_line(
        self, company: Company, journal_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        journal = self.get(company, "customerPaymentJournals", journal_id)
        invoice_id = str(body.get("appliesToInvoiceId") or "")
        invoice = self.get(company, "salesInvoices", invoice_id) if invoice_id else None
        if invoice is not None and invoice["status"] not in POSTED:
            raise Invalid(
                f"The sales invoice {invoice['number']} is not an open entry to apply to."
            )
        customer_id = str(body.get("customerId") or (invoice or {}).get("customerId") or "")
        customer = self.get(company, "customers", customer_id)
        line = {
            "id": str(uuid.uuid4()),
            "journalId": journal_id,
            "journalDisplayName": journal["code"],
            "lineNumber": (len(journal["_lines"]) + 1) * 10000,
            "customerId": customer["id"],
            "customerNumber": customer["number"],
            "postingDate": str(body.get("postingDate") or self.now().date().isoformat()),
            "documentNumber": str(body.get("documentNumber") or "")[:20],
            "externalDocumentNumber": str(body.get("externalDocumentNumber") or "")[:35],
            "amount": amount(body.get("amount", 0), "amount"),
            "appliesToInvoiceId": invoice_id,
            "appliesToInvoiceNumber": invoice["number"] if invoice else "",
            "description": str(body.get("description") or "")[:100],
            "comment": str(body.get("comment") or ""),
            "lastModifiedDateTime": iso(self.now()),
        }
        journal["_lines"][line["id"]] = line
        return line

    def add_journal_line(
        self, company: Company, journal_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        journal = self.get(company, "journals", journal_id)
        account_type = str(body.get("accountType") or "G/L Account")
        table = {"G/L Account": "accounts", "Bank Account": "bankAccounts"}.get(account_type)
        if table is None:
            raise Invalid(f"accountType {account_type} is not supported by this sandbox.")
        account = self.get(company, table, str(body.get("accountId") or ""))
        line = {
            "id": str(uuid.uuid4()),
            "journalId": journal_id,
            "journalDisplayName": journal["code"],
            "lineNumber": (len(journal["_lines"]) + 1) * 10000,
            "accountType": account_type,
            "accountId": account["id"],
            "accountNumber": account["number"],
            "postingDate": str(body.get("postingDate") or self.now().date().isoformat()),
            "documentNumber": str(body.get("documentNumber") or "")[:20],
            "externalDocumentNumber": str(body.get("externalDocumentNumber") or "")[:35],
            "amount": amount(body.get("amount", 0), "amount"),
            "description": str(body.get("description") or "")[:100],
            "comment": str(body.get("comment") or ""),
            "lastModifiedDateTime": iso(self.now()),
        }
        journal["_lines"][line["id"]] = line
        return line

    def delete_line(self, company: Company, table: str, journal_id: str, line_id: str) -> None:
        journal = self.get(company, table, journal_id)
        if journal["_lines"].pop(line_id, None) is None:
            raise Invalid(f"The journal line {line_id} does not exist.", status=404)

    def post_payment_journal(self, env: Environment, company: Company, journal_id: str) -> None:
        """Apply every line to its invoice and write its G/L entries; all or nothing."""
        journal = self.get(company, "customerPaymentJournals", journal_id)
        lines = list(journal["_lines"].values())
        if not lines:
            raise Invalid("There is nothing to post.")
        if not journal["balancingAccountId"]:
            raise Invalid("The journal has no balancing account.")
        remaining: dict[str, Decimal] = {}
        for line in lines:
            invoice = self.get(company, "salesInvoices", line["appliesToInvoiceId"])
            left = remaining.get(invoice["id"], invoice["remainingAmount"]) - line["amount"]
            if invoice["status"] not in POSTED or left < 0:
                raise Invalid(
                    f"The payment {line['documentNumber']} is more than is open on sales "
                    f"invoice {invoice['number']}."
                )
            if left > invoice["totalAmountIncludingTax"]:
                raise Invalid(f"The refund is more than was paid on {invoice['number']}.")
            remaining[invoice["id"]] = left
        receivables = company.table("_settings")["receivables"]["id"]
        for line in lines:
            paid = line["amount"]
            self._entry(company, line, receivables, credit=paid)
            self._entry(company, line, journal["balancingAccountId"], debit=paid)
        for invoice_id, left in remaining.items():
            invoice = company.table("salesInvoices")[invoice_id]
            invoice["remainingAmount"] = left
            invoice["status"] = "Paid" if left == 0 else "Open"
            self.touch(invoice)
            self.changed(env, company, "salesInvoices", invoice_id, "updated")
        journal["_lines"] = {}

    def post_general_journal(self, company: Company, journal_id: str) -> None:
        journal = self.get(company, "journals", journal_id)
        lines = list(journal["_lines"].values())
        if not lines:
            raise Invalid("There is nothing to post.")
        by_document: dict[str, Decimal] = {}
        for line in lines:
            by_document[line["documentNumber"]] = (
                by_document.get(line["documentNumber"], ZERO) + line["amount"]
            )
        for number, total in by_document.items():
            if total != 0:
                raise Invalid(f"Document No. {number} is out of balance by {total}.")
        for line in lines:
            account = line["accountId"]
            if line["accountType"] == "Bank Account":
                bank = self.get(company, "bankAccounts", account)
                account = self.by_number(company, "accounts", bank["_glAccountNumber"])["id"]
            value = line["amount"]
            self._entry(
                company,
                line,
                account,
                debit=value if value > 0 else ZERO,
                credit=-value if value < 0 else ZERO,
            )
        journal["_lines"] = {}

    def _entry(
        self,
        company: Company,
        line: dict[str, Any],
        account_id: str,
        *,
        debit: Decimal = ZERO,
        credit: Decimal = ZERO,
    ) -> None:
        if debit < 0 or credit < 0:  # a negative payment line: the sides swap
            debit, credit = -credit, -debit
        account = self.get(company, "accounts", account_id)
        self._insert(
            company,
            "generalLedgerEntries",
            {
                "entryNumber": company.number("entry", 1),
                "postingDate": line["postingDate"],
                "documentNumber": line["documentNumber"],
                "documentType": "Payment",
                "accountId": account["id"],
                "accountNumber": account["number"],
                "description": line["description"],
                "debitAmount": debit,
                "creditAmount": credit,
            },
        )

    # -- subscriptions --------------------------------------------------------------

    def subscriptions(self, env: Environment) -> list[dict[str, Any]]:
        return list(env.subscriptions.values())
