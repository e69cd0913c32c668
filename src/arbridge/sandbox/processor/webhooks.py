"""Webhook deliveries: one POST per event to the account's URL, signed as Stripe signs.

The `Sandbox-Signature` header is `t=<unix time>,v1=<hex HMAC-SHA256 of
"{t}.{body}" under the account's webhook secret>`, as Stripe-Signature is
(DOMAIN.md, Stripe). Events wait until a flush: on a timer after `interval`
seconds, or when a test or the demo asks (/_sandbox/webhooks/flush). A
failed delivery stays first in its account's queue and is tried again at the
next flush, up to MAX_ATTEMPTS times.
Reference: https://docs.stripe.com/webhooks#verify-manually
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import httpx

from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.common.wire import dumps
from arbridge.sandbox.processor.records import Account

HEADER = "Sandbox-Signature"
MAX_ATTEMPTS = 8


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the signature header of a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Notifier(Deliveries):
    """Queue each account's events and deliver them in order."""

    def __init__(
        self,
        now: Callable[[], dt.datetime],
        *,
        interval: float | None = 1.0,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(interval=interval, http=http)
        self.now = now

    def add(self, account: Account, event: dict[str, Any]) -> None:
        """Queue an event for an account with a webhook URL; a timer flushes after `interval`."""
        if account.webhook_url:
            self.queue(account.id, (account, event, 0))

    def send(self, account_id: str, queue: list[Any]) -> int:
        """Post the account's events in order, stopping at the first that fails."""
        for position, (account, event, attempts) in enumerate(queue):
            body = dumps(event).encode()
            headers = {
                "content-type": "application/json",
                HEADER: sign(account.webhook_secret, body, int(self.now().timestamp())),
            }
            if not self.post(account.webhook_url, body, headers):
                kept = [(account, event, attempts + 1)] if attempts + 1 < MAX_ATTEMPTS else []
                self.requeue(account_id, kept + queue[position + 1 :])
                return position
        return len(queue)
