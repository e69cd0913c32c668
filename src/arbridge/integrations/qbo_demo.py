"""The demo partner's QuickBooks Online connection, connected to the sandbox's company.

The sandbox and its company are arbridge.sandbox.qbo.demo's; connecting is
arbridge.demo.connections' as for every OAuth2 kind. What is printed at start
is a token of the company's for a person to call the sandbox's API.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbridge.core.models import Connection
from arbridge.demo.connections import connect_to_sandbox
from arbridge.integrations.vendors import vendor_app
from arbridge.sandbox.qbo import demo


@dataclass(frozen=True)
class DemoCompany:
    realm: str
    access_token: str  # for a person to call the sandbox's API; never expires
    verifier_token: str  # what the sandbox signs its webhooks with


def connect(connection: Connection) -> DemoCompany:
    """Seed the demo company if this process has not, connect the connection to it, sync it."""
    connect_to_sandbox(connection)
    printed = demo.seed_demo(vendor_app(connection.kind).oauth.client_id)
    key = vendor_app(connection.kind).webhook_key
    return DemoCompany(connection.remote_account, printed["access_token"], key)
