"""Webhook notifications: changes batched per company, signed, posted to one URL.

Two payload formats, as Intuit sends them:

- "cloudevents" (the default; mandatory for apps from 2026): a JSON array of
  CloudEvents 1.0 events, one per change, `type` "qbo.<entity>.<operation>.v1"
  and the company and entity in `intuitaccountid` and `intuitentityid`.
  Reference: https://blogs.a.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure
- "legacy": {"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated"}]}}]}.
  Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks

Either way the `intuit-signature` header is base64(HMAC-SHA256(verifier token,
raw body)). A failed delivery is kept and tried again at the next flush.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections import defaultdict

import httpx

from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.qbo.store import Event
from arbridge.sandbox.qbo.wire import utc_timestamp

FORMATS = ("cloudevents", "legacy")
MAX_ATTEMPTS = 8

# CloudEvents name operations in the past tense.
PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}


def sign(verifier_token: str, body: bytes) -> str:
    """Return the intuit-signature of a body."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def cloudevents(events: list[Event], source: str) -> list[dict]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{event.entity.lower()}.{PAST[event.operation]}.v1",
            "datacontenttype": "application/json",
            "time": utc_timestamp(event.time),
            "intuitentityid": event.id,
            "intuitaccountid": event.realm_id,
            "data": {},
        }
        for event in events
    ]


def legacy(realm_id: str, events: list[Event]) -> dict:
    entities = [
        {
            "name": event.entity,
            "id": event.id,
            "operation": event.operation,
            "lastUpdated": utc_timestamp(event.time),
        }
        for event in events
    ]
    return {
        "eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {"entities": entities}}]
    }


class Notifier(Deliveries):
    """Collect change events and deliver them in batches, one POST per company."""

    def __init__(
        self,
        url: str,
        verifier_token: str,
        *,
        format: str = "cloudevents",
        interval: float | None = 0.5,
        http: httpx.Client | None = None,
        source: str = "intuit.sandbox",
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"webhook format is one of {FORMATS}")
        super().__init__(interval=interval, http=http)
        self.url = url
        self.verifier_token = verifier_token
        self.format = format
        self.source = source
        self.attempts: dict[str, int] = defaultdict(int)

    def add(self, event: Event) -> None:
        """Queue an event; the next flush sends it (a timer flushes after `interval`)."""
        self.queue(event.realm_id, event)

    def send(self, realm_id: str, events: list[Event]) -> int:
        if self.format == "cloudevents":
            payload: list | dict = cloudevents(events, self.source)
        else:
            payload = legacy(realm_id, events)
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "intuit-signature": sign(self.verifier_token, body),
        }
        if self.post(self.url, body, headers):
            self.attempts.pop(realm_id, None)
            return 1
        self.attempts[realm_id] += 1
        if self.attempts[realm_id] < MAX_ATTEMPTS:
            # Back off as Intuit does, if less patiently: 2, 4, 8... intervals.
            self.requeue(realm_id, events, retry=self.attempts[realm_id])
        return 0
