"""Build a connection's connector: the one place a Connection becomes a Config."""

import ssl
from functools import cache

import httpx

from arbridge.connectors.base import Config, Connector
from arbridge.integrations.models import Connection
from arbridge.integrations.registry import load

# Generous enough for a slow vendor page, short enough that a hung vendor
# gives its worker back well inside the outbox lease.
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@cache
def tls_context() -> ssl.SSLContext:
    """Return the one TLS context of vendor clients: loading the CA bundle takes tens of ms."""
    return httpx.create_ssl_context()


def http_client() -> httpx.Client:
    """Return a new HTTP client for talking to vendors; close it when done."""
    return httpx.Client(verify=tls_context(), timeout=TIMEOUT, headers={"User-Agent": "arbridge"})


def build_connector(connection: Connection, http: httpx.Client | None = None) -> Connector:
    """Return the connector for a connection; ImportError if its kind is not built yet."""
    connector_class = load(connection.kind)
    if connection.kind == "qbo":
        # An OAuth app's token and the company's shared rate limit: integrations/qbo.py.
        from arbridge.integrations import qbo

        return qbo.build_connector(connection, connector_class, http or http_client())
    if connection.kind in ("halopsa", "connectwise", "autotask"):
        # Each PSA's limits shared by every worker: integrations/psa.py.
        from arbridge.integrations import psa

        return psa.build_connector(connection, connector_class, http or http_client())
    credentials = dict(connection.credentials)
    config = Config(
        base_url=credentials.get("base_url", ""),
        credentials=credentials,
        preferences=connection.preferences,
        remote_account=connection.remote_account,
    )
    return connector_class(config, http or http_client())
