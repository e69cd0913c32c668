"""The demo partner's QuickBooks Online connection, connected to the sandbox's company.

The sandbox and its company are arbridge.sandbox.qbo.demo's; `connect()`
gives the demo partner's connection a token to it, so that its QuickBooks
customers and invoices arrive through the connector, as a real partner's do:
the first sync runs on the worker, and webhooks bring every change after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import OAuth2Token

from arbridge.integrations.models import Connection, SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.integrations.vendors import vendor_app
from arbridge.sandbox.qbo import demo


@dataclass(frozen=True)
class DemoCompany:
    realm: str
    access_token: str  # for a person to call the sandbox's API; never expires
    verifier_token: str  # what the sandbox signs its webhooks with


def connect(connection: Connection) -> DemoCompany:
    """Seed the demo company if this process has not, connect the connection to it, sync it."""
    app = vendor_app(connection.kind)
    # Tokens of arbridge's own app, so that disconnecting revokes them as Intuit would.
    token = demo.seed_demo(app.oauth.client_id)
    realm = token.pop("realm_id")
    connection.credentials = {**connection.credentials, "token": dict(OAuth2Token(token))}
    connection.remote_account = realm
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["credentials", "remote_account", "status", "status_detail"])
    first = not connection.sync_runs.exists()
    request_sync(connection, SyncRun.Trigger.INITIAL if first else SyncRun.Trigger.SCHEDULE)
    printed = demo.seed_demo(app.oauth.client_id)
    return DemoCompany(realm, printed["access_token"], app.webhook_key)
