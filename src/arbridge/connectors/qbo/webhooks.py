"""QuickBooks webhook deliveries: check their signature, read their hints.

A delivery says only which objects changed, in one of two formats:

- CloudEvents (mandatory for apps from 2026): a JSON array of events, `type`
  "qbo.invoice.updated.v1", the company in `intuitaccountid`, the object's id
  in `intuitentityid`.
  Reference: https://blogs.a.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure
- legacy: {"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated"}]}}]}.
  Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks

Either way a hint is a reason to read the object again (`QuickBooksOnline.fetch`),
never the object itself. Deliveries are retried, batched and unordered.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

# CloudEvents name entities in lower case and operations in the past tense.
ENTITIES = {
    name.lower(): name
    for name in (
        "Account", "Bill", "BillPayment", "Class", "CreditMemo", "Currency", "Customer",
        "Department", "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalEntry",
        "Payment", "PaymentMethod", "Preferences", "Purchase", "PurchaseOrder",
        "RefundReceipt", "SalesReceipt", "TaxAgency", "Term", "TimeActivity", "Transfer",
        "Vendor", "VendorCredit",
    )
}  # fmt: skip
OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}


# The request headers worth keeping with the body, for a person looking at an event.
KEPT_HEADERS = ("content-type", "intuit-signature", "intuit-t-id", "intuit-created-time")


@dataclass(frozen=True)
class Hint:
    """One object a delivery says changed."""

    realm: str
    entity: str  # QuickBooks' name: "Invoice", "Customer", "Payment"...
    id: str
    operation: str  # "Create", "Update", "Delete", "Void", "Merge", "Emailed"
    updated_at: dt.datetime | None
    # The same for every delivery of this change, whichever format carries it,
    # so a redelivery is recognised. Two changes of one object in the same
    # instant share it; the second is then caught by the daily CDC sweep.
    event_id: str


def verify_signature(body: bytes, signature: str, verifier_token: str) -> bool:
    """Return True if `signature` is the intuit-signature header of this body."""
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification
    if not signature or not verifier_token:
        return False
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def parse_notifications(body: bytes) -> list[Hint]:
    """Return the hints in a delivery of either format; ValueError if it is neither."""
    data = json.loads(body)
    if isinstance(data, list):
        return [_cloud_event(event) for event in data]
    if isinstance(data, dict) and isinstance(data.get("eventNotifications"), list):
        return [
            _hint(
                str(notification["realmId"]),
                entity["name"],
                str(entity["id"]),
                entity.get("operation", "Update"),
                entity.get("lastUpdated"),
            )
            for notification in data["eventNotifications"]
            for entity in notification.get("dataChangeEvent", {}).get("entities", [])
        ]
    raise ValueError("the body is not a QuickBooks webhook notification")


def _cloud_event(event: dict[str, Any]) -> Hint:
    # "qbo.invoice.updated.v1": vendor, entity, operation, version.
    parts = str(event.get("type", "")).split(".")
    if len(parts) < 3 or parts[0] != "qbo":
        raise ValueError(f"{event.get('type')!r} is not a QuickBooks event type")
    return _hint(
        str(event["intuitaccountid"]),
        ENTITIES.get(parts[1], parts[1]),
        str(event["intuitentityid"]),
        OPERATIONS.get(parts[2], parts[2].capitalize()),
        event.get("time"),
    )


def _hint(realm: str, entity: str, id: str, operation: str, when: str | None) -> Hint:
    updated_at = _parse_time(when)
    stamp = updated_at.astimezone(dt.UTC).isoformat() if updated_at else ""
    return Hint(
        realm=realm,
        entity=entity,
        id=id,
        operation=operation,
        updated_at=updated_at,
        event_id=f"{realm}:{entity}:{id}:{operation}:{stamp}",
    )


def _parse_time(value: str | None) -> dt.datetime | None:
    """Return a webhook timestamp (ISO 8601; "Z" or "-0700" offsets) as an aware datetime."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
