"""Connect a demo connection of any OAuth2 kind to its sandbox's demo account.

A kind's sandbox package declares its demo (`arbridge.sandbox.<kind>.demo`):
`seed_demo(client_id)` fills its account once per process and returns tokens
of arbridge's app connected to it, the account under "account". Connecting
stores them as a consent would have, and requests the first sync, which
brings the account's records through the connector as a real partner's.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Token

from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.integrations.vendors import vendor_app


def demo_kinds() -> list[str]:
    """Return the built OAuth2 kinds whose sandbox seeds a demo account."""
    return [
        kind
        for kind in registry.built()
        if hasattr(registry.sandbox_demo(kind), "seed_demo") and vendor_app(kind).oauth
    ]


def connect_to_sandbox(connection: Connection) -> str:
    """Connect the connection to its sandbox's demo account, request a sync; return the token."""
    app = vendor_app(connection.kind)
    token = dict(registry.sandbox_demo(connection.kind).seed_demo(app.oauth.client_id))
    account = token.pop("account")
    for extra in ("realm_id", "tenant_id"):
        token.pop(extra, None)
    connection.credentials = {**connection.credentials, "token": dict(OAuth2Token(token))}
    connection.remote_account = account
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["credentials", "remote_account", "status", "status_detail"])
    first = not connection.sync_runs.exists()
    request_sync(connection, SyncRun.Trigger.INITIAL if first else SyncRun.Trigger.SCHEDULE)
    return token["access_token"]
