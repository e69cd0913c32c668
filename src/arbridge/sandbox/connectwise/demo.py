"""The demo's ConnectWise PSA: the sandbox the web server mounts at MOUNT.

Framework-free; it calls back the URLs a connection registers with it.
"""

from __future__ import annotations

from functools import cache

import httpx

from arbridge.sandbox.connectwise.app import ConnectWiseSandbox, create_app

MOUNT = "/sandbox/connectwise"


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> ConnectWiseSandbox:
    """Return the sandbox to mount, sending the callbacks connections register."""
    return _sandbox()


@cache
def _sandbox() -> ConnectWiseSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    return create_app(http=httpx.Client(timeout=10))
