"""Outbound webhooks: changes batched per webhook and posted, authenticated as configured.

Halo signs nothing (no HMAC is documented); a webhook authenticates the way
its owner set it up in Configuration > Integrations > Webhooks:
authentication_type 1 sends HTTP Basic (basic_username, basic_password);
authentication_type 3 sends a header of the owner's choosing, which the
sandbox takes from `authentication_header` written "Name: value".
Reference: https://kb.dtctoday.com/books/halopsa-api-reference/page/automation-endpoints-part-3

Each delivery is a JSON array (Halo batches executions), one object per change:

    {"id": "<uuid>", "webhook_id": "<uuid>", "event": "Invoice Updated",
     "object_type": "Invoice", "object_id": 42, "timestamp": "2025-03-01T14:05:09.123"}

The payload's shape is the sandbox's own: Halo's default payload is not
documented in ../shared/specs. Instances older than 2.122.1 send no invoice
events, which is why arbridge pulls their invoices hourly. A failed delivery
is tried again at the next flush; after 10 failures in a row the webhook is
disabled, as Halo's auto-disable does.
"""

from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from typing import Any

import httpx

from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.halopsa.store import AUTH_BASIC, AUTH_HEADER, Event, Store
from arbridge.sandbox.halopsa.wire import dumps, timestamp

REAL_TIME_INVOICES_FROM = "2.122.1"
AUTO_DISABLE_ATTEMPTS = 10


def parse_version(version: str) -> tuple[int, ...]:
    """Return a dotted version as a tuple of ints, ignoring non-numeric suffixes."""
    parts = []
    for piece in version.strip().split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def sends_invoice_events(version: str) -> bool:
    return parse_version(version) >= parse_version(REAL_TIME_INVOICES_FROM)


def auth_headers(webhook: dict[str, Any]) -> dict[str, str]:
    """Return the headers that authenticate a delivery as the webhook is configured."""
    kind = webhook.get("authentication_type", 0)
    if kind == AUTH_BASIC:
        pair = f"{webhook.get('basic_username', '')}:{webhook.get('basic_password', '')}"
        return {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}
    if kind == AUTH_HEADER:
        name, _, value = str(webhook["authentication_header"]).partition(":")
        return {name.strip(): value.strip()}
    return {}


def payload(webhook_id: str, events: list[Event]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": webhook_id,
            "event": f"{event.entity} {event.action}",
            "object_type": event.entity,
            "object_id": event.id,
            "timestamp": timestamp(event.time),
        }
        for event in events
    ]


class Notifier(Deliveries):
    """Collect change events per webhook and deliver them in batches."""

    def __init__(
        self, store: Store, *, interval: float | None = 0.5, http: httpx.Client | None = None
    ) -> None:
        super().__init__(interval=interval, http=http)
        self.store = store
        self.failures: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, event: Event) -> None:
        """Queue an event for each active webhook of its tenant."""
        tenant = self.store.tenants[event.tenant]
        if event.entity == "Invoice" and not sends_invoice_events(tenant.version):
            return
        for webhook in tenant.webhooks.values():
            if webhook.get("active", True) and not webhook.get("disabled"):
                self.queue((tenant.name, webhook["id"]), event)

    def send(self, key: tuple[str, str], events: list[Event]) -> int:
        tenant_name, webhook_id = key
        webhook = self.store.tenants[tenant_name].webhooks.get(webhook_id)
        if webhook is None or webhook.get("disabled"):
            return 0
        body = dumps(payload(webhook["id"], events)).encode()
        headers = {
            "Content-Type": webhook.get("content_type") or "application/json",
            **auth_headers(webhook),
        }
        ok = self.post(webhook["url"], body, headers)
        webhook["last_status"] = 1 if ok else 2
        if ok:
            self.failures.pop(key, None)
            return 1
        self.failures[key] += 1
        if self.failures[key] >= AUTO_DISABLE_ATTEMPTS:
            webhook["disabled"] = True
        else:
            self.requeue(key, events, retry=min(self.failures[key], 6))
        return 0
