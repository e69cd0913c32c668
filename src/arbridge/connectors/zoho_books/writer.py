"""Writing to Zoho Books: customer payments and payouts, each found by its reference first.

# Reference: https://www.zoho.com/books/api/v3/customer-payments/
# Reference: https://www.zoho.com/books/api/v3/bank-transactions/

Zoho keeps no idempotency key: each write carries a reference number built
from the command's key (mapping.reference) and is looked up by it before it
is created. A create is never resent on a lost answer; the outbox's retry
finds it by the lookup instead.
"""

from __future__ import annotations

from typing import Any

from arbridge.connectors.base import PermanentError, RemoteRef
from arbridge.connectors.zoho_books import mapping
from arbridge.connectors.zoho_books.client import ZohoClient
from arbridge.connectors.zoho_books.preferences import ZohoBooksPreferences


class Writer:
    """One organization's writes."""

    def __init__(self, client: ZohoClient, preferences: ZohoBooksPreferences) -> None:
        self.client = client
        self.preferences = preferences

    def find_payment(self, reference: str) -> str | None:
        """Return the id of the payment carrying this reference number, if there is one."""
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#list-customer-payments
        body = self.client.get("customerpayments", search_text=reference)
        for hit in body.get("customer_payments") or []:
            payment_id = str(hit.get("payment_id") or "")
            if not payment_id:
                continue
            # The list need not carry the reference number, and search_text
            # also matches names and descriptions: the payment itself says.
            if hit.get("reference_number") is None:
                payment = self.client.get(f"customerpayments/{payment_id}").get("payment") or {}
                hit = {**hit, "reference_number": payment.get("reference_number")}
            if hit.get("reference_number") == reference:
                return payment_id
        return None

    def create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Record one customer payment applied to the command's invoices, once per key."""
        reference = mapping.reference(key)
        if found := self.find_payment(reference):
            return RemoteRef(found)
        allocations = payload.get("allocations") or []
        if not allocations:
            raise PermanentError("the payment applies to no invoice")
        customer_id = payload.get("customer_remote_id")
        if not customer_id:
            first = str(allocations[0]["invoice_remote_id"])
            invoice = self.client.get(f"invoices/{first}").get("invoice") or {}
            customer_id = invoice.get("customer_id")
        body = mapping.payment_body(
            payload, str(customer_id or ""), key, self.preferences.payment_account_id
        )
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#create-a-payment
        created = self.client.post("customerpayments", body).get("payment") or {}
        if not created.get("payment_id"):
            raise PermanentError("Zoho Books did not answer with the payment it recorded")
        return RemoteRef(str(created["payment_id"]))

    def delete_payment(self, remote_id: str) -> RemoteRef:
        """Delete the payment (a reversal or an ACH return); one already gone counts as deleted."""
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#delete-a-payment
        try:
            self.client.delete(f"customerpayments/{remote_id}")
        except PermanentError as e:
            if e.status != 404 and "not exist" not in str(e).lower():
                raise
        return RemoteRef(remote_id)

    def find_transaction(self, reference: str) -> str | None:
        """Return the id of the bank transaction carrying this reference number, if any."""
        # Reference: https://www.zoho.com/books/api/v3/bank-transactions/#get-transactions-list
        body = self.client.get("banktransactions", search_text=reference)
        for hit in body.get("banktransactions") or []:
            if hit.get("reference_number") == reference and hit.get("transaction_id"):
                return str(hit["transaction_id"])
        return None

    def create_deposit(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Move a payout out of the payments' account: a transfer, its fees and surcharges.

        Up to three bank transactions, each under a reference of its own
        derived from the command's key and looked up before it is created,
        so a retry repeats none. The remote id is the transfer's, the
        version the others' ids.
        """
        prefs = self.preferences
        clearing = payload.get("payment_account_id") or prefs.payment_account_id
        bank = payload.get("deposit_account_id") or prefs.deposit_account_id
        if not clearing:
            raise PermanentError("no Zoho Books account is chosen for payments to wait in")
        if not bank:
            raise PermanentError("no Zoho Books bank account is chosen for deposits")
        bodies = mapping.deposit_bodies(
            payload,
            key,
            clearing=clearing,
            bank=bank,
            fee_account=payload.get("fee_account_id") or prefs.fee_account_id,
            surcharge_account=payload.get("surcharge_account_id")
            or prefs.surcharge_income_account_id,
        )
        ids = {}
        for part, body in bodies.items():
            # Reference: https://www.zoho.com/books/api/v3/bank-transactions/#create-a-transaction-for-an-account
            found = self.find_transaction(body["reference_number"])
            if found is None:
                answer = self.client.post("banktransactions", body).get("banktransaction") or {}
                found = str(answer.get("transaction_id") or "")
                if not found:
                    raise PermanentError("Zoho Books did not answer with the bank transaction")
            ids[part] = found
        others = ",".join(ids[part] for part in ("surcharges", "fees") if part in ids)
        return RemoteRef(ids["transfer"], others)
