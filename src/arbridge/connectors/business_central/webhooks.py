"""Business Central webhooks: the validation handshake, notifications and their clientState.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_subscriptions

A subscription (POST /api/v2.0/subscriptions: notificationUrl, resource,
clientState) is made, and renewed (PATCH with If-Match), only after a
handshake: Business Central POSTs to the notificationUrl with
`?validationToken=...` and the endpoint answers 200 with the token, as
plain text, in the body. A subscription expires three days after it was
made or last renewed; once expired nothing more is sent.

A notification is {"value": [{"subscriptionId", "clientState",
"expirationDateTime", "resource", "changeType", "lastModifiedDateTime"}]}:
changeType "created", "updated", "deleted", or "collection" when too many
changed to list (then read everything changed since `lastModifiedDateTime`).
Every notification carries the clientState given at subscription, which is
the only proof it came from Business Central: a delivery with any
notification whose clientState is not ours is refused whole.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass

VALIDATION_PARAM = "validationtoken"  # query names arrive as sent; compared in lower case
# The resource URLs arbridge subscribes to, by entity set, and arbridge's names for them.
ENTITIES = {"customers": "customer", "contacts": "contact", "salesInvoices": "invoice"}
RESOURCE = re.compile(
    r"companies\((?P<company>[^)]+)\)/(?P<set>[A-Za-z]+)(?:\((?P<id>[^)]+)\))?/?$"
)
# A hint with this entity asks to read the whole list by change (changeType "collection").
COLLECTION = "collection"


@dataclass(frozen=True)
class Notification:
    subscription_id: str
    client_state: str
    company: str
    entity: str  # "customer", "contact", "invoice"
    remote_id: str  # empty for a "collection"
    change_type: str
    modified: str


def validation_token(query: dict[str, str]) -> str | None:
    """Return the handshake's validationToken, if this request is one."""
    for name, value in query.items():
        if name.lower() == VALIDATION_PARAM:
            return value
    return None


def parse(body: bytes) -> list[Notification]:
    """Return the notifications of a delivery; ValueError if it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise ValueError("the body is not a Business Central notification")
    notes = []
    for item in data["value"]:
        match = RESOURCE.search(str(item.get("resource") or ""))
        if match is None or match["set"] not in ENTITIES:
            continue
        notes.append(
            Notification(
                subscription_id=str(item.get("subscriptionId") or ""),
                client_state=str(item.get("clientState") or ""),
                company=match["company"].strip("'"),
                entity=ENTITIES[match["set"]],
                remote_id=(match["id"] or "").strip("'"),
                change_type=str(item.get("changeType") or "updated"),
                modified=str(item.get("lastModifiedDateTime") or ""),
            )
        )
    return notes


def is_ours(body: bytes, client_state: str) -> bool:
    """Return True if every notification of the delivery carries our clientState."""
    if not client_state:
        return False
    try:
        data = json.loads(body)
        items = data["value"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(items, list) or not items:
        return False
    return all(
        isinstance(item, dict)
        and hmac.compare_digest(str(item.get("clientState") or "").encode(), client_state.encode())
        for item in items
    )
