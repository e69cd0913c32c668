"""Connect the demo partner's connections to their sandboxes' demo accounts, any kind alike.

A kind's sandbox package declares its demo (sandbox/common/demo.py): a
role, `seed_demo()` that fills its account once per process, and, for an
accounting system, the invoices a PSA bills too. Connecting stores what the
sandbox returns as a consent or a credentials form would have, and requests
the first sync, which brings the account's records through the connector as
a real partner's.
"""

from __future__ import annotations

from types import ModuleType

from authlib.oauth2.rfc6749 import OAuth2Token
from django.conf import settings

from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.integrations.vendors import vendor_app
from arbridge.sandbox.common.demo import DemoAccount, DemoRequest, SharedInvoice


def demo_modules() -> dict[str, ModuleType]:
    """Return the built kinds whose sandbox keeps a demo account, accounting systems first."""
    modules = {
        kind: module
        for kind in registry.built()
        if hasattr(module := registry.sandbox_demo(kind), "seed_demo")
    }
    # Their invoices are what the others bill too.
    return dict(sorted(modules.items(), key=lambda item: not hasattr(item[1], "shared_invoices")))


def role(kind: str) -> str | None:
    """Return the role the demo gives the kind's connection, or None."""
    return getattr(registry.sandbox_demo(kind), "ROLE", None)


def connect_all(connections: list[Connection]) -> list[tuple[str, str]]:
    """Connect each connection to its sandbox's demo account; return the lines to print."""
    modules = demo_modules()
    shared: tuple[SharedInvoice, ...] = tuple(
        invoice
        for module in modules.values()
        if hasattr(module, "shared_invoices")
        for invoice in module.shared_invoices()
    )
    by_kind = {connection.kind: connection for connection in connections}
    printed: list[tuple[str, str]] = []
    for kind, module in modules.items():
        if kind not in by_kind:
            continue
        oauth = vendor_app(kind).oauth
        request = DemoRequest(
            base_url=f"{settings.BASE_URL}{module.MOUNT}",
            client_id=oauth.client_id if oauth else "",
            shared=shared,
        )
        account = module.seed_demo(request)
        connect(by_kind[kind], account)
        printed.extend(account.printed)
    return printed


def connect(connection: Connection, account: DemoAccount) -> SyncRun:
    """Store the sandbox's tokens or keys on the connection, mark it connected, request a sync."""
    if account.token is not None:
        connection.credentials = {
            **connection.credentials,
            "token": dict(OAuth2Token(account.token)),
        }
    connection.credentials = {**connection.credentials, **account.credentials}
    connection.remote_account = account.account
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["credentials", "remote_account", "status", "status_detail"])
    first = not connection.sync_runs.exists()
    return request_sync(connection, SyncRun.Trigger.INITIAL if first else SyncRun.Trigger.SCHEDULE)
