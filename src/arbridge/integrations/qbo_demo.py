"""The demo's QuickBooks Online: the sandbox served at /sandbox/qbo, and a company in it.

The web server mounts `sandbox()` (server.SANDBOXES); `connect()` fills the
same in-memory company with an MSP's books and connects the demo partner to
it, so that its QuickBooks customers and invoices arrive through the
connector, as a real partner's do: the first sync runs on the worker, and
webhooks bring every change after it. The company lives in the web server's
memory, so each start seeds it afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import OAuth2Token
from django.conf import settings

from arbridge.integrations import qbo
from arbridge.integrations.models import Connection, SyncRun
from arbridge.sandbox.qbo import QuickBooksSandbox, Store, create_app, seed
from arbridge.sandbox.qbo.app import CLIENT_ID

REALM = "9130357122045519"
COMPANY_NAME = "Northwind MSP (QuickBooks sandbox)"
# Beside the invoices the PSAs bill, a few hundred in all.
CUSTOMERS, INVOICES = 40, 240
RNG_SEED = 20250101

# The sandbox's companies, shared by the app the server mounts and `connect()`.
STORE = Store()


@dataclass(frozen=True)
class DemoCompany:
    realm: str
    access_token: str  # for a person to call the sandbox's API; never expires
    verifier_token: str  # what the sandbox signs its webhooks with


def sandbox() -> QuickBooksSandbox:
    """Return the sandbox the web server mounts, posting its webhooks back to arbridge."""
    return create_app(
        STORE,
        verifier_token=qbo.app().verifier_token,
        webhook_url=f"{settings.BASE_URL}/webhooks/qbo",
    )


def connect(connection: Connection) -> DemoCompany:
    """Seed the demo company if this process has not, connect the connection to it, sync it."""
    from arbridge.integrations.tasks import request_sync

    if REALM not in STORE.realms:
        STORE.add_realm(REALM, COMPANY_NAME)
        seed(STORE, REALM, customers=CUSTOMERS, invoices=INVOICES, rng_seed=RNG_SEED)
    # Tokens of arbridge's own app, so that disconnecting revokes them as Intuit would.
    token = STORE.auth.issue(REALM, CLIENT_ID, ttl=None)
    connection.credentials = {**connection.credentials, "token": dict(OAuth2Token(token))}
    connection.remote_account = REALM
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["credentials", "remote_account", "status", "status_detail"])
    first = not connection.sync_runs.exists()
    request_sync(connection, SyncRun.Trigger.INITIAL if first else SyncRun.Trigger.SCHEDULE)
    printed = STORE.auth.issue(REALM, CLIENT_ID, ttl=None)
    return DemoCompany(REALM, printed["access_token"], qbo.app().verifier_token)
