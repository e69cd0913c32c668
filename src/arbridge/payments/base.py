"""The processor protocol: what arbridge asks of a payment processor, and what it gets back.

A processor takes django-payments' verbs (STYLE.md, Payments): it confirms
(`capture`), refunds, cancels, saves a method and charges a saved one
off-session, reads its own webhooks (django-payments' `process_data`, split
in two: `verify` as a delivery arrives, `read` when a job applies it) and lists
payouts with the payments and fees in each. It returns the dataclasses below
and never touches arbridge's models: payments/services.py turns results into
ledger changes, in one transaction with the write-back they owe.

Card and account numbers never reach arbridge: the customer's browser hands
them to the processor's own page or element, which gives back a token; arbridge
sees tokens, brands, last four digits and the card's funding (credit, debit,
prepaid), which decides whether a surcharge may apply.

Every call that moves money carries an `operation_id` from which the processor
derives its idempotency key, so a retried call never charges twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class MethodKind(StrEnum):
    CARD = "card"
    ACH = "ach"


class Funding(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # ACH in flight: money held, not yet paid
    REQUIRES_ACTION = "requires_action"  # the customer must authenticate (3-D Secure)
    FAILED = "failed"


class Decline(StrEnum):
    HARD = "hard"  # never retry: stolen card, do not honour
    SOFT = "soft"  # may succeed later: insufficient funds


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"  # an ACH debit settled, or an authenticated card
    PAYMENT_FAILED = "payment.failed"  # an ACH debit returned before settlement, a failed 3DS
    PAYMENT_RETURNED = "payment.returned"  # an ACH debit returned after settlement
    PAYMENT_REFUNDED = "payment.refunded"
    PAYOUT_PAID = "payout.paid"
    FUNDS_RECEIVED = "funds.received"  # money without a known payment, e.g. a bank transfer


class ProcessorError(Exception):
    """The processor could not be asked (network, outage); retry later."""


class MethodRefused(ProcessorError):
    """The processor answered that it will not take this method; its message is for the customer.

    An unknown or spent token, or a card it declined to save: asking again
    changes nothing, entering the method again may.
    """


class InvalidSignature(Exception):
    """A webhook that the processor did not send: refuse it, store nothing."""


@dataclass(frozen=True)
class MethodDetails:
    """What the processor says of a payment method; never its number."""

    token: str  # one-time token, or a saved method's id when `reusable`
    kind: MethodKind
    brand: str  # "visa", "mastercard", "bank account"
    last4: str
    funding: Funding = Funding.UNKNOWN  # cards only
    reusable: bool = False
    processor_customer: str = ""  # the processor's customer a saved method belongs to


@dataclass(frozen=True)
class Charge:
    """One charge to make: the money, the method and the key that makes a retry safe."""

    operation_id: str
    amount: Decimal
    currency: str
    method: str  # a token, or a saved method's id
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    return_url: str = ""  # where the processor sends the customer after authenticating
    save_method: bool = False  # keep the method for later, off-session charges
    processor_customer: str = ""
    off_session: bool = False
    # The customer's address and browser as they confirmed: an ACH debit's mandate,
    # accepted online, must carry both (Stripe's mandate_data).
    customer_ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class PaymentResult:
    outcome: Outcome
    amount: Decimal
    currency: str
    reference: str  # the processor's id for the payment
    method: MethodDetails | None = None
    action_url: str = ""  # for REQUIRES_ACTION
    decline: Decline | None = None
    error_code: str = ""  # the decline code, or an ACH return code (R01, ...)
    error_message: str = ""
    saved_method: MethodDetails | None = None  # when the charge asked to save it
    advice_code: str = ""  # Mastercard's merchant advice code (01, 03, 21, ...)

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.PENDING)


@dataclass(frozen=True)
class RefundResult:
    success: bool
    amount: Decimal
    currency: str
    reference: str  # the processor's id for the refund
    error_message: str = ""


@dataclass(frozen=True)
class PayoutItem:
    """One balance movement in a payout: gross amount, the processor's fee, and net."""

    kind: str  # "charge", "refund", "return", "funds"
    payment_reference: str
    amount: Decimal
    fee: Decimal
    net: Decimal


@dataclass(frozen=True)
class Payout:
    reference: str
    amount: Decimal  # what reached the bank: the sum of the items' net
    currency: str
    arrival_date: dt.date
    items: tuple[PayoutItem, ...]


@dataclass(frozen=True)
class Event:
    """Something the processor reports: a settlement, a return, a payout, money received."""

    id: str  # the processor's event id; events repeat and arrive out of order
    kind: EventKind
    reference: str = ""  # the payment's (or payout's, or funds') processor id
    amount: Decimal | None = None
    currency: str = ""
    occurred_at: dt.datetime | None = None
    return_code: str = ""  # ACH return reason: R01, R02, ...
    message: str = ""
    memo: str = ""  # the sender's reference on received funds
    payout: Payout | None = None


class Processor(Protocol):
    kind: ClassVar[str]

    def client_config(self) -> dict[str, Any]:
        """Return what the portal's page needs to tokenize a method (a URL, a public key)."""
        ...

    def describe(self, token: str) -> MethodDetails:
        """Return what the processor knows of a token or saved method, before charging it."""
        ...

    def capture(self, charge: Charge) -> PaymentResult:
        """Confirm a payment: charge a card or start an ACH debit."""
        ...

    def retrieve(self, reference: str) -> PaymentResult:
        """Re-read a payment, as after the customer authenticated it."""
        ...

    def refund(self, reference: str, amount: Decimal, operation_id: str) -> RefundResult: ...

    def cancel(self, reference: str, operation_id: str) -> PaymentResult:
        """Cancel a payment that has not completed (awaiting authentication, say)."""
        ...

    def save_method(self, token: str, customer_name: str, email: str) -> MethodDetails:
        """Keep a method for off-session charges; return it with a reusable id."""
        ...

    def charge_saved(self, charge: Charge) -> PaymentResult:
        """Charge a saved method with the customer away (auto pay)."""
        ...

    def verify(self, request: Any) -> str:
        """Check that a webhook delivery (anything with .body and .headers) is the processor's.

        Return the id of the event it carries, the same for every redelivery.

        Raises:
            InvalidSignature: the delivery is not the processor's.
        """
        ...

    def read(self, body: bytes) -> list[Event]:
        """Return the events of a verified delivery that arbridge acts on (none, or one).

        Raises:
            ProcessorError: the processor had to be asked (a payout's items) and could not be.
        """
        ...

    def events(self, after: str) -> tuple[list[Event], str]:
        """Return the events after a cursor ("" for the start) and the new cursor."""
        ...

    def payouts(self, since: dt.date) -> list[Payout]:
        """Return the payouts that arrived on or after a date, with their items."""
        ...
