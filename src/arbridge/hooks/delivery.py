"""Send a delivery: signed, to a public address only, retried with backoff, logged.

Each POST carries `Arbridge-Event-Id` (what a receiver deduplicates by) and
`Arbridge-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
with one `v1` per secret the endpoint signs with (two while a rotated secret
overlaps its successor). docs/webhooks.md tells a receiver how to check it.

The destination is resolved and checked when sending, not only when the
endpoint is registered: a name may point at 10.0.0.1 tomorrow. Every address
it resolves to must be public, and the request goes to the address that was
checked (the name still in the Host header and TLS), so a second lookup
cannot change it. Redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from arbridge.core import clock
from arbridge.core.models import Membership
from arbridge.hooks.models import DISABLE_AFTER, RETRY_FOR, Attempt, Delivery, Endpoint

logger = logging.getLogger(__name__)

# After the n-th failed attempt, the next comes this much later; then daily, for RETRY_FOR.
BACKOFF = [
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
    dt.timedelta(hours=12),
]
DAILY = dt.timedelta(hours=24)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A claimed delivery is another worker's for this long.
LEASE = dt.timedelta(seconds=60)

Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """The destination is not one arbridge sends to; the message says why."""


def signature(secrets: list[str], timestamp: int, body: bytes) -> str:
    """Return the Arbridge-Signature header for a body sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    macs = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def resolve(host: str, port: int) -> list[str]:
    """Return every address the name resolves to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


class Target(NamedTuple):
    url: str  # the URL with the checked address in place of the name
    host: str  # the name, for TLS
    host_header: str  # the name and port, as the Host header


def destination(url: str, resolver: Resolver = resolve) -> Target:
    """Return where to send a delivery for `url`, by a checked address, or raise Refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url} is not an http(s) URL")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(host, port)
    except OSError as e:
        raise Refused(f"{host} does not resolve: {e}") from e
    if not addresses:
        raise Refused(f"{host} does not resolve")
    if not settings.HOOKS_ALLOW_PRIVATE:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not ip.is_global or ip.is_multicast:
                raise Refused(f"{host} resolves to {address}, which is not a public address")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    return Target(urlunsplit(parts._replace(netloc=netloc)), host, host_header)


def next_attempt(delivery: Delivery, now: dt.datetime) -> dt.datetime | None:
    """Return when to try a failed delivery again, or None once it has been tried for RETRY_FOR."""
    wait = BACKOFF[delivery.attempts - 1] if delivery.attempts <= len(BACKOFF) else DAILY
    when = now + wait
    return when if when <= delivery.created_at + RETRY_FOR else None


def claim(delivery_id: int, replay: bool = False) -> Delivery | None:
    """Take the delivery for this worker if it is due (or replayed) and nobody holds it."""
    now = clock.now()
    due = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    if not replay:
        due &= Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    taken = Delivery.objects.filter(due, pk=delivery_id).update(locked_until=now + LEASE)
    if not taken:
        return None
    return Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)


def deliver(
    delivery_id: int,
    *,
    replay: bool = False,
    http: httpx.Client | None = None,
    resolver: Resolver = resolve,
) -> Delivery | None:
    """Send the delivery once if it is due; return it, or None if it was not ours to send."""
    delivery = claim(delivery_id, replay)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active and not replay:
        Delivery.objects.filter(pk=delivery.pk).update(locked_until=None)
        return delivery
    body = json.dumps(event.body(), separators=(",", ":"), sort_keys=True).encode()
    now = clock.now()
    status_code, error, started = None, "", time.monotonic()
    try:
        target = destination(endpoint.url, resolver)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "arbridge-webhooks/1",
            "Host": target.host_header,
            "Arbridge-Event-Id": event.public_id,
            "Arbridge-Event-Type": event.type,
            "Arbridge-Signature": signature(
                endpoint.signing_secrets(now), int(now.timestamp()), body
            ),
        }
        client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        try:
            response = client.post(
                target.url, content=body, headers=headers, extensions={"sni_hostname": target.host}
            )
        finally:
            if http is None:
                client.close()
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except Refused as e:
        error = str(e)
    except httpx.HTTPError as e:
        error = f"{type(e).__name__}: {e}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    Attempt.objects.create(
        partner_id=delivery.partner_id,
        delivery=delivery,
        at=now,
        status_code=status_code,
        duration_ms=duration_ms,
        error=error[:500],
        replay=replay,
    )
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error[:500]
    delivery.locked_until = None
    if not error:
        delivery.status, delivery.delivered_at = Delivery.Status.SUCCEEDED, now
    else:
        when = next_attempt(delivery, now)
        if when is None:
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.status, delivery.next_attempt_at = Delivery.Status.PENDING, when
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "locked_until",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    endpoint_answered(endpoint, ok=not error, now=now)
    return delivery


def endpoint_answered(endpoint: Endpoint, ok: bool, now: dt.datetime) -> None:
    """Keep the endpoint's health: failing since when, and disabled after DISABLE_AFTER."""
    if ok:
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        return
    if endpoint.is_active and now - endpoint.failing_since >= DISABLE_AFTER:
        disable(
            endpoint, f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
        )


def disable(endpoint: Endpoint, reason: str) -> None:
    """Stop sending to the endpoint and tell the partner's managers by email."""
    turned_off = Endpoint.objects.filter(pk=endpoint.pk, status=Endpoint.Status.ACTIVE).update(
        status=Endpoint.Status.DISABLED, status_detail=reason[:300]
    )
    if not turned_off:
        return
    endpoint.status, endpoint.status_detail = Endpoint.Status.DISABLED, reason
    managers = Membership.objects.filter(
        partner_id=endpoint.partner_id,
        role__in=(Membership.Role.OWNER, Membership.Role.ADMIN),
    ).select_related("user")
    recipients = sorted({m.user.email for m in managers if m.user.email})
    logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    if recipients:
        send_mail(
            "A webhook endpoint was disabled",
            f"arbridge stopped sending events to {endpoint.url}.\n\n{reason}\n\n"
            "Fix the endpoint, then turn it on again in Settings → Webhooks; "
            "the deliveries it missed can be replayed from there.",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )


def replay(delivery: Delivery) -> Delivery | None:
    """Send a delivery again now, whatever became of it before."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=clock.now()
    )
    return deliver(delivery.pk, replay=True)
