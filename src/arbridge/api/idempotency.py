"""Idempotency-Key on every write: asked again, the API answers as it did the first time.

A write (POST, PUT, PATCH, DELETE) sent with `Idempotency-Key: <key>` is
recorded per partner with a fingerprint of its method, path and body. The same
key with the same request within 24 hours gets the first answer again (its status
and body, with `Idempotent-Replayed: true`) and the operation does not run twice;
the same key with another request is refused (422); the same key while the first
is still running is a conflict (409). Only successful (2xx) answers are kept: a
refused request may be corrected and sent again under its key.

`idempotent` wraps the Django view of each API path (api/urls.py), so every write
operation has it without declaring anything; the OpenAPI document lists the header
on each (views.Api).
"""

import contextlib
import hashlib
import json
import re
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from arbridge.api.errors import error_response
from arbridge.api.models import IdempotentRequest
from arbridge.core.models import ApiKey

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[!-~]{1,255}$"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        "Any unique string (a UUID, say). Sent again with the same request within 24 hours,"
        " the first answer comes back and nothing is done twice; with another request, 422."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
}


def fingerprint(request: HttpRequest) -> str:
    """Hash what makes two requests the same: method, path, query and body (JSON as data)."""
    body = request.body
    # Not JSON (or empty, or nested too deep to parse): compared as bytes.
    with contextlib.suppress(ValueError, RecursionError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    parts = [
        request.method.encode(),
        request.path.encode(),
        request.META.get("QUERY_STRING", "").encode(),
        body,
    ]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def caller(request: HttpRequest) -> ApiKey | None:
    """Return the request's live API key, or None (the API then answers 401 itself)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return ApiKey.objects.authenticate(token)


def claim(partner_id: int, key: str, print_: str) -> tuple[IdempotentRequest, bool]:
    """Record the key as running, or return the request that holds it (and False)."""
    with transaction.atomic():
        IdempotentRequest.objects.filter(partner_id=partner_id, key=key).expired().delete()
        try:
            with transaction.atomic():
                created = IdempotentRequest.objects.create(
                    partner_id=partner_id, key=key, fingerprint=print_
                )
            return created, True
        except IntegrityError:
            return IdempotentRequest.objects.get(partner_id=partner_id, key=key), False


def answer_again(held: IdempotentRequest, print_: str) -> HttpResponse:
    if held.fingerprint != print_:
        return error_response(
            422,
            f"This {HEADER} was used with another request; use a new key for this one.",
            "idempotency_key_reused",
        )
    if held.status is None:
        return error_response(
            409,
            f"A request with this {HEADER} is still running; try again shortly.",
            "idempotency_key_in_use",
        )
    response = HttpResponse(bytes(held.body), status=held.status, content_type=held.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def keep(held: IdempotentRequest, response: HttpResponse) -> None:
    """Keep a successful answer for replay; forget the key after any other."""
    if 200 <= response.status_code < 300 and not response.streaming:
        held.status = response.status_code
        held.content_type = response.get("Content-Type", "")
        held.body = response.content
        held.save(update_fields=["status", "content_type", "body"])
    else:
        held.delete()


def idempotent(view):
    """Wrap an API path's view so that each of its writes honours Idempotency-Key."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method not in WRITE_METHODS or key is None:
            return view(request, *args, **kwargs)
        api_key = caller(request)
        if api_key is None or not api_key.can_write:
            return view(request, *args, **kwargs)  # answered 401 or 403 there
        if not re.fullmatch(KEY_PATTERN, key):
            return error_response(
                422, f"{HEADER} must be 1 to 255 printable ASCII characters.", "invalid"
            )
        print_ = fingerprint(request)
        held, created = claim(api_key.partner_id, key, print_)
        if not created:
            return answer_again(held, print_)
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            held.delete()
            raise
        keep(held, response)
        return response

    return wrapped
