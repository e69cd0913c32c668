"""The demo's SuperOps: the sandbox the web server mounts at MOUNT, with the demo's account.

Framework-free (sandbox/common/demo.py): `seed_demo()` fills the demo
subdomain with clients (each with a billing contact) and invoices with
items, and returns the sandbox's own API token. The account lives in the web
server's memory, so each start seeds it afresh. No ROLE: the demo partner's
three roles are taken; SuperOps syncs beside them.
"""

from __future__ import annotations

from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.superops.app import TOKEN, SuperOpsSandbox, create_app, seed

MOUNT = "/sandbox/superops"
SUBDOMAIN = "northwind"
CLIENTS, INVOICES = 8, 30


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> SuperOpsSandbox:
    """Return the sandbox to mount; SuperOps sends arbridge no webhooks."""
    return _sandbox()


@cache
def _sandbox() -> SuperOpsSandbox:
    """The one instance of this process: the server mounts it, the demo seeds it."""
    return create_app()


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo subdomain once per process; return the keys of a connection to it."""
    _seed()
    return DemoAccount(
        account=SUBDOMAIN,
        credentials={
            "base_url": f"{request.base_url}/msp",
            "subdomain": SUBDOMAIN,
            "token": TOKEN,
        },  # fmt: skip
        printed=(("SuperOps subdomain", SUBDOMAIN), ("SuperOps API token", TOKEN)),
    )


@cache
def _seed() -> None:
    store = _sandbox().store
    store.account(SUBDOMAIN)
    seed(store, SUBDOMAIN, clients=CLIENTS, invoices=INVOICES, lines=3)
