"""The sandbox processor (arbridge.sandbox.processor), spoken to over HTTP as any processor is.

Credentials: {"base_url", "account_id", "api_key", "webhook_secret"}, as
`provision()` returns them. The customer types card and account numbers on
the sandbox's own page (`client_config()["tokenize_url"]`), which sends the
browser back with a token; arbridge sees only tokens.

Failures, as arbridge sees them:

    httpx.HTTPError (timeouts, refused)    -> ProcessorError (ask again later)
    401, 429, 5xx, 504                      -> ProcessorError
    400 idempotency_error                   -> ProcessorError (a bug: the key was reused)
    402 card_declined                       -> PaymentResult FAILED, with a Decline
    400 on a charge (used token, bad amount)-> PaymentResult FAILED, with the message
    404 on a method                         -> ProcessorError (tokenize again)
    a webhook not signed with the secret    -> InvalidSignature
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any, ClassVar

import httpx

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
    PayoutItem,
    ProcessorError,
    RefundResult,
)

SIGNATURE_HEADER = "Sandbox-Signature"
SIGNATURE_TOLERANCE = 300  # seconds, as Stripe's (DOMAIN.md, Stripe)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@functools.cache
def pooled_client() -> httpx.Client:
    """Return this process's one client: a processor is built per request, a pool is not."""
    return httpx.Client(timeout=TIMEOUT)


PAGE_SIZE = 1000

OUTCOMES = {
    "succeeded": Outcome.SUCCEEDED,
    "pending": Outcome.PENDING,
    "requires_action": Outcome.REQUIRES_ACTION,
    "failed": Outcome.FAILED,
    "canceled": Outcome.FAILED,
    "returned": Outcome.FAILED,
}


def provision(
    base_url: str, name: str, http: httpx.Client | None = None, *, webhook_url: str = ""
) -> dict[str, str]:
    """Open an account at a sandbox processor and return the credentials to reach it."""
    base_url = base_url.rstrip("/")
    http = http or httpx.Client(timeout=TIMEOUT)
    try:
        response = http.post(
            f"{base_url}/_sandbox/accounts", json={"name": name, "webhook_url": webhook_url}
        )
    except httpx.HTTPError as error:
        raise ProcessorError(
            f"the sandbox processor at {base_url} is unreachable: {error}"
        ) from error
    if response.status_code != 201:
        raise ProcessorError(f"the sandbox processor refused a new account: {response.text[:200]}")
    account = response.json()
    return {
        "base_url": base_url,
        "account_id": account["id"],
        "api_key": account["api_key"],
        "webhook_secret": account["webhook_secret"],
    }


def decimal_json(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal, parse_int=Decimal)


def money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def details(method: dict[str, Any]) -> MethodDetails:
    return MethodDetails(
        token=method["id"],
        kind=MethodKind(method["kind"]),
        brand=method["brand"],
        last4=method["last4"],
        funding=Funding(method["funding"]),
        reusable=method["reusable"],
        processor_customer=method.get("customer") or "",
    )


def result(payment: dict[str, Any]) -> PaymentResult:
    return PaymentResult(
        outcome=OUTCOMES[payment["status"]],
        amount=money(payment["amount"]),
        currency=payment["currency"],
        reference=payment["id"],
        method=details(payment["method"]),
        action_url=payment.get("action_url") or "",
        decline=Decline(payment["decline"]) if payment.get("decline") else None,
        error_code=payment.get("error_code") or "",
        error_message=payment.get("error_message") or "",
        saved_method=details(payment["saved_method"]) if payment.get("saved_method") else None,
        advice_code=payment.get("advice_code") or "",
    )


def payout(data: dict[str, Any]) -> Payout:
    items = tuple(
        PayoutItem(
            kind=item["kind"],
            payment_reference=item["payment"],
            amount=money(item["amount"]),
            fee=money(item["fee"]),
            net=money(item["net"]),
        )
        for item in data["items"]
    )
    return Payout(
        reference=data["id"],
        amount=money(data["amount"]),
        currency=data["currency"],
        arrival_date=dt.date.fromisoformat(data["arrival_date"]),
        items=items,
    )


def event(data: dict[str, Any]) -> Event:
    """Map one of the sandbox's events; each names the record it is about, as it was then."""
    kind, record = EventKind(data["type"]), data["data"]["object"]
    common = {"id": data["id"], "kind": kind, "occurred_at": moment(data["created"])}
    amount, currency = money(record["amount"]), record["currency"]
    if kind == EventKind.PAYOUT_PAID:
        return Event(
            **common,
            reference=record["id"],
            amount=amount,
            currency=currency,
            payout=payout(record),
        )
    if kind == EventKind.FUNDS_RECEIVED:
        return Event(
            **common, reference=record["id"], amount=amount, currency=currency, memo=record["memo"]
        )
    if kind == EventKind.PAYMENT_REFUNDED:
        return Event(**common, reference=record["payment"], amount=amount, currency=currency)
    return Event(
        **common,
        reference=record["id"],
        amount=amount,
        currency=currency,
        return_code=record.get("return_code") or "",
        message=record.get("error_message") or "",
    )


def verify(secret: str, body: bytes, header: str, now: float) -> None:
    """Check a delivery's signature and age; raise InvalidSignature if either is wrong."""
    # Reference: https://docs.stripe.com/webhooks#verify-manually
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value for key, value in parts if key.strip() == "v1"]
    if not secret or len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise InvalidSignature("no valid Sandbox-Signature header")
    expected = hmac.new(
        secret.encode(), f"{timestamps[0]}.".encode() + body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise InvalidSignature("the signature does not match the body")
    if abs(now - int(timestamps[0])) > SIGNATURE_TOLERANCE:
        raise InvalidSignature("the delivery is older than the tolerance")


class SandboxProcessor:
    kind: ClassVar[str] = "sandbox"

    def __init__(self, credentials: dict[str, Any], http: httpx.Client | None = None):
        self.base_url = credentials["base_url"].rstrip("/")
        self.account_id = credentials["account_id"]
        self.api_key = credentials["api_key"]
        self.webhook_secret = credentials.get("webhook_secret", "")
        self.http = http or pooled_client()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        key: str = "",
        params: dict | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Send one API call; return the status and body of an answer worth reading."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = self.http.request(
                method, f"{self.base_url}{path}", json=body, params=params, headers=headers
            )
        except httpx.HTTPError as error:
            raise ProcessorError(f"the sandbox processor is unreachable: {error}") from error
        if response.status_code in (401, 429) or response.status_code >= 500:
            raise ProcessorError(
                f"the sandbox processor answered {response.status_code}: {response.text[:200]}"
            )
        data = decimal_json(response.content)
        if data.get("error", {}).get("type") == "idempotency_error":
            raise ProcessorError(data["error"]["message"])
        return response.status_code, data

    def _payment(
        self, status: int, data: dict[str, Any], amount: Decimal, currency: str
    ) -> PaymentResult:
        """Return a charge's result: the payment, or why the sandbox refused it."""
        if status == 200:
            return result(data)
        error = data["error"]
        if "payment" in error:  # a decline: the failed payment is in the error
            return result(error["payment"])
        return PaymentResult(
            outcome=Outcome.FAILED,
            amount=amount,
            currency=currency,
            reference="",
            error_code=error["code"],
            error_message=error["message"],
        )

    def client_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokenize_url": f"{self.base_url}/tokenize/{self.account_id}"}

    def describe(self, token: str) -> MethodDetails:
        status, data = self._call("GET", f"/v1/methods/{token}")
        if status != 200:
            raise MethodRefused(data["error"]["message"])
        return details(data)

    def capture(self, charge: Charge) -> PaymentResult:
        body = {
            "amount": str(charge.amount),
            "currency": charge.currency,
            "method": charge.method,
            "description": charge.description,
            "metadata": dict(charge.metadata),
            "return_url": charge.return_url,
            "save_method": charge.save_method,
            "customer": charge.processor_customer,
            "off_session": charge.off_session,
        }
        status, data = self._call(
            "POST", "/v1/payments", body=body, key=f"capture-{charge.operation_id}"
        )
        return self._payment(status, data, charge.amount, charge.currency)

    def retrieve(self, reference: str) -> PaymentResult:
        status, data = self._call("GET", f"/v1/payments/{reference}")
        if status != 200:
            raise ProcessorError(data["error"]["message"])
        return result(data)

    def refund(self, reference: str, amount: Decimal, operation_id: str) -> RefundResult:
        status, data = self._call(
            "POST",
            f"/v1/payments/{reference}/refunds",
            body={"amount": str(amount)},
            key=f"refund-{operation_id}",
        )
        if status != 200:
            return RefundResult(False, amount, "", "", error_message=data["error"]["message"])
        return RefundResult(True, money(data["amount"]), data["currency"], data["id"])

    def cancel(self, reference: str, operation_id: str) -> PaymentResult:
        """Cancel a payment awaiting authentication; any other payment is returned as it is."""
        status, data = self._call(
            "POST", f"/v1/payments/{reference}/cancel", key=f"cancel-{operation_id}"
        )
        if status == 200:
            return result(data)
        if "payment" in data["error"]:
            return result(data["error"]["payment"])
        raise ProcessorError(data["error"]["message"])

    def save_method(self, token: str, customer_name: str, email: str) -> MethodDetails:
        body = {"token": token, "customer_name": customer_name, "email": email}
        status, data = self._call("POST", "/v1/methods", body=body)
        if status != 200:
            raise MethodRefused(data["error"]["message"])
        return details(data)

    def charge_saved(self, charge: Charge) -> PaymentResult:
        return self.capture(dataclasses.replace(charge, off_session=True))

    def verify(self, request: Any) -> str:
        headers = {name.lower(): value for name, value in request.headers.items()}
        verify(
            self.webhook_secret,
            request.body,
            headers.get(SIGNATURE_HEADER.lower(), ""),
            dt.datetime.now(dt.UTC).timestamp(),
        )
        try:
            return event(decimal_json(request.body)).id
        except (ValueError, KeyError) as error:
            raise InvalidSignature(f"a signed body the sandbox would not send: {error}") from error

    def read(self, body: bytes) -> list[Event]:
        return [event(decimal_json(body))]

    def events(self, after: str) -> tuple[list[Event], str]:
        found: list[Event] = []
        cursor = after
        while True:
            status, data = self._call(
                "GET", "/v1/events", params={"after": cursor, "limit": PAGE_SIZE}
            )
            if status != 200:
                raise ProcessorError(data["error"]["message"])
            found += [event(item) for item in data["data"]]
            if data["data"]:
                cursor = data["data"][-1]["id"]
            if not data["has_more"]:
                return found, cursor

    def payouts(self, since: dt.date) -> list[Payout]:
        status, data = self._call("GET", "/v1/payouts", params={"since": since.isoformat()})
        if status != 200:
            raise ProcessorError(data["error"]["message"])
        return [payout(item) for item in data["data"]]
