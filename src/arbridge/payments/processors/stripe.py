"""Stripe: PaymentIntents for cards and ACH debits, SetupIntents for saved methods.

Every call goes through a `stripe.StripeClient` built with the partner's own
secret key (never the global `stripe.api_key`, which every partner would
share), over the caller's httpx.Client when it gives one. The customer's
browser hands card and bank details to Stripe's own element, which gives back
a PaymentMethod id; arbridge confirms a PaymentIntent with that id on the
server. Every call that moves money carries an Idempotency-Key derived from
the operation id, so a retry replays Stripe's first answer (DOMAIN.md, Stripe).
Events and payouts are read into arbridge's dataclasses by stripe_reports.py.

Errors, as the SDK raises them and as arbridge sees them:

    stripe.StripeError
      CardError                    -> PaymentResult FAILED, with a Decline
      InvalidRequestError          -> FAILED (a token or amount Stripe refuses);
                                      from describe or save_method, ProcessorError
                                      with a message for the customer, as the
                                      sandbox processor does
      APIConnectionError,
      RateLimitError, APIError,
      AuthenticationError, ...     -> ProcessorError (ask again later)
    SignatureVerificationError     -> InvalidSignature
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import stripe

from arbridge.core.money import minor_unit, quantize
from arbridge.payments.base import (
    Charge,
    Decline,
    Event,
    EventKind,
    Funding,
    InvalidSignature,
    MethodDetails,
    MethodKind,
    MethodRefused,
    Outcome,
    PaymentResult,
    Payout,
    ProcessorError,
    RefundResult,
)
from arbridge.payments.processors.stripe_reports import (
    EVENT_KINDS,
    event_from,
    from_minor,
    is_ach_dispute,
    payout_from,
)

# Stripe's own tolerance for a webhook's timestamp (DOMAIN.md, Stripe).
SIGNATURE_TOLERANCE = 300
MAX_IDEMPOTENCY_KEY = 255
PAGE_SIZE = 100

# Stripe decline codes (docs.stripe.com/declines/codes) that must never be retried:
# Visa's Category 1 responses 04, 07, 12, 14, 15, 41, 43, 46, 57, R0, R1, R3 and
# Mastercard's MAC 03 and 21 (DOMAIN.md, Retries), plus codes that a retry with the
# same card cannot cure (expired, wrong number or CVC: the customer must update it).
HARD_DECLINES = frozenset(
    {
        "stolen_card",  # Visa 43
        "lost_card",  # Visa 41
        "pickup_card",  # Visa 04, 07
        "fraudulent",
        "do_not_honor",
        "do_not_try_again",  # Mastercard MAC 03
        "invalid_account",  # Visa 14, 46
        "incorrect_number",  # Visa 14
        "invalid_number",
        "restricted_card",
        "transaction_not_allowed",  # Visa 57
        "card_not_supported",
        "not_permitted",
        "service_not_allowed",
        "security_violation",
        "merchant_blacklist",
        "stop_payment_order",  # Visa R0
        "revocation_of_authorization",  # Visa R1
        "revocation_of_all_authorizations",  # Visa R3, Mastercard MAC 21
        "expired_card",
        "new_account_information_available",  # Mastercard MAC 01: update the card
        "incorrect_cvc",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "currency_not_supported",
    }
)
# Declines that may clear later (issuer down, funds short): retried within the
# networks' limits (DOMAIN.md, Retries). A code in neither set counts as hard:
# retrying a Category 1 response costs the merchant a fee per attempt.
SOFT_DECLINES = frozenset(
    {
        "insufficient_funds",  # Visa 51
        "generic_decline",
        "try_again_later",
        "processing_error",
        "issuer_not_available",  # Visa 91
        "reenter_transaction",
        "approve_with_id",
        "call_issuer",
        "card_velocity_exceeded",  # Visa 61, 65
        "withdrawal_count_limit_exceeded",
        "duplicate_transaction",
        "authentication_required",
        "offline_pin_required",
        "online_or_offline_pin_required",
        "no_action_taken",
    }
)

# Stripe's answers about this payment (a declined card, a token it does not know),
# as opposed to its outages.
REFUSALS = (stripe.CardError, stripe.InvalidRequestError)

UNKNOWN_METHOD = "Stripe does not know this payment method; please enter it again."

FUNDING = {"credit": Funding.CREDIT, "debit": Funding.DEBIT, "prepaid": Funding.PREPAID}


class StripeProcessor:
    """A partner's Stripe account, through the official SDK."""

    kind: ClassVar[str] = "stripe"

    def __init__(self, credentials: dict[str, Any], http: httpx.Client | None = None) -> None:
        self.publishable_key = credentials.get("publishable_key", "")
        self.webhook_secret = credentials.get("webhook_secret", "")
        api_base = credentials.get("api_base")
        self.client = stripe.StripeClient(
            credentials.get("secret_key", ""),
            base_addresses={"api": api_base} if api_base else None,
            http_client=HttpxTransport(http) if http is not None else None,
            max_network_retries=2,
        )

    def client_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "publishable_key": self.publishable_key}

    def describe(self, token: str) -> MethodDetails:
        """Return a PaymentMethod's details; ProcessorError (enter it again) if Stripe has none."""
        try:
            return self._method(token)
        except REFUSALS as error:
            raise MethodRefused(UNKNOWN_METHOD) from error

    def _method(self, token: str) -> MethodDetails:
        # Reference: https://docs.stripe.com/api/payment_methods/retrieve
        with stripe_errors(keep=REFUSALS):
            method = self.client.v1.payment_methods.retrieve(token).to_dict()
        return method_details(method)

    def capture(self, charge: Charge) -> PaymentResult:
        try:
            method = self._method(charge.method)
        except REFUSALS:
            # Final, not "ask again": the same token will never be known.
            return PaymentResult(
                outcome=Outcome.FAILED,
                amount=charge.amount,
                currency=charge.currency,
                reference="",
                error_code="invalid_method",
                error_message=UNKNOWN_METHOD,
            )
        customer = charge.processor_customer
        if charge.save_method and not customer:
            customer = self._create_customer(charge.operation_id, charge.metadata)
        params = payment_intent_params(charge, method, customer)
        try:
            # Reference: https://docs.stripe.com/api/payment_intents/create
            with stripe_errors(keep=REFUSALS):
                intent = self.client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key(charge.operation_id)}
                ).to_dict()
        except REFUSALS as error:
            return refused(error, charge, method)
        result = payment_result(intent, off_session=charge.off_session)
        if charge.save_method and result.ok:
            saved = dataclasses.replace(method, reusable=True, processor_customer=customer)
            result = dataclasses.replace(result, saved_method=saved)
        return result

    def retrieve(self, reference: str) -> PaymentResult:
        # Reference: https://docs.stripe.com/api/payment_intents/retrieve
        with stripe_errors():
            intent = self.client.v1.payment_intents.retrieve(
                reference, {"expand": ["payment_method"]}
            ).to_dict()
        return payment_result(intent)

    def refund(self, reference: str, amount: Decimal, operation_id: str) -> RefundResult:
        try:
            with stripe_errors(keep=REFUSALS):
                # Stripe counts in minor units, which depend on the payment's currency.
                intent = self.client.v1.payment_intents.retrieve(reference)
                # Reference: https://docs.stripe.com/api/refunds/create
                refund = self.client.v1.refunds.create(
                    {"payment_intent": reference, "amount": to_minor(amount, intent.currency)},
                    {"idempotency_key": idempotency_key(operation_id)},
                ).to_dict()
        except REFUSALS as error:
            return RefundResult(
                success=False,
                amount=amount,
                currency="",
                reference="",
                error_message=error.user_message or str(error),
            )
        # An ACH refund stays pending for days; it is asked for, and Stripe sends it.
        return RefundResult(
            success=refund["status"] in ("succeeded", "pending"),
            amount=from_minor(refund["amount"], refund["currency"]),
            currency=refund["currency"].upper(),
            reference=refund["id"],
            error_message=refund.get("failure_reason") or "",
        )

    def cancel(self, reference: str, operation_id: str) -> PaymentResult:
        """Cancel a payment; one that completed meanwhile is returned as it is."""
        try:
            # Reference: https://docs.stripe.com/api/payment_intents/cancel
            with stripe_errors(keep=REFUSALS):
                intent = self.client.v1.payment_intents.cancel(
                    reference,
                    {"expand": ["payment_method"]},
                    {"idempotency_key": idempotency_key(operation_id)},
                ).to_dict()
        except REFUSALS:
            return self.retrieve(reference)
        return payment_result(intent)

    def save_method(self, token: str, customer_name: str, email: str) -> MethodDetails:
        """Attach a card to a new Stripe customer through a SetupIntent.

        Raises:
            MethodRefused: Stripe refused the card, or it needs the customer present
                (authentication, or a bank account's debit authorization, which is
                taken while paying with it: `Charge.save_method`). The message is
                for the customer.
        """
        method = self.describe(token)
        if method.kind == MethodKind.ACH:
            raise MethodRefused(
                "Save a bank account while paying with it, to authorize its debits."
            )
        operation = f"save-{token}"
        customer = self._create_customer(operation, {}, name=customer_name, email=email)
        try:
            with stripe_errors(keep=REFUSALS):
                # Reference: https://docs.stripe.com/api/setup_intents/create
                intent = self.client.v1.setup_intents.create(
                    {
                        "customer": customer,
                        "payment_method_types": ["card"],
                        "usage": "off_session",
                    },
                    {"idempotency_key": idempotency_key(operation, "setup")},
                )
                # Reference: https://docs.stripe.com/api/setup_intents/confirm
                intent = self.client.v1.setup_intents.confirm(
                    intent.id,
                    {"payment_method": token},
                    {"idempotency_key": idempotency_key(operation, "confirm")},
                ).to_dict()
        except REFUSALS as error:
            raise MethodRefused(error.user_message or "The card was declined.") from error
        if intent["status"] != "succeeded":
            raise MethodRefused("The card asks for authentication: pay with it once to save it.")
        return dataclasses.replace(method, reusable=True, processor_customer=customer)

    def charge_saved(self, charge: Charge) -> PaymentResult:
        return self.capture(
            dataclasses.replace(charge, off_session=True, save_method=False, return_url="")
        )

    def verify(self, request: Any) -> str:
        signature = request.headers.get("Stripe-Signature", "")
        if not self.webhook_secret:
            # Without a secret, anyone could sign with the empty key.
            raise InvalidSignature("No Stripe webhook secret is set for this partner.")
        try:
            # Reference: https://docs.stripe.com/webhooks#verify-official-libraries
            event = stripe.Webhook.construct_event(
                request.body, signature, self.webhook_secret, tolerance=SIGNATURE_TOLERANCE
            )
            return str(event["id"])
        except (stripe.SignatureVerificationError, ValueError, KeyError) as error:
            raise InvalidSignature(str(error)) from error

    def read(self, body: bytes) -> list[Event]:
        return [mapped] if (mapped := self._event(json.loads(body))) else []

    def events(self, after: str) -> tuple[list[Event], str]:
        """Return the events newer than `after`, oldest first.

        Stripe lists newest first; `ending_before` pages towards the present, each
        page still newest first, so the first event of a page is the next cursor.
        """
        params: dict[str, Any] = {"types": list(EVENT_KINDS), "limit": PAGE_SIZE}
        raw: list[dict] = []
        cursor = after
        with stripe_errors():
            if not after:
                # Reference: https://docs.stripe.com/api/events/list
                listing = self.client.v1.events.list(params)
                raw = [e.to_dict() for e in listing.auto_paging_iter()][::-1]
                cursor = raw[-1]["id"] if raw else ""
            else:
                while True:
                    page = self.client.v1.events.list({**params, "ending_before": cursor})
                    batch = [e.to_dict() for e in page.data]
                    if not batch:
                        break
                    raw.extend(batch[::-1])
                    cursor = batch[0]["id"]
                    if not page.has_more:
                        break
        return [e for e in map(self._event, raw) if e is not None], cursor

    def payouts(self, since: dt.date) -> list[Payout]:
        start = int(dt.datetime.combine(since, dt.time(), dt.UTC).timestamp())
        with stripe_errors():
            # Reference: https://docs.stripe.com/api/payouts/list
            listing = self.client.v1.payouts.list(
                {"arrival_date": {"gte": start}, "status": "paid", "limit": PAGE_SIZE}
            )
            return [self._payout(p.to_dict()) for p in listing.auto_paging_iter()]

    def _payout(self, payout: dict) -> Payout:
        """Return a payout with its balance transactions: amount, fee and net of each."""
        # Reference: https://docs.stripe.com/payouts/reconciliation
        listing = self.client.v1.balance_transactions.list(
            {"payout": payout["id"], "expand": ["data.source"], "limit": PAGE_SIZE}
        )
        transactions = [t.to_dict() for t in listing.auto_paging_iter()]
        return payout_from(payout, transactions)

    def _event(self, event: dict) -> Event | None:
        kind = EVENT_KINDS.get(event["type"])
        if kind is None:
            return None
        obj = event["data"]["object"]
        if kind == EventKind.PAYMENT_RETURNED and not is_ach_dispute(obj):
            return None  # card disputes are contested by a person, in Stripe's dashboard
        payout = None
        if kind == EventKind.PAYOUT_PAID:
            with stripe_errors():
                payout = self._payout(obj)
        return event_from(event, kind, payout)

    def _create_customer(
        self, operation_id: str, metadata: Any, name: str = "", email: str = ""
    ) -> str:
        params: dict[str, Any] = {"metadata": dict(metadata)}
        if name:
            params["name"] = name
        if email:
            params["email"] = email
        # Reference: https://docs.stripe.com/api/customers/create
        with stripe_errors():
            customer = self.client.v1.customers.create(
                params, {"idempotency_key": idempotency_key(operation_id, "customer")}
            )
        return customer.id


class HttpxTransport(stripe.HTTPClient):
    """Send the SDK's requests through the caller's httpx.Client (a sandbox, a proxy)."""

    name = "httpx"

    def __init__(self, http: httpx.Client) -> None:
        super().__init__()
        self.http = http

    def request(self, method, url, headers, post_data=None):
        try:
            response = self.http.request(method, url, headers=headers, content=post_data)
        except httpx.HTTPError as error:
            raise stripe.APIConnectionError(f"Stripe could not be reached: {error}") from error
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        """Leave the client open: its owner closes it."""


@contextmanager
def stripe_errors(keep: tuple[type[stripe.StripeError], ...] = ()) -> Iterator[None]:
    """Raise ProcessorError for any Stripe error but those in `keep`, which the caller reads."""
    try:
        yield
    except keep:
        raise
    except stripe.StripeError as error:
        raise ProcessorError(f"Stripe: {error.user_message or error}") from error


def idempotency_key(operation_id: str, step: str = "") -> str:
    """Return Stripe's Idempotency-Key for one step of an operation; at most 255 chars."""
    key = f"arbridge-{operation_id}" + (f"-{step}" if step else "")
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    return "arbridge-" + hashlib.sha256(key.encode()).hexdigest()


def to_minor(amount: Decimal, currency: str) -> int:
    """Return an amount in the currency's smallest unit, as Stripe counts it."""
    return int(quantize(amount, currency).scaleb(minor_unit(currency)))


def payment_intent_params(charge: Charge, method: MethodDetails, customer: str) -> dict:
    """Return the PaymentIntent for a charge, confirmed at once with its method."""
    ach = method.kind == MethodKind.ACH
    params: dict[str, Any] = {
        "amount": to_minor(charge.amount, charge.currency),
        "currency": charge.currency.lower(),
        "payment_method": charge.method,
        "payment_method_types": ["us_bank_account" if ach else "card"],
        "confirm": True,
        "metadata": {**charge.metadata, "operation_id": charge.operation_id},
        "expand": ["payment_method"],
    }
    if charge.description:
        params["description"] = charge.description
    if customer:
        params["customer"] = customer
    if charge.save_method:
        params["setup_future_usage"] = "off_session"
    if charge.off_session:
        # A saved bank account's debits run on the mandate it was saved with.
        params["off_session"] = True
    else:
        if charge.return_url:
            params["return_url"] = charge.return_url
        if ach:
            # Reference: https://docs.stripe.com/api/payment_intents/create#create_payment_intent-mandate_data
            params["mandate_data"] = {
                "customer_acceptance": {
                    "type": "online",
                    "online": {"ip_address": charge.customer_ip, "user_agent": charge.user_agent},
                }
            }
    return params


def method_details(method: dict) -> MethodDetails:
    """Return what a PaymentMethod says of itself: kind, brand, last four, funding."""
    customer = method.get("customer") or ""
    if isinstance(customer, dict):
        customer = customer["id"]
    if method["type"] == "us_bank_account":
        bank = method["us_bank_account"]
        return MethodDetails(
            token=method["id"],
            kind=MethodKind.ACH,
            brand=bank.get("bank_name") or "bank account",
            last4=bank.get("last4") or "",
            reusable=bool(customer),
            processor_customer=customer,
        )
    if method["type"] != "card":
        raise ProcessorError(f"Stripe payment method {method['type']} is not accepted here.")
    card = method["card"]
    return MethodDetails(
        token=method["id"],
        kind=MethodKind.CARD,
        brand=card.get("brand") or "card",
        last4=card.get("last4") or "",
        funding=FUNDING.get(card.get("funding") or "", Funding.UNKNOWN),
        reusable=bool(customer),
        processor_customer=customer,
    )


def payment_result(intent: dict, *, off_session: bool = False) -> PaymentResult:
    """Return what a PaymentIntent's status means for arbridge."""
    method = intent.get("payment_method")
    base = {
        "amount": from_minor(intent["amount"], intent["currency"]),
        "currency": intent["currency"].upper(),
        "reference": intent["id"],
        "method": method_details(method) if isinstance(method, dict) else None,
    }
    status = intent["status"]
    if status == "succeeded":
        return PaymentResult(outcome=Outcome.SUCCEEDED, **base)
    if status == "processing":  # an ACH debit on its way: days until it settles
        return PaymentResult(outcome=Outcome.PENDING, **base)
    if status == "requires_action":
        if off_session:
            # Nobody is there to authenticate: the customer must pay in the portal.
            return PaymentResult(
                outcome=Outcome.FAILED,
                decline=Decline.SOFT,
                error_code="authentication_required",
                error_message="The bank asks the customer to authenticate this payment.",
                **base,
            )
        return PaymentResult(outcome=Outcome.REQUIRES_ACTION, action_url=action_url(intent), **base)
    if status == "requires_payment_method":
        error = intent.get("last_payment_error") or {}
        return PaymentResult(
            outcome=Outcome.FAILED,
            decline=decline_for(error.get("code") or "", error.get("decline_code") or ""),
            error_code=error.get("decline_code") or error.get("code") or "",
            error_message=error.get("message") or "The payment was declined.",
            **base,
        )
    if status == "canceled":
        return PaymentResult(
            outcome=Outcome.FAILED,
            error_code="canceled",
            error_message="The payment was cancelled.",
            **base,
        )
    # requires_confirmation, requires_capture: arbridge confirms and captures at once.
    raise ProcessorError(f"Stripe left payment {intent['id']} in status {status}")


def action_url(intent: dict) -> str:
    """Return where the customer goes to authenticate (3-D Secure) or verify a bank account."""
    action = intent.get("next_action") or {}
    if redirect := action.get("redirect_to_url"):
        return redirect.get("url") or ""
    if microdeposits := action.get("verify_with_microdeposits"):
        return microdeposits.get("hosted_verification_url") or ""
    return ""


def refused(error: stripe.StripeError, charge: Charge, method: MethodDetails) -> PaymentResult:
    """Return a declined or refused charge; Stripe's error names the PaymentIntent it made."""
    body = (error.json_body or {}).get("error", {})
    intent = body.get("payment_intent") or {}
    code = body.get("code") or ""
    decline_code = body.get("decline_code") or ""
    return PaymentResult(
        outcome=Outcome.FAILED,
        amount=charge.amount,
        currency=charge.currency,
        reference=intent.get("id") or "",
        method=method,
        decline=decline_for(code, decline_code) if isinstance(error, stripe.CardError) else None,
        error_code=decline_code or code,
        error_message=body.get("message") or error.user_message or "The payment was declined.",
    )


def decline_for(code: str, decline_code: str) -> Decline | None:
    """Return whether a declined card may be tried again (DOMAIN.md, Retries)."""
    if not code and not decline_code:
        return None
    if code == "card_declined" and not decline_code:
        decline_code = "generic_decline"
    reason = decline_code or code
    return Decline.SOFT if reason in SOFT_DECLINES else Decline.HARD
