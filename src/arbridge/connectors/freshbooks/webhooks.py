"""FreshBooks webhook callbacks: the verification handshake, signatures, hints.

# Reference: https://www.freshbooks.com/api/webhooks
# Reference: https://github.com/freshbooks/freshbooks-python-sdk/blob/main/docs/source/user_guide/webhooks.md

A callback is registered for an event ("invoice" for every invoice event,
or one such as "invoice.update") and a URI. FreshBooks then POSTs the URI a
form `name=callback.verify&object_id=<callback id>&verifier=<code>&...`; the
callback sends nothing until that verifier is PUT back to it. Deliveries are
forms too, `name=invoice.update&object_id=<id>&account_id=<account>&
business_id=..&identity_id=..&user_id=..`, signed in X-FreshBooks-Hmac-SHA256:
base64(HMAC-SHA256(verifier, JSON of the form's fields)), the JSON as
Python's json.dumps writes a dict (", " and ": " separators), fields in the
order sent. A delivery names a record that changed: a reason to read it
again, never the record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

SIGNATURE_HEADER = "x-freshbooks-hmac-sha256"
VERIFY = "callback.verify"
# What arbridge registers: every event of these nouns.
EVENTS = ("client", "invoice", "payment")
# FreshBooks' nouns, as arbridge's entities.
ENTITIES = {"client": "customer", "invoice": "invoice", "payment": "payment"}
# Where a connection keeps each callback's verifier, in its credentials.
VERIFIER_PREFIX = "webhook_verifier:"


def form(body: bytes) -> dict[str, str]:
    """Return a delivery's form fields, in order; ValueError if it is not a form."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    if "name" not in fields:
        raise ValueError("the body is not a FreshBooks callback form")
    return fields


def signature(verifier: str, fields: dict[str, str]) -> str:
    digest = hmac.new(verifier.encode(), json.dumps(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(fields: dict[str, str], header: str, verifiers: Iterable[str]) -> bool:
    """Return True if `header` is the signature of the fields under one of the verifiers."""
    if not header:
        return False
    given = header.strip().encode()
    return any(hmac.compare_digest(signature(v, fields).encode(), given) for v in verifiers if v)


def entity_of(name: str) -> str | None:
    """Return arbridge's entity for an event name ("invoice.update" -> "invoice")."""
    return ENTITIES.get(name.split(".", 1)[0])
