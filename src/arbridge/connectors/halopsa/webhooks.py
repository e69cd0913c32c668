"""HaloPSA's outbound webhooks: checking a delivery's credentials, and reading its hints.

Halo signs nothing; a webhook carries the credentials its owner configured
in HaloPSA (Configuration > Integrations > Webhooks): HTTP Basic, or a header
of their choosing with a secret value. Every delivery is checked against
the connection's credentials, in constant time; with nothing configured,
nothing is accepted.
Reference: https://kb.dtctoday.com/books/halopsa-api-reference/page/automation-endpoints-part-3

A delivery is a JSON array of events (or one event) naming the record that
changed: {"id", "event": "Invoice Updated", "object_type", "object_id",
"timestamp"}. The hints only say what to read again; `HaloPSA.fetch` reads it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from arbridge.connectors.base import MalformedRecord

# Halo's object types -> arbridge's entities. Agreements are not synced.
ENTITIES = {"invoice": "invoice", "client": "customer", "user": "contact", "users": "contact"}


class WebhookAuth(BaseModel):
    """How the partner's HaloPSA webhook authenticates: Basic, or a secret header."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["basic", "header"]
    username: str = ""  # basic
    password: str = ""  # basic
    header: str = ""  # header: its name, e.g. "X-Arbridge-Secret"
    value: str = ""  # header: its secret value

    @model_validator(mode="after")
    def check_secret(self) -> WebhookAuth:
        if self.kind == "basic" and not (self.username and self.password):
            raise ValueError("Basic authentication needs a username and a password")
        if self.kind == "header" and not (self.header.strip() and self.value):
            raise ValueError("header authentication needs the header's name and value")
        return self


@dataclass(frozen=True)
class Hint:
    """One record a webhook says changed; `event_id` is stable across redeliveries."""

    entity: str  # "invoice", "customer", "contact"
    remote_id: str
    action: str  # "created", "updated", "deleted"
    event_id: str
    occurred_at: dt.datetime | None = None


def verify_webhook(headers: Mapping[str, str], credentials: Mapping[str, Any]) -> bool:
    """Return True if a delivery carries the credentials configured for the connection.

    `credentials` are the connection's (encrypted at rest, as every secret is);
    their `webhook_auth` says how HaloPSA was set up.
    """
    try:
        auth = WebhookAuth.model_validate(credentials.get("webhook_auth"))
    except ValidationError:
        return False
    lowered = {name.lower(): value for name, value in headers.items()}
    if auth.kind == "basic":
        given = _basic(lowered.get("authorization", ""))
        return given is not None and _same(given, f"{auth.username}:{auth.password}")
    return _same(lowered.get(auth.header.strip().lower(), ""), auth.value)


def parse_webhook(body: bytes | str) -> list[Hint]:
    """Return the hints in a delivery; MalformedRecord if it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRecord("the webhook body is not JSON", raw=body) from exc
    events = data if isinstance(data, list) else [data]
    hints = []
    for event in events:
        if not isinstance(event, dict) or "object_id" not in event:
            raise MalformedRecord("a webhook event names no object", raw=body)
        kind = str(event.get("object_type", "")).lower()
        entity = ENTITIES.get(kind)
        if entity is None:
            continue
        name = str(event.get("event", ""))
        action = name.rsplit(" ", 1)[-1].lower() if " " in name else "updated"
        hints.append(
            Hint(
                entity=entity,
                remote_id=str(event["object_id"]),
                action=action,
                event_id=str(
                    event.get("id") or f"{kind}:{event['object_id']}:{event.get('timestamp')}"
                ),
                occurred_at=_time(event.get("timestamp")),
            )
        )
    return hints


def _basic(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
