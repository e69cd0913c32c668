"""What the sandbox processor keeps per account, and how each record is written as JSON."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999.99")  # Stripe's largest USD charge


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def timestamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def decimal(value: Any, name: str) -> Decimal:
    """Return a JSON number or string as a Decimal; ValueError if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"{name} is a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} is a number") from None
    if not number.is_finite():
        raise ValueError(f"{name} is a number")
    return number


def amount(value: Any, name: str = "amount") -> Decimal:
    """Return a positive amount of at most two decimals and MAX_AMOUNT; ValueError if not."""
    number = decimal(value, name)
    if number <= 0 or number > MAX_AMOUNT or number != number.quantize(CENT):
        raise ValueError(f"{name} is between 0.01 and {MAX_AMOUNT}, in cents")
    return number.quantize(CENT)


@dataclass
class Config:
    """How an account is charged and paid out; each setting can be changed per account."""

    card_fee_percent: Decimal = Decimal("2.9")
    card_fee_fixed: Decimal = Decimal("0.30")
    ach_fee_percent: Decimal = Decimal("0")
    ach_fee_fixed: Decimal = Decimal("0")
    payout_delay_days: int = 2  # business days from the money's arrival to the payout
    ach_settlement_days: int = 2  # business days from a debit's start to its settlement

    def update(self, data: dict[str, Any]) -> None:
        """Change the settings a control call names; ValueError if one is wrong."""
        names = {setting.name for setting in fields(self)}
        for name, value in data.items():
            if name not in names:
                raise ValueError(f"unknown setting: {name}")
            if name.endswith("_days"):
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
                    raise ValueError(f"{name} is a whole number of days from 1 to 30")
                setattr(self, name, value)
            else:
                number = decimal(value, name)
                if number < 0 or (name.endswith("_percent") and number > 100):
                    raise ValueError(f"{name} is not negative, and a percent is at most 100")
                setattr(self, name, number)

    def fee(self, kind: str, gross: Decimal) -> Decimal:
        """Return the processor's fee on money taken: a percentage plus a fixed amount."""
        percent, fixed = (
            (self.card_fee_percent, self.card_fee_fixed)
            if kind == "card"
            else (self.ach_fee_percent, self.ach_fee_fixed)
        )
        return (gross * percent / 100).quantize(CENT) + fixed.quantize(CENT)

    def as_json(self) -> dict[str, Any]:
        return {setting.name: getattr(self, setting.name) for setting in fields(self)}


@dataclass
class Method:
    """A card or bank account: a one-time token (tok_) or a saved, reusable method (pm_)."""

    id: str
    kind: str  # "card" or "ach"
    brand: str
    last4: str
    funding: str  # cards: credit, debit, prepaid; "unknown" for bank accounts
    behaviour: Any  # the TestCard or TestBankAccount it came from
    reusable: bool = False
    customer: str = ""
    used: bool = False
    created: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "method",
            "kind": self.kind,
            "brand": self.brand,
            "last4": self.last4,
            "funding": self.funding,
            "reusable": self.reusable,
            "customer": self.customer or None,
            "created": timestamp(self.created),
        }


@dataclass
class Payment:
    """One charge of a card or debit of a bank account, and where it stands."""

    id: str
    account_id: str
    amount: Decimal
    currency: str
    method: Method
    created: dt.datetime
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    return_url: str = ""
    customer: str = ""
    off_session: bool = False
    # succeeded, pending (ACH in flight), requires_action, failed, canceled, returned
    status: str = "pending"
    action_url: str = ""
    decline: str = ""  # "hard" or "soft"
    error_code: str = ""
    advice_code: str = ""  # Mastercard's merchant advice code, beside a decline
    error_message: str = ""
    return_code: str = ""
    refunded: Decimal = Decimal("0.00")
    saved_method: Method | None = None
    succeeded_at: dt.datetime | None = None
    settles_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment",
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "method": self.method.as_json(),
            "saved_method": self.saved_method.as_json() if self.saved_method else None,
            "customer": self.customer or None,
            "description": self.description,
            "metadata": self.metadata,
            "off_session": self.off_session,
            "action_url": self.action_url or None,
            "return_url": self.return_url or None,
            "decline": self.decline or None,
            "error_code": self.error_code or None,
            "advice_code": self.advice_code or None,
            "error_message": self.error_message or None,
            "return_code": self.return_code or None,
            "amount_refunded": self.refunded,
            "created": timestamp(self.created),
            "succeeded_at": timestamp(self.succeeded_at),
            "settles_at": timestamp(self.settles_at),
            "returned_at": timestamp(self.returned_at),
        }


@dataclass
class Refund:
    id: str
    payment: str
    amount: Decimal
    currency: str
    created: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "payment": self.payment,
            "amount": self.amount,
            "currency": self.currency,
            "status": "succeeded",
            "created": timestamp(self.created),
        }


@dataclass
class Funds:
    """Money that arrived without a payment: a bank transfer with the sender's reference."""

    id: str
    amount: Decimal
    currency: str
    memo: str
    sender: str
    received: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "funds",
            "amount": self.amount,
            "currency": self.currency,
            "memo": self.memo,
            "sender": self.sender,
            "received": timestamp(self.received),
        }


@dataclass
class BalanceEntry:
    """One movement of the account's balance; payouts are made of them."""

    kind: str  # "charge", "refund", "return", "funds"
    source: str  # the payment's (or funds') id
    amount: Decimal
    fee: Decimal
    currency: str
    available_on: dt.date
    payout: str = ""

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "payment": self.source,
            "amount": self.amount,
            "fee": self.fee,
            "net": self.net,
        }


@dataclass
class Payout:
    id: str
    amount: Decimal
    currency: str
    arrival_date: dt.date
    items: list[BalanceEntry]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payout",
            "amount": self.amount,
            "currency": self.currency,
            "arrival_date": self.arrival_date.isoformat(),
            "status": "paid",
            "items": [item.as_json() for item in self.items],
        }


@dataclass
class Kept:
    """The first answer to an Idempotency-Key, replayed to any repeat of the same request."""

    fingerprint: str
    status: int
    body: bytes
    at: dt.datetime


@dataclass
class Account:
    """One merchant: its keys, settings, and everything it has charged and been paid."""

    id: str
    name: str
    api_key: str
    webhook_secret: str
    created: dt.datetime
    config: Config = field(default_factory=Config)
    webhook_url: str = ""
    methods: dict[str, Method] = field(default_factory=dict)  # tokens and saved methods
    customers: dict[str, dict[str, str]] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    funds: dict[str, Funds] = field(default_factory=dict)
    balance: list[BalanceEntry] = field(default_factory=list)
    payouts: dict[str, Payout] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_index: dict[str, int] = field(default_factory=dict)
    kept: dict[str, Kept] = field(default_factory=dict)
    # What happens later, as (when, sequence, action, subject); see Store.advance.
    schedule: list[tuple[dt.datetime, int, str, Any]] = field(default_factory=list)
    payout_days: set[tuple[dt.date, str]] = field(default_factory=set)

    def as_json(self, *, keys: bool = False) -> dict[str, Any]:
        answer = {
            "id": self.id,
            "object": "account",
            "name": self.name,
            "webhook_url": self.webhook_url or None,
            "created": timestamp(self.created),
            **self.config.as_json(),
        }
        if keys:
            answer |= {"api_key": self.api_key, "webhook_secret": self.webhook_secret}
        return answer
