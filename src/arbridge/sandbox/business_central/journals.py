"""Journals as Business Central posts them, in the sandbox's store.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpaymentjournal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_journal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_generalledgerentry

Posting a customer payment journal applies each line to the invoice it
names (remainingAmount down, Paid at nothing; a negative line gives the
amount back), writes two G/L entries per line (receivables credited, the
journal's balancing account debited) and empties the journal, all or
nothing. Posting a general journal refuses a document that does not
balance, and writes a G/L entry per line.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbridge.sandbox.business_central.records import Invalid, amount, iso

if TYPE_CHECKING:
    from arbridge.sandbox.business_central.store import Company, Environment

ZERO = Decimal("0.00")
POSTED = frozenset({"Open", "Paid", "Corrective"})


class JournalBooks:
    """The Store's journals: batches, their lines, posting them into G/L entries."""

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
        invoice_id = str(body.get("appliesToInvoiceId") or "")
        invoice = self.get(company, "salesInvoices", invoice_id) if invoice_id else None
        if invoice is not None and invoice["status"] not in POSTED:
            raise Invalid(
                f"The sales invoice {invoice['number']} is not an open entry to apply to."
            )
        customer_id = str(body.get("customerId") or (invoice or {}).get("customerId") or "")
        customer = self.get(company, "customers", customer_id)
        return self._add_line(
            company.table("customerPaymentJournals"),
            journal_id,
            body,
            customerId=customer["id"],
            customerNumber=customer["number"],
            appliesToInvoiceId=invoice_id,
            appliesToInvoiceNumber=invoice["number"] if invoice else "",
        )

    def add_journal_line(
        self, company: Company, journal_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        account_type = str(body.get("accountType") or "G/L Account")
        table = {"G/L Account": "accounts", "Bank Account": "bankAccounts"}.get(account_type)
        if table is None:
            raise Invalid(f"accountType {account_type} is not supported by this sandbox.")
        account = self.get(company, table, str(body.get("accountId") or ""))
        return self._add_line(
            company.table("journals"),
            journal_id,
            body,
            accountType=account_type,
            accountId=account["id"],
            accountNumber=account["number"],
        )

    def _add_line(
        self, journals: dict[str, dict[str, Any]], journal_id: str, body: dict[str, Any], **own: Any
    ) -> dict[str, Any]:
        """Add a line to a journal: the fields every journal line has, and its own."""
        journal = journals.get(journal_id)
        if journal is None:
            raise Invalid(f"The journal {journal_id} does not exist.", status=404)
        line = {
            "id": str(uuid.uuid4()),
            "journalId": journal_id,
            "journalDisplayName": journal["code"],
            "lineNumber": (len(journal["_lines"]) + 1) * 10000,
            **own,
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
