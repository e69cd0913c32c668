"""Build a connection's connector: the one place a Connection becomes a connector.

Every kind is built the same way, `Kind(config, http, runtime)`. What only
Django knows is given here and nowhere else:

- the vendor app this server runs as (integrations/vendors.py);
- the connection's authorization: an OAuth2 kind's client carries the
  connection's bearer token (integrations/oauth.py); a credentials kind's
  config carries the credentials a person typed, encrypted at rest;
- one limiter per set of vendor limits, shared by every worker of the
  deployment (through Redis when REDIS_URL is set);
- what arbridge holds from the connection (`known`).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx
from django.conf import settings

from arbridge.connectors.base import Config, Connector, OAuth2, Runtime
from arbridge.connectors.ratelimit import InProcessLimiter, Limiter, Limits, RedisLimiter
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.models import ExternalRef
from arbridge.integrations.tokens import authorized_client
from arbridge.integrations.vendors import vendor_app

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


# -- building ---------------------------------------------------------------------


@cache
def limiter(limits: Limits) -> Limiter:
    """Return the one limiter of a set of vendor limits: Redis-wide, or this process's."""
    if settings.REDIS_URL:
        return RedisLimiter(settings.REDIS_URL, limits)
    return InProcessLimiter(limits)


def config(connection: Connection) -> Config:
    """Return the connection's config: where its vendor is, its credentials and preferences."""
    connector = registry.load(connection.kind)
    credentials = dict(connection.credentials)
    if isinstance(connector.auth, OAuth2):
        credentials.pop("token", None)  # the client carries it, never the connector
    return Config(
        base_url=credentials.get("base_url") or vendor_app(connection.kind).api_base,
        credentials=credentials,
        preferences=connection.preferences,
        remote_account=connection.remote_account,
    )


def runtime(connection: Connection) -> Runtime:
    """Return what the connector of a connection is given beside its config."""
    return Runtime(limiter=limiter, known=lambda entity: held_ids(connection, entity))


def build_connector(connection: Connection, http: httpx.Client | None = None) -> Connector:
    """Return the connector for a connection; ImportError if its kind is not built yet."""
    connector_class = registry.load(connection.kind)
    http = http or http_client()
    if isinstance(connector_class.auth, OAuth2):
        http = authorized_client(connection, http)
    return connector_class(config(connection), http, runtime(connection))


def held_ids(connection: Connection, entity: str) -> list[str]:
    """Return the remote ids of an entity's records arbridge holds from the connection."""
    return list(
        ExternalRef.objects.filter(
            connection=connection, entity=entity, deleted_at__isnull=True
        ).values_list("remote_id", flat=True)
    )
