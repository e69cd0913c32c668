"""Business Central's journals as arbridge writes them: payments, their reversals, payouts.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpaymentjournal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpayment
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_journal
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_generalledgerentry

Business Central has no idempotency key. Each write carries a Document No.
derived from the command's key (mapping.document_number) and is looked up
before anything is added: posted already (G/L entries of that number),
nothing to do; lines waiting in the journal (a crash before the post), only
the missing lines and the post. Posting a journal posts every line in it,
so arbridge keeps journals of its own.

    payment    customer payment journal lines (one per invoice paid), posted
    reversal   a posted entry cannot be deleted: lines of the negative amounts
               on the same invoices, posted, under a number derived from the payment's
    payout     a general journal: the payout into the bank account, the fee on a
               G/L line of its own, the payments out of the clearing account
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import Field

from arbridge.connectors.base import PermanentError, Preferences, RemoteRef, account_field
from arbridge.connectors.business_central import mapping
from arbridge.connectors.business_central.client import BusinessCentralClient, keyed

# The document numbers' prefixes: a payment, its reversal, a payout.
PAYMENT, REVERSAL, PAYOUT = "ARP", "ARR", "ARD"


class BusinessCentralPreferences(Preferences):
    """The journals arbridge posts to, and the accounts they balance to."""

    payment_journal: str = Field(
        "ARBRIDGE",
        title="Customer payment journal",
        description="The journal batch arbridge posts payments through (made if missing); "
        "keep it for arbridge alone, as posting it posts every line in it.",
        max_length=10,
    )
    payment_account_id: str | None = Field(
        None,
        title="Account payments are received into",
        description="The G/L account the payment journal balances to while Create Deposits "
        "is off; the journal's own balancing account when empty.",
        json_schema_extra=account_field(["Assets"]),
    )
    clearing_account_id: str | None = Field(
        None,
        title="Clearing account",
        description='A G/L account, e.g. "Stripe clearing": payments wait there until '
        "their payout moves them to the bank account.",
        json_schema_extra=account_field(
            ["Assets"], needed_by="create_deposits", missing="Choose the clearing account."
        ),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Post each payout through a general journal into the bank account, "
        "its fees on a G/L line of their own. Off by default.",
    )
    deposit_account_id: str | None = Field(
        None,
        title="Bank account for deposits",
        json_schema_extra=account_field(
            ["Bank"], needed_by="create_deposits", missing="Choose the bank account."
        ),
    )
    fee_account_id: str | None = Field(
        None,
        title="Processing fee account",
        json_schema_extra=account_field(
            ["Expense"],
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    deposit_journal: str = Field("ARBDEPOSIT", title="General journal for payouts", max_length=10)
    currency: str = Field("USD", title="The company's currency", max_length=3)


class Journals:
    """arbridge's writes to one company, each once."""

    def __init__(
        self,
        api: BusinessCentralClient,
        preferences: BusinessCentralPreferences,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.api = api
        self.preferences = preferences
        self.clock = clock

    def _posted(self, number: str) -> bool:
        """Return True if entries of this document number are posted (G/L entries)."""
        return bool(self.api.find("generalLedgerEntries", documentNumber=number))

    def payment_journal(self) -> dict[str, Any]:
        """Return arbridge's customer payment journal, made if missing, balancing where asked."""
        prefs = self.preferences
        balancing = prefs.clearing_account_id if prefs.create_deposits else prefs.payment_account_id
        code = prefs.payment_journal
        rows = self.api.find("customerPaymentJournals", code=code)
        if not rows:
            body = {"code": code, "displayName": "arbridge payments"}
            if balancing:
                body["balancingAccountId"] = balancing
            try:
                return self.api.post("customerPaymentJournals", body)
            except PermanentError:
                rows = self.api.find("customerPaymentJournals", code=code)  # made meanwhile
                if not rows:
                    raise
        journal = rows[0]
        if balancing and journal.get("balancingAccountId") != balancing:
            journal = self.api.patch(
                keyed("customerPaymentJournals", journal["id"]),
                {"balancingAccountId": balancing},
                str(journal.get("@odata.etag") or "*"),
            )
        return journal

    def create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Add the payment's lines to arbridge's payment journal, then post the journal.

        Looked up first by its document number: posted already, nothing to do;
        lines waiting in the journal (a crash before the post), only the post
        and the lines missing.
        """
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_customerpayment_create
        number = mapping.document_number(PAYMENT, key)
        if self._posted(number):
            return RemoteRef(number)
        journal = self.payment_journal()
        lines_path = f"{keyed('customerPaymentJournals', journal['id'])}/customerPayments"
        waiting = {
            str(line.get("appliesToInvoiceId"))
            for line in self.api.find(lines_path, documentNumber=number)
        }
        for line in mapping.payment_lines(payload, number):
            if line["appliesToInvoiceId"] not in waiting:
                self.api.post(lines_path, line)
        self._post_payment_journal(journal)
        return RemoteRef(number)

    def _post_payment_journal(self, journal: dict[str, Any]) -> None:
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_journal_post
        self.api.post(f"{keyed('customerPaymentJournals', journal['id'])}/Microsoft.NAV.post")

    def delete_payment(self, number: str) -> RemoteRef:
        """Undo a payment: lines not posted yet are deleted; posted ones reversed, once.

        The reversal's document number derives from the payment's, so a retry
        finds it posted and writes nothing more.
        """
        reversal = mapping.document_number(REVERSAL, number)
        if self._posted(reversal):
            return RemoteRef(number)
        journal = self.payment_journal()
        lines_path = f"{keyed('customerPaymentJournals', journal['id'])}/customerPayments"
        for line in self.api.find(lines_path, documentNumber=number):
            self.api.delete(f"{lines_path}({line['id']})", str(line.get("@odata.etag") or "*"))
        posted = self._posted_payment_lines(number)
        if not posted:
            return RemoteRef(number)
        today = self.clock().date().isoformat()
        waiting = {
            str(line.get("appliesToInvoiceId"))
            for line in self.api.find(lines_path, documentNumber=reversal)
        }
        for line in mapping.reversal_lines(posted, reversal, today):
            if line["appliesToInvoiceId"] not in waiting:
                self.api.post(lines_path, line)
        self._post_payment_journal(journal)
        return RemoteRef(number)

    def _posted_payment_lines(self, number: str) -> list[dict[str, Any]]:
        """Return what a posted payment paid, from its G/L entries: invoice and amount.

        The receivables side of each line is credited by the amount paid, and its
        description (carried from the journal line) names the invoice.
        """
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_generalledgerentry
        lines = []
        for entry in self.api.find("generalLedgerEntries", documentNumber=number):
            credit = mapping.money(entry.get("creditAmount") or 0, "creditAmount")
            invoice = mapping.paid_invoice(str(entry.get("description") or ""))
            if credit > 0 and invoice:
                lines.append(
                    {"documentNumber": number, "amount": credit, "appliesToInvoiceId": invoice}
                )
        return lines

    def create_deposit(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Post a payout through arbridge's general journal: bank, clearing, fee lines."""
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_journalline
        prefs = self.preferences
        bank = payload.get("deposit_account_id") or prefs.deposit_account_id
        clearing = prefs.clearing_account_id
        if not bank:
            raise PermanentError("no Business Central bank account is chosen for deposits")
        if not clearing:
            raise PermanentError("no Business Central clearing account is chosen for deposits")
        number = mapping.document_number(PAYOUT, key)
        lines = mapping.deposit_lines(
            payload,
            number,
            bank=bank,
            clearing=clearing,
            fee_account=payload.get("fee_account_id") or prefs.fee_account_id,
            surcharge_account=payload.get("surcharge_account_id"),
        )
        if self._posted(number):
            return RemoteRef(number)
        journal = self._general_journal(prefs.deposit_journal)
        lines_path = f"{keyed('journals', journal['id'])}/journalLines"
        written = {
            (line.get("accountId"), str(line.get("amount")))
            for line in self.api.find(lines_path, documentNumber=number)
        }
        for line in lines:
            if (line["accountId"], str(line["amount"])) not in written:
                self.api.post(lines_path, line)
        self.api.post(f"{keyed('journals', journal['id'])}/Microsoft.NAV.post")
        return RemoteRef(number)

    def _general_journal(self, code: str) -> dict[str, Any]:
        rows = self.api.find("journals", code=code)
        if rows:
            return rows[0]
        try:
            return self.api.post("journals", {"code": code, "displayName": "arbridge payouts"})
        except PermanentError:
            rows = self.api.find("journals", code=code)
            if not rows:
                raise
            return rows[0]
