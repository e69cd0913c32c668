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
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx

from arbridge.sandbox.common.wire import dumps
from arbridge.sandbox.processor.records import Account

HEADER = "Sandbox-Signature"
MAX_ATTEMPTS = 8


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the signature header of a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Notifier:
    """Queue each account's events and deliver them in order."""

    def __init__(
        self,
        now: Callable[[], dt.datetime],
        *,
        interval: float | None = 1.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.now = now
        self.interval = interval
        self.http = http or httpx.Client(timeout=5.0)
        # account id -> [account, [(event, attempts), ...]]
        self.pending: dict[str, list[Any]] = defaultdict(list)
        self.delivered = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.sending = threading.Lock()
        self.timer: threading.Timer | None = None

    def add(self, account: Account, event: dict[str, Any]) -> None:
        """Queue an event for an account with a webhook URL; a timer flushes after `interval`."""
        if not account.webhook_url:
            return
        with self.lock:
            self.pending[account.id].append((account, event, 0))
            if self.interval is not None and self.timer is None:
                self.timer = threading.Timer(self.interval, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> int:
        """Deliver everything pending now; return how many events were delivered."""
        with self.sending:  # One flush at a time keeps each account's events in order.
            with self.lock:
                queues, self.pending = self.pending, defaultdict(list)
                self.timer = None
            delivered = 0
            for account_id, queue in queues.items():
                for position, (account, event, attempts) in enumerate(queue):
                    if self._post(account, event):
                        delivered += 1
                        continue
                    kept = [(account, event, attempts + 1)] if attempts + 1 < MAX_ATTEMPTS else []
                    with self.lock:
                        self.pending[account_id][:0] = kept + queue[position + 1 :]
                    break
            return delivered

    def _post(self, account: Account, event: dict[str, Any]) -> bool:
        body = dumps(event).encode()
        headers = {
            "content-type": "application/json",
            HEADER: sign(account.webhook_secret, body, int(self.now().timestamp())),
        }
        try:
            ok = self.http.post(account.webhook_url, content=body, headers=headers).is_success
        except httpx.HTTPError:
            ok = False
        with self.lock:
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
        return ok
