"""Xero webhook deliveries: check their signature, read their hints.

# Reference: https://developer.xero.com/documentation/guides/webhooks/overview
# Reference: https://developer.xero.com/documentation/guides/webhooks/configuring-your-server
# Reference: https://github.com/XeroAPI/Xero-OpenAPI (xero-webhooks.yaml)

A delivery is {"events": [{"resourceUrl", "resourceId", "tenantId",
"tenantType", "eventCategory", "eventType", "eventDateUtc"}],
"firstEventSequence", "lastEventSequence", "entropy"}, signed in the
`x-xero-signature` header: base64(HMAC-SHA256(webhook key, raw body)).

Before Xero sends any, it checks the endpoint with "intent to receive"
deliveries: an empty events list, some signed right and some wrong. The
endpoint must answer 200 to a good signature and 401 to a bad one, within 5
seconds, with an empty body (`status()` says which). Real deliveries are
answered the same way; a failing endpoint is retried for a day, then the
webhook is disabled.

A hint says only which record changed: a reason to read it again
(`XeroConnector.fetch`), never the record itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "x-xero-signature"
# Xero's event categories, as arbridge's entities; others (SUBSCRIPTION) are not hints.
ENTITIES = {"INVOICE": "invoice", "CONTACT": "customer"}


@dataclass(frozen=True)
class Hint:
    """One record a delivery says changed."""

    entity: str  # "invoice" or "customer"
    remote_id: str
    tenant_id: str
    event_id: str  # the same for every delivery of this event
    event_type: str  # "CREATE" or "UPDATE"
    occurred_at: dt.datetime | None


def verify(raw_body: bytes, signature_header: str, webhook_key: str) -> bool:
    """Return True if `signature_header` is the x-xero-signature of this raw body."""
    if not signature_header or not webhook_key:
        return False
    digest = hmac.new(webhook_key.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature_header.strip().encode())


def status(raw_body: bytes, signature_header: str, webhook_key: str) -> int:
    """Return the status to answer a delivery (intent to receive or not) with: 200 or 401.

    The answer's body must be empty either way.
    """
    return 200 if verify(raw_body, signature_header, webhook_key) else 401


def is_intent_to_receive(raw_body: bytes) -> bool:
    """Return True for Xero's handshake delivery: no events at all."""
    try:
        return not json.loads(raw_body).get("events")
    except (ValueError, AttributeError):
        return False


def parse(raw_body: bytes) -> list[Hint]:
    """Return the invoice and contact hints in a delivery; ValueError if it is not one."""
    data = json.loads(raw_body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise ValueError("the body is not a Xero webhook delivery")
    hints = []
    for event in data["events"]:
        entity = ENTITIES.get(str(event.get("eventCategory", "")).upper())
        if entity is None or event.get("tenantType", "ORGANISATION") != "ORGANISATION":
            continue
        remote_id, tenant_id = str(event["resourceId"]), str(event["tenantId"])
        kind, when = str(event.get("eventType", "UPDATE")), str(event.get("eventDateUtc", ""))
        hints.append(
            Hint(
                entity=entity,
                remote_id=remote_id,
                tenant_id=tenant_id,
                event_id=f"{tenant_id}:{event.get('eventCategory')}:{remote_id}:{kind}:{when}",
                event_type=kind,
                occurred_at=_parse_time(when),
            )
        )
    return hints


def _parse_time(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
