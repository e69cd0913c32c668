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
import threading
import uuid
from collections import defaultdict

import httpx

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


class Notifier:
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
        self.url = url
        self.verifier_token = verifier_token
        self.format = format
        self.interval = interval
        self.http = http or httpx.Client(timeout=5.0)
        self.source = source
        self.pending: dict[str, list[Event]] = defaultdict(list)
        self.attempts: dict[str, int] = defaultdict(int)
        self.delivered = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.sending = threading.Lock()
        self.timer: threading.Timer | None = None

    def add(self, event: Event) -> None:
        """Queue an event; the next flush sends it (a timer flushes after `interval`)."""
        with self.lock:
            self.pending[event.realm_id].append(event)
            self._schedule(self.interval)

    def _schedule(self, delay: float | None) -> None:
        if delay is not None and self.timer is None:
            self.timer = threading.Timer(delay, self.flush)
            self.timer.daemon = True
            self.timer.start()

    def flush(self) -> int:
        """Send everything pending now; return how many batches were delivered."""
        with self.sending:  # One flush at a time keeps each company's batches in order.
            with self.lock:
                batches, self.pending = self.pending, defaultdict(list)
                self.timer = None
            delivered = 0
            for realm_id, events in batches.items():
                if self._post(realm_id, events):
                    delivered += 1
                    self.attempts.pop(realm_id, None)
                    continue
                self.attempts[realm_id] += 1
                if self.attempts[realm_id] < MAX_ATTEMPTS:
                    with self.lock:
                        self.pending[realm_id][:0] = events
                        # Back off as Intuit does, if less patiently: 2, 4, 8... intervals.
                        if self.interval is not None:
                            self._schedule(self.interval * 2 ** self.attempts[realm_id])
            return delivered

    def _post(self, realm_id: str, events: list[Event]) -> bool:
        if self.format == "cloudevents":
            payload: list | dict = cloudevents(events, self.source)
        else:
            payload = legacy(realm_id, events)
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "intuit-signature": sign(self.verifier_token, body),
        }
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError:
            ok = False
        else:
            ok = response.is_success
        with self.lock:
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
        return ok
