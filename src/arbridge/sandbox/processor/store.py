"""The sandbox processor's accounts and money, in memory, on the wall clock.

Nothing runs in the background. What happens later (an ACH debit settling or
coming back, a payout arriving) is put on the account's schedule when it
becomes certain, and `advance()` carries out everything due by now at the
start of each request. A test that moves the clock with time-machine sees the
new state on its next call, and the events come out in the order they
happened, each with an id that never changes.

Money moves through the account's balance: a succeeded charge, a settled
debit or received funds adds an entry (gross, fee, net) available a number of
business days later; refunds and returns subtract. At 00:00 UTC on each day
with entries available, they are paid out together, one payout per currency.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import secrets
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arbridge.sandbox.processor import numbers
from arbridge.sandbox.processor.days import add_business_days
from arbridge.sandbox.processor.records import (
    Account,
    BalanceEntry,
    Funds,
    Kept,
    Method,
    Payment,
    Payout,
    Refund,
    amount,
    new_id,
    timestamp,
)

KEEP_KEYS = dt.timedelta(hours=24)  # Stripe keeps idempotency keys at least 24 hours
MAX_KEY_CHARS = 255

Listener = Callable[[Account, dict[str, Any]], None]


class ApiError(Exception):
    """A request the sandbox refuses, answered as Stripe answers: {"error": {...}}."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str = "",
        payment: Payment | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.type, self.param, self.payment = type, param, payment

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.payment:
            error["payment"] = self.payment.as_json()
            if self.payment.decline:
                error["decline_code"] = self.payment.error_code
        return {"error": error}


def missing(what: str, id: str, param: str = "") -> ApiError:
    return ApiError(
        404 if not param else 400, "resource_missing", f"No such {what}: {id}", param=param
    )


class Store:
    """Every account, under one lock; each call first brings the account up to now."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None):
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.accounts: dict[str, Account] = {}
        self.by_key: dict[str, str] = {}
        self.payment_accounts: dict[str, str] = {}
        self.listeners: list[Listener] = []
        self.lock = threading.RLock()
        self.sequence = itertools.count()

    def now(self) -> dt.datetime:
        return self.clock()

    # -- accounts ---------------------------------------------------------------

    def create_account(self, name: str, webhook_url: str = "", **settings: Any) -> Account:
        """Open an account with its own API key and webhook secret; ValueError on a bad setting."""
        with self.lock:
            account = Account(
                id=new_id("acct"),
                name=name or "Sandbox merchant",
                api_key=f"sk_sandbox_{secrets.token_hex(16)}",
                webhook_secret=f"whsec_{secrets.token_hex(16)}",
                created=self.now(),
                webhook_url=webhook_url,
            )
            account.config.update(settings)
            self.accounts[account.id] = account
            self.by_key[account.api_key] = account.id
            return account

    def configure(self, account: Account, data: dict[str, Any]) -> Account:
        """Change an account's webhook URL or settings; ValueError if one is wrong."""
        with self.lock:
            data = dict(data)
            if "webhook_url" in data:
                account.webhook_url = str(data.pop("webhook_url") or "")
            account.config.update(data)
            return account

    def account(self, account_id: str) -> Account:
        with self.lock:
            found = self.accounts.get(account_id)
            if found is None:
                raise missing("account", account_id)
            self.advance(found)
            return found

    def account_of(self, api_key: str) -> Account | None:
        """Return the account an API key opens, brought up to now."""
        with self.lock:
            account_id = self.by_key.get(api_key)
            return self.account(account_id) if account_id else None

    # -- the timeline -----------------------------------------------------------

    def advance(self, account: Account) -> None:
        """Carry out, in order, everything on the account's schedule that is due by now."""
        with self.lock:
            now = self.now()
            while account.schedule and account.schedule[0][0] <= now:
                when, _, action, subject = heapq.heappop(account.schedule)
                getattr(self, f"_{action}")(account, when, subject)

    def advance_all(self) -> None:
        with self.lock:
            for account in self.accounts.values():
                self.advance(account)

    def _later(self, account: Account, when: dt.datetime, action: str, subject: Any) -> None:
        heapq.heappush(account.schedule, (when, next(self.sequence), action, subject))

    def _emit(self, account: Account, when: dt.datetime, kind: str, record: Any) -> None:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "type": kind,
            "created": timestamp(when),
            "data": {"object": record.as_json()},
        }
        account.event_index[event["id"]] = len(account.events)
        account.events.append(event)
        for listener in self.listeners:
            listener(account, event)

    def _credit(
        self,
        account: Account,
        when: dt.datetime,
        kind: str,
        source: str,
        gross: Decimal,
        fee: Decimal,
        currency: str,
    ) -> None:
        """Move the balance, and make sure the day the money is available has a payout."""
        day = add_business_days(when.date(), account.config.payout_delay_days)
        account.balance.append(BalanceEntry(kind, source, gross, fee, currency, day))
        if (day, currency) not in account.payout_days:
            account.payout_days.add((day, currency))
            midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
            self._later(account, midnight, "payout", (day, currency))

    def _payout(self, account: Account, when: dt.datetime, due: tuple[dt.date, str]) -> None:
        day, currency = due
        items = [
            entry
            for entry in account.balance
            if (entry.available_on, entry.currency) == due and not entry.payout
        ]
        payout = Payout(
            new_id("po"), sum((e.net for e in items), Decimal("0.00")), currency, day, items
        )
        for entry in items:
            entry.payout = payout.id
        account.payouts[payout.id] = payout
        self._emit(account, when, "payout.paid", payout)

    def _settle(self, account: Account, when: dt.datetime, payment: Payment) -> None:
        self._succeed(account, when, payment)
        if payment.method.behaviour.return_code:
            returns = add_business_days(when, numbers.RETURN_DAYS)
            self._later(account, returns, "return", payment)

    def _return(self, account: Account, when: dt.datetime, payment: Payment) -> None:
        code = payment.method.behaviour.return_code
        payment.status, payment.returned_at = "returned", when
        payment.return_code = payment.error_code = code
        payment.error_message = numbers.RETURN_REASONS[code]
        self._credit(
            account, when, "return", payment.id, -payment.amount, Decimal("0.00"), payment.currency
        )
        self._emit(account, when, "payment.returned", payment)

    def _fail(self, account: Account, when: dt.datetime, payment: Payment) -> None:
        """Fail an ACH debit returned before it settled."""
        code = payment.method.behaviour.return_code
        payment.status, payment.return_code, payment.error_code = "failed", code, code
        payment.error_message = numbers.RETURN_REASONS[code]
        self._emit(account, when, "payment.failed", payment)

    def _succeed(self, account: Account, when: dt.datetime, payment: Payment) -> None:
        payment.status, payment.succeeded_at = "succeeded", when
        fee = account.config.fee(payment.method.kind, payment.amount)
        self._credit(account, when, "charge", payment.id, payment.amount, fee, payment.currency)
        self._emit(account, when, "payment.succeeded", payment)

    def _decline(self, account: Account, when: dt.datetime, payment: Payment, code: str) -> None:
        payment.status = "failed"
        payment.decline, payment.error_message = numbers.DECLINES[code]
        payment.error_code = code
        self._emit(account, when, "payment.failed", payment)

    # -- idempotency ------------------------------------------------------------

    def replayed(self, account: Account, key: str, fingerprint: str) -> Kept | None:
        """Return the first answer to this key, or None; ApiError if the request differs."""
        if not 0 < len(key) <= MAX_KEY_CHARS:
            raise ApiError(
                400,
                "idempotency_key_invalid",
                f"Idempotency-Key is 1 to {MAX_KEY_CHARS} characters",
            )
        kept = account.kept.get(key)
        if kept is None or kept.at < self.now() - KEEP_KEYS:
            return None
        if kept.fingerprint != fingerprint:
            raise ApiError(
                400,
                "idempotency_key_in_use",
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with.",
                type="idempotency_error",
            )
        return kept

    def keep(self, account: Account, key: str, fingerprint: str, status: int, body: bytes) -> None:
        account.kept[key] = Kept(fingerprint, status, body, self.now())

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()

    # -- methods ----------------------------------------------------------------

    def tokenize(self, account: Account, kind: str, fields: dict[str, Any]) -> Method:
        """Return a one-time token for a test card or bank account; numbers.Invalid if wrong."""
        get = lambda name: str(fields.get(name) or "")  # noqa: E731
        if kind == "card":
            card = numbers.card(
                get("number"), get("expiry"), get("cvc"), get("postal_code"), self.now().date()
            )
            brand, funding, behaviour = card.brand, card.funding, card
            last4 = numbers.digits(get("number"))[-4:]
        elif kind == "ach":
            mandate = fields.get("mandate") in (True, "true", "on", "1", "accepted")
            behaviour = numbers.bank_account(
                get("routing_number"), get("account_number"), get("account_holder_name"), mandate
            )
            brand, funding, last4 = (
                "bank account",
                "unknown",
                numbers.digits(get("account_number"))[-4:],
            )
        else:
            raise numbers.Invalid("kind is card or ach", "kind")
        with self.lock:
            token = Method(
                new_id("tok"), kind, brand, last4, funding, behaviour, created=self.now()
            )
            account.methods[token.id] = token
            return token

    def method(self, account: Account, method_id: str) -> Method:
        with self.lock:
            found = account.methods.get(method_id)
            if found is None:
                raise missing("payment method", method_id)
            return found

    def save_method(
        self, account: Account, token_id: str, name: str, email: str, customer: str = ""
    ) -> Method:
        """Keep a token's card or bank account as a reusable method of a (new) customer."""
        with self.lock:
            token = self._spend(account, token_id)
            if token.reusable:
                return token
            return self._save(account, token, customer or self._customer(account, name, email))

    def _customer(self, account: Account, name: str, email: str) -> str:
        customer = new_id("cus")
        account.customers[customer] = {"name": name, "email": email}
        return customer

    def _save(self, account: Account, token: Method, customer: str) -> Method:
        saved = Method(
            new_id("pm"),
            token.kind,
            token.brand,
            token.last4,
            token.funding,
            token.behaviour,
            reusable=True,
            customer=customer,
            created=self.now(),
        )
        account.methods[saved.id] = saved
        return saved

    def _spend(self, account: Account, method_id: str) -> Method:
        """Return a method to charge or save; a one-time token is used up."""
        method = account.methods.get(method_id)
        if method is None:
            raise missing("payment method", method_id, param="method")
        if not method.reusable:
            if method.used:
                raise ApiError(
                    400,
                    "token_already_used",
                    "This token was already used; tokenize the method again.",
                    param="method",
                )
            method.used = True
        return method

    # -- payments ---------------------------------------------------------------

    def create_payment(self, account: Account, params: dict[str, Any], base_url: str) -> Payment:
        """Charge a card or start an ACH debit; the payment says how it went."""
        try:
            money = amount(params.get("amount"))
        except ValueError as error:
            raise ApiError(400, "amount_invalid", str(error), param="amount") from None
        currency = str(params.get("currency") or "").upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ApiError(
                400, "currency_invalid", "currency is a 3-letter ISO code", param="currency"
            )
        off_session = params.get("off_session") is True
        customer = str(params.get("customer") or "")
        with self.lock:
            method_id = str(params.get("method") or "")
            method = account.methods.get(method_id)
            if method is None:
                raise missing("payment method", method_id, param="method")
            if method.reusable and customer and method.customer != customer:
                raise ApiError(
                    400,
                    "method_customer_mismatch",
                    "The method belongs to another customer.",
                    param="method",
                )
            if off_session and not method.reusable:
                raise ApiError(
                    400,
                    "method_not_saved",
                    "Off-session charges need a saved method.",
                    param="method",
                )
            self._spend(account, method_id)
            now = self.now()
            payment = Payment(
                id=new_id("py"),
                account_id=account.id,
                amount=money,
                currency=currency,
                method=method,
                created=now,
                description=str(params.get("description") or "")[:500],
                metadata={str(k): str(v) for k, v in (params.get("metadata") or {}).items()},
                return_url=str(params.get("return_url") or ""),
                customer=customer or method.customer,
                off_session=off_session,
            )
            account.payments[payment.id] = payment
            self.payment_accounts[payment.id] = account.id
            if method.kind == "card":
                self._charge_card(account, now, payment, base_url)
            else:
                self._start_debit(account, now, payment)
            if (
                params.get("save_method") is True
                and payment.status != "failed"
                and not method.reusable
            ):
                payment.customer = payment.customer or self._customer(account, "", "")
                payment.saved_method = self._save(account, method, payment.customer)
            return payment

    def _charge_card(
        self, account: Account, now: dt.datetime, payment: Payment, base_url: str
    ) -> None:
        behaviour = payment.method.behaviour.behaviour
        if behaviour == "succeed" or (behaviour == "authenticate" and payment.off_session):
            self._succeed(account, now, payment)
        elif behaviour in numbers.DECLINES:
            self._decline(account, now, payment, behaviour)
        elif behaviour in numbers.ADVICE:
            code, payment.advice_code = numbers.ADVICE[behaviour]
            self._decline(account, now, payment, code)
        elif behaviour == "decline_charges":
            self._decline(account, now, payment, "generic_decline")
        elif payment.off_session:  # authenticate_always, with the customer away
            self._decline(account, now, payment, "authentication_required")
        else:
            payment.status = "requires_action"
            payment.action_url = f"{base_url}/authenticate/{payment.id}"

    def _start_debit(self, account: Account, now: dt.datetime, payment: Payment) -> None:
        bank = payment.method.behaviour
        days = bank.settlement_days or account.config.ach_settlement_days
        payment.status = "pending"
        payment.settles_at = add_business_days(now, days)
        self._later(
            account,
            payment.settles_at,
            "fail" if bank.returns_before_settlement else "settle",
            payment,
        )

    def payment(self, account: Account, payment_id: str) -> Payment:
        with self.lock:
            found = account.payments.get(payment_id)
            if found is None:
                raise missing("payment", payment_id)
            return found

    def payment_anywhere(self, payment_id: str) -> Payment:
        """Return a payment by id alone, for the authentication page the customer opens."""
        with self.lock:
            account_id = self.payment_accounts.get(payment_id)
            if account_id is None:
                raise missing("payment", payment_id)
            return self.payment(self.account(account_id), payment_id)

    def authenticate(self, payment_id: str, approve: bool) -> Payment:
        """Carry out the customer's answer on the authentication page (once)."""
        with self.lock:
            payment = self.payment_anywhere(payment_id)
            if payment.status != "requires_action":
                return payment
            account, now = self.accounts[payment.account_id], self.now()
            if approve:
                self._succeed(account, now, payment)
            else:
                payment.status, payment.error_code = "failed", "authentication_failed"
                payment.error_message = "We could not authenticate your card."
                self._emit(account, now, "payment.failed", payment)
            return payment

    def cancel(self, account: Account, payment_id: str) -> Payment:
        with self.lock:
            payment = self.payment(account, payment_id)
            if payment.status == "canceled":
                return payment
            if payment.status != "requires_action":
                raise ApiError(
                    400,
                    "payment_unexpected_state",
                    f"A {payment.status} payment cannot be canceled.",
                    payment=payment,
                )
            payment.status, payment.error_code = "canceled", "canceled"
            payment.error_message = "The payment was canceled."
            return payment

    def refund(self, account: Account, payment_id: str, value: Any) -> Refund:
        """Give back some or all of a succeeded payment; the fee is not returned, as at Stripe."""
        with self.lock:
            payment = self.payment(account, payment_id)
            if payment.status != "succeeded":
                raise ApiError(
                    400,
                    "payment_unexpected_state",
                    f"A {payment.status} payment cannot be refunded.",
                    payment=payment,
                )
            left = payment.amount - payment.refunded
            try:
                money = left if value is None else amount(value)
            except ValueError as error:
                raise ApiError(400, "amount_invalid", str(error), param="amount") from None
            if money > left or not money:
                raise ApiError(
                    400, "amount_too_large", f"At most {left} is left to refund.", param="amount"
                )
            now = self.now()
            refund = Refund(new_id("re"), payment.id, money, payment.currency, now)
            payment.refunded += money
            account.refunds[refund.id] = refund
            self._credit(
                account, now, "refund", payment.id, -money, Decimal("0.00"), payment.currency
            )
            self._emit(account, now, "payment.refunded", refund)
            return refund

    def receive_funds(
        self, account: Account, value: Any, currency: str, memo: str, sender: str
    ) -> Funds:
        """Record money that arrived without a payment, as a bank transfer does."""
        with self.lock:
            now = self.now()
            funds = Funds(new_id("fu"), amount(value), currency.upper(), memo, sender, now)
            account.funds[funds.id] = funds
            self._credit(
                account, now, "funds", funds.id, funds.amount, Decimal("0.00"), funds.currency
            )
            self._emit(account, now, "funds.received", funds)
            return funds

    # -- reading ----------------------------------------------------------------

    def events_after(self, account: Account, cursor: str, limit: int) -> tuple[list[dict], bool]:
        """Return up to `limit` events after the one with id `cursor`, and whether more follow."""
        with self.lock:
            start = 0
            if cursor:
                if cursor not in account.event_index:
                    raise missing("event", cursor, param="after")
                start = account.event_index[cursor] + 1
            page = account.events[start : start + limit]
            return page, start + limit < len(account.events)

    def payouts_since(self, account: Account, since: dt.date) -> list[Payout]:
        with self.lock:
            found = [p for p in account.payouts.values() if p.arrival_date >= since]
            return sorted(found, key=lambda payout: payout.arrival_date)
