"""The demo's Autotask: the sandbox the web server mounts at MOUNT, a few companies billed in it.

Framework-free. The demo partner has no Autotask connection (a partner
connects at most three systems); the sandbox is there for a person to connect.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.autotask.app import AutotaskSandbox, create_app
from arbridge.sandbox.autotask.seed import seed

MOUNT = "/sandbox/autotask"


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> AutotaskSandbox:
    """Return the sandbox to mount, seeded once."""
    return _sandbox()


@cache
def _sandbox() -> AutotaskSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    app = create_app()
    seed(app.store)
    return app
