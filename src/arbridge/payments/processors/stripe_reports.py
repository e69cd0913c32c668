"""What Stripe reports: its events and payouts, as arbridge's Events and Payouts.

Pure functions over Stripe's JSON (as `StripeObject.to_dict()` gives it), kept
apart from the processor that fetches it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from arbridge.core.money import minor_unit, quantize
from arbridge.payments.base import Event, EventKind, Payout, PayoutItem

# Stripe's ACH failure codes and dispute reasons as NACHA return codes
# (docs.stripe.com/payments/ach-direct-debit, failed payments). Stripe folds R05,
# R07, R10, R29 and R51 into one code: a business account's denial is R29, a
# consumer's R10; either way the customer must authorize again before a retry.
ACH_RETURN_CODES = {
    "insufficient_funds": "R01",
    "account_closed": "R02",
    "no_account": "R03",
    "invalid_account_number": "R04",
    "incorrect_account_details": "R03",
    "bank_account_restricted": "R16",
}

# Stripe events that arbridge acts on, and what each says.
EVENT_KINDS = {
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "charge.refunded": EventKind.PAYMENT_REFUNDED,
    "charge.dispute.created": EventKind.PAYMENT_RETURNED,
    "payout.paid": EventKind.PAYOUT_PAID,
}

# Balance transaction types (docs.stripe.com/reports/balance-transaction-types)
# as payout items; other types keep their own name and no payment.
ITEM_KINDS = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "payment_failure_refund": "return",
    "adjustment": "return",  # a dispute's withdrawal (an ACH return after settlement)
}


def from_minor(value: int, currency: str) -> Decimal:
    return quantize(Decimal(value).scaleb(-minor_unit(currency)), currency)


def is_ach_dispute(dispute: dict) -> bool:
    details = dispute.get("payment_method_details") or {}
    return details.get("type") == "us_bank_account"


def return_code(reason: str, account_holder_type: str = "") -> str:
    """Return the NACHA return code for Stripe's ACH failure code or dispute reason."""
    if reason == "debit_not_authorized":
        return "R29" if account_holder_type == "company" else "R10"
    return ACH_RETURN_CODES.get(reason, "")


def event_from(event: dict, kind: EventKind, payout: Payout | None = None) -> Event:
    """Return a Stripe event as arbridge's Event."""
    obj = event["data"]["object"]
    currency = obj.get("currency") or ""
    common = {
        "id": event["id"],
        "kind": kind,
        "currency": currency.upper(),
        "occurred_at": dt.datetime.fromtimestamp(event["created"], dt.UTC),
    }
    if kind == EventKind.PAYMENT_SUCCEEDED:
        amount = obj.get("amount_received") or obj["amount"]
        return Event(reference=obj["id"], amount=from_minor(amount, currency), **common)
    if kind == EventKind.PAYMENT_FAILED:
        error = obj.get("last_payment_error") or {}
        # A bank account's failure is an ACH return; a card's (a failed 3DS) is not.
        bank = (error.get("payment_method") or {}).get("us_bank_account")
        code = (
            return_code(error.get("code") or "", bank.get("account_holder_type") or "")
            if bank
            else ""
        )
        return Event(
            reference=obj["id"],
            amount=from_minor(obj["amount"], currency),
            return_code=code,
            message=error.get("message") or "",
            **common,
        )
    if kind == EventKind.PAYMENT_REFUNDED:
        # amount_refunded counts every refund so far; this event adds the difference.
        before = (event["data"].get("previous_attributes") or {}).get("amount_refunded") or 0
        return Event(
            reference=obj.get("payment_intent") or obj["id"],
            amount=from_minor(obj["amount_refunded"] - before, currency),
            **common,
        )
    if kind == EventKind.PAYMENT_RETURNED:
        return Event(
            reference=obj.get("payment_intent") or obj.get("charge") or "",
            amount=from_minor(obj["amount"], currency),
            return_code=return_code(obj.get("reason") or ""),
            message=f"Disputed by the customer's bank: {obj.get('reason') or 'no reason'}",
            **common,
        )
    return Event(
        reference=obj["id"], amount=from_minor(obj["amount"], currency), payout=payout, **common
    )


def payout_from(payout: dict, transactions: Iterable[dict]) -> Payout:
    """Return a payout and its items; the payout's own withdrawal is not an item."""
    items = []
    for txn in transactions:
        if txn["type"] in ("payout", "payout_cancel", "payout_failure"):
            continue
        currency = txn["currency"]
        items.append(
            PayoutItem(
                kind=ITEM_KINDS.get(txn["type"], txn["type"]),
                payment_reference=payment_reference(txn.get("source")),
                amount=from_minor(txn["amount"], currency),
                fee=from_minor(txn["fee"], currency),
                net=from_minor(txn["net"], currency),
            )
        )
    return Payout(
        reference=payout["id"],
        amount=from_minor(payout["amount"], payout["currency"]),
        currency=payout["currency"].upper(),
        arrival_date=dt.datetime.fromtimestamp(payout["arrival_date"], dt.UTC).date(),
        items=tuple(items),
    )


def payment_reference(source: dict | str | None) -> str:
    """Return the PaymentIntent behind a balance transaction's charge, refund or dispute."""
    if not isinstance(source, dict):
        return source or ""
    intent = source.get("payment_intent")
    if isinstance(intent, dict):
        return intent["id"]
    return intent or source.get("charge") or source["id"]
