"""The demo's HaloPSA: the sandbox the web server mounts at MOUNT, with the demo's tenant.

Framework-free; the Django side fills it with what the demo partner bills
and connects to it with the sandbox's own keys.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.halopsa.app import HaloSandbox, create_app
from arbridge.sandbox.halopsa.store import Store

MOUNT = "/sandbox/halopsa"
TENANT = "northwind"


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> HaloSandbox:
    """Return the sandbox to mount; HaloPSA's webhooks are set up per connection, not here."""
    return _sandbox()


@cache
def _sandbox() -> HaloSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    return create_app(Store(), tenant=TENANT)
