"""Webhook deliveries as Xero sends them: batched events, signed, and the intent to receive.

# Reference: https://developer.xero.com/documentation/guides/webhooks/overview
# Reference: https://developer.xero.com/documentation/guides/webhooks/configuring-your-server
# Reference: https://github.com/XeroAPI/Xero-OpenAPI (xero-webhooks.yaml)

Each delivery is {"events": [...], "firstEventSequence", "lastEventSequence",
"entropy"}, signed in `x-xero-signature`: base64(HMAC-SHA256(webhook key,
raw body)). Before a webhook is used, Xero checks the endpoint ("intent to
receive"): deliveries with no events, some signed right and some wrong; it
must answer 200 to the right ones and 401 to the wrong ones, with an empty
body, within 5 seconds. `intent_to_receive()` does that check. A failed
delivery is kept and tried again at the next flush (Xero keeps trying for a day).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Callable

import httpx

from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.xero.store import Event

MAX_ATTEMPTS = 8
RESOURCE_PATHS = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
SUBSCRIBED = ("INVOICE", "CONTACT")  # what arbridge's webhook asks for


def sign(webhook_key: str, body: bytes) -> str:
    digest = hmac.new(webhook_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


class Notifier(Deliveries):
    """Collect change events and deliver them in signed batches to one URL."""

    def __init__(
        self,
        url: str,
        webhook_key: str,
        *,
        api_root: str = "https://api.xero.com",
        interval: float | None = 0.5,
        http: httpx.Client | None = None,
        categories: tuple[str, ...] = SUBSCRIBED,
    ) -> None:
        super().__init__(interval=interval, http=http)
        self.url = url
        self.webhook_key = webhook_key
        self.api_root = api_root.rstrip("/")
        self.categories = categories
        self.sequence = 0
        self.attempts = 0
        self.status = "unchecked"  # "OK" once the intent to receive passed

    def add(self, event: Event) -> None:
        if event.category in self.categories:
            self.queue(self.url, event)

    def payload(self, events: list[Event]) -> dict:
        first = self.sequence + 1
        self.sequence += max(1, len(events))
        return {
            "events": [
                {
                    "resourceUrl": f"{self.api_root}/api.xro/2.0/"
                    f"{RESOURCE_PATHS[e.category]}/{e.resource_id}",
                    "resourceId": e.resource_id,
                    "eventDateUtc": e.time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                    "eventType": e.type,
                    "eventCategory": e.category,
                    "tenantId": e.tenant_id,
                    "tenantType": "ORGANISATION",
                }
                for e in events
            ],
            "firstEventSequence": first,
            "lastEventSequence": self.sequence,
            "entropy": entropy(),
        }

    def send(self, url: str, events: list[Event]) -> int:
        body = json.dumps(self.payload(events)).encode()
        headers = {
            "content-type": "application/json",
            "x-xero-signature": sign(self.webhook_key, body),
        }
        if self.post(url, body, headers):
            self.attempts = 0
            return 1
        self.attempts += 1
        if self.attempts < MAX_ATTEMPTS:
            self.requeue(url, events, retry=self.attempts)
        return 0

    def intent_to_receive(self, tries: int = 4) -> bool:
        """Check the endpoint as Xero does before delivering: good signatures 200, bad 401.

        Half the tries are signed with a wrong key. Every answer must have an
        empty body. Sets `status` to "OK" or "failed" and returns whether it passed.
        """
        ok = True
        for n in range(tries):
            body = json.dumps(self.payload([])).encode()
            good = n % 2 == 0
            key = self.webhook_key if good else self.webhook_key + "-wrong"
            try:
                answer = self.http.post(
                    self.url,
                    content=body,
                    headers={
                        "content-type": "application/json",
                        "x-xero-signature": sign(key, body),
                    },
                    timeout=5.0,
                )
            except httpx.HTTPError:
                ok = False
                continue
            ok = ok and answer.status_code == (200 if good else 401) and not answer.content
        self.status = "OK" if ok else "failed"
        return ok


Listener = Callable[[Event], None]
