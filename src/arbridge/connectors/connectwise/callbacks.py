"""ConnectWise callbacks: checking a delivery's signature, and reading what it names.

A delivery is a JSON body {"Action", "Type", "ID", "Entity", "Metadata":
{"key_url"}, ...} with `x-content-signature`: base64(HMAC-SHA256(body,
key=SHA-256(signing key))), the signing key fetched from Metadata.key_url
({"signing_key": ...}). The key URL comes inside the (unverified) body, so it
is fetched only from the connection's own ConnectWise site.
Reference: https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide
(Callbacks), as implemented in NangoHQ/nango connectwise-psa-webhook-routing.ts
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

SIGNATURE_HEADER = "x-content-signature"
# Callback `type` -> arbridge entity.
ENTITIES = {"company": "customer", "contact": "contact", "invoice": "invoice"}


@dataclass(frozen=True)
class Hint:
    """A record a callback says changed; the connector reads it again to know how."""

    entity: str
    remote_id: str
    action: str  # "added", "updated", "deleted"


def signature(signing_key: str, body: bytes) -> str:
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def is_signed_with(signing_key: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Return True if the delivery carries the signature of its body under the key."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
    return bool(given) and hmac.compare_digest(given, signature(signing_key, body))


def key_url(body: bytes) -> str | None:
    """Return the signing key's URL a delivery names, or None if it names none."""
    try:
        payload = json.loads(body)
        url = payload["Metadata"]["key_url"]
    except (ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) else None


def is_on_site(url: str, site_url: str) -> bool:
    """Return True if a URL is on the connection's ConnectWise site, or its cloud."""
    try:
        target, site = httpx.URL(url), httpx.URL(site_url)
    except httpx.InvalidURL:
        return False
    if target.scheme != site.scheme:
        return False
    # A cloud site (na.myconnectwise.net) signs from its API host (api-na.myconnectwise.net).
    cloud = ".myconnectwise.net"
    if target.host.endswith(cloud) and site.host.endswith(cloud):
        return target.scheme == "https"
    return (target.host, target.port) == (site.host, site.port)


def parse_callback(body: bytes) -> list[Hint]:
    """Return the record a delivery names, or nothing if it names none arbridge syncs."""
    try:
        payload: Any = json.loads(body)
        entity = ENTITIES.get(str(payload.get("Type", "")).lower())
        remote_id = int(payload["ID"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    if entity is None:
        return []
    return [Hint(entity, str(remote_id), str(payload.get("Action", "")).lower())]
