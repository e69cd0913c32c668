"""A connection's OAuth2 tokens: kept encrypted in its credentials, carried by its client.

Every OAuth2 kind's connector is given a client that adds the connection's
bearer token to each request (`authorized_client`); the connector never
sees the token. A refresh the vendor refuses puts the connection in error:
only a person reconnecting helps, so the dashboard says so on it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import httpx
from django.db import transaction

from arbridge.connectors.base import AuthError
from arbridge.connectors.oauth import BearerAuth, TokenManager
from arbridge.connectors.ratelimit import ClientTransport
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.vendors import vendor_app

logger = logging.getLogger(__name__)


class ConnectionTokenStore:
    """A connection's OAuth token, encrypted in its credentials (a connectors.oauth.TokenStore)."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id

    def load(self) -> dict[str, Any]:
        credentials = (
            Connection.objects.filter(pk=self.connection_id)
            .values_list("credentials", flat=True)
            .first()
        )
        return dict((credentials or {}).get("token") or {})

    def save(self, token: dict[str, Any]) -> None:
        # Durable: committed before this returns, or an error. Inside someone
        # else's transaction a rollback could lose a token the vendor has
        # already rotated the old one away for; the TokenManager then keeps it
        # unsaved and unused instead.
        with transaction.atomic(durable=True):
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            connection.credentials = {**connection.credentials, "token": dict(token)}
            connection.save(update_fields=["credentials"])

    def clear(self) -> None:
        with transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            connection.credentials = {
                k: v for k, v in connection.credentials.items() if k != "token"
            }
            connection.save(update_fields=["credentials"])


class ConnectionTokens(TokenManager):
    """A connection's tokens; a refresh the vendor refuses puts the connection in error.

    A vendor refuses a refresh token when the grant ended (the account's
    admin disconnected the app, or the refresh token expired).
    """

    def __init__(self, connection: Connection, http: httpx.Client) -> None:
        oauth = vendor_app(connection.kind).oauth
        if oauth is None:
            raise TypeError(f"{connection.kind} is not an OAuth2 kind")
        # An account's own token endpoint, where its consent said (OAuth2.token_url_for).
        if own := connection.credentials.get("token_url"):
            oauth = dataclasses.replace(oauth, token_url=own)
        super().__init__(oauth, ConnectionTokenStore(connection.pk), http)
        self.connection_id, self.kind = connection.pk, connection.kind

    def access_token(self, rejected: str | None = None) -> str:
        try:
            return super().access_token(rejected)
        except AuthError as e:
            refused(self.connection_id, self.kind, str(e))
            raise


def refused(connection_id: int, kind: str, reason: str) -> None:
    """Mark a connected connection in error: its vendor no longer accepts its authorization."""
    detail = (
        f"{registry.display_name(kind)} no longer accepts arbridge's authorization "
        f"({reason}). Reconnect to resume syncing and write-back."
    )
    Connection.objects.filter(pk=connection_id, status=Connection.Status.CONNECTED).update(
        status=Connection.Status.ERROR, status_detail=detail[:500]
    )
    logger.warning("%s connection %s: %s", kind, connection_id, reason)


def authorized_client(connection: Connection, http: httpx.Client) -> httpx.Client:
    """Return a client sending through `http` with the connection's bearer token."""
    return httpx.Client(
        transport=ClientTransport(http),
        auth=BearerAuth(
            ConnectionTokens(connection, http),
            registry.load(connection.kind).auth.authorization_scheme,
        ),
        timeout=http.timeout,
        headers=http.headers,
    )
