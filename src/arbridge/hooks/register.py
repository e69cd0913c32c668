"""Registering an endpoint: the checks the dashboard and the API share."""

from __future__ import annotations

from django.conf import settings

from arbridge.core.models import Partner
from arbridge.hooks.delivery import Refused, destination
from arbridge.hooks.models import EVENT_TYPES, Endpoint, new_secret


def check_url(url: str) -> None:
    """Raise Refused if arbridge would not send to `url` (checked again at every send)."""
    if not url.startswith(("https://", "http://")):
        raise Refused("Enter an http:// or https:// URL.")
    if not settings.HOOKS_ALLOW_PRIVATE:
        destination(url)


def register(partner: Partner, url: str, events: list[str], description: str = "") -> Endpoint:
    """Add an endpoint with a fresh secret; raise Refused or ValueError on bad input."""
    check_url(url)
    unknown = sorted(set(events) - EVENT_TYPES.keys())
    if unknown or not events:
        raise ValueError(
            f"Unknown event types: {', '.join(unknown)}" if unknown else "Pick events."
        )
    return Endpoint.objects.create(
        partner=partner,
        url=url,
        description=description,
        events=sorted(set(events), key=list(EVENT_TYPES).index),
        secrets={"current": new_secret()},
    )
