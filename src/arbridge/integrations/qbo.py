"""QuickBooks Online in arbridge: the app, its tokens, its connector; connecting, disconnecting.

The connector (arbridge.connectors.qbo) knows nothing of Django. This module
gives it what only Django knows: which QuickBooks app arbridge is (Intuit's,
from the ARBRIDGE_QBO_* settings, or the built-in sandbox in development),
the connection's OAuth token, kept encrypted in Connection.credentials["token"],
and one rate limit per QuickBooks company shared by every worker (through
Redis when REDIS_URL is set).

Connecting is OAuth2's authorization-code flow: `authorization_url()` sends
the person to Intuit with a signed state naming the connection, the partner
and the person; `complete_authorization()` checks it, exchanges the code and
stores the token before the connection is marked connected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from arbridge.connectors.base import AuthError, Config, ConnectorError
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.ratelimit import (
    InProcessLimiter,
    Limiter,
    Limits,
    RateLimitedTransport,
    RedisLimiter,
)
from arbridge.integrations.connect import TIMEOUT, http_client
from arbridge.integrations.models import Connection, ExternalRef, SyncRun

logger = logging.getLogger(__name__)

KIND = "qbo"
SCOPE = "com.intuit.quickbooks.accounting"
# Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
INTUIT = {
    "auth_url": "https://appcenter.intuit.com/connect/oauth2",
    "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "revoke_url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    "api_base": "https://quickbooks.api.intuit.com",
}

# Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles
# A second's margin on the minute: Intuit counts a request when it arrives,
# and one sent the instant its slot frees may arrive inside the old minute.
LIMITS = Limits(per_window=500, window_s=61.0, concurrency=10)

STATE_SALT = "arbridge.integrations.qbo.state"
STATE_MAX_AGE = 15 * 60  # seconds a person may spend on Intuit's consent screen


@dataclass(frozen=True)
class QuickBooksApp:
    """The QuickBooks app arbridge runs as: its OAuth endpoints, API root and webhook key."""

    oauth: OAuthApp
    revoke_url: str
    api_base: str
    verifier_token: str
    is_sandbox: bool


def app() -> QuickBooksApp:
    """Return the configured app: Intuit's, or the built-in sandbox when none is configured."""
    if settings.QBO_CLIENT_ID or settings.IS_PRODUCTION:
        urls, is_sandbox = INTUIT, False
        client_id, client_secret = settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET
        verifier_token = settings.QBO_WEBHOOK_VERIFIER_TOKEN
    else:
        # Imported here: production never needs the simulator.
        from arbridge.sandbox.qbo import app as sandbox

        root = f"{settings.BASE_URL}/sandbox/qbo"
        urls, is_sandbox = sandbox_urls(root), True
        client_id, client_secret = sandbox.CLIENT_ID, sandbox.CLIENT_SECRET
        verifier_token = settings.QBO_WEBHOOK_VERIFIER_TOKEN or sandbox.VERIFIER_TOKEN
    oauth = OAuthApp(
        client_id=client_id,
        client_secret=client_secret,
        authorize_url=settings.QBO_AUTH_URL or urls["auth_url"],
        token_url=settings.QBO_TOKEN_URL or urls["token_url"],
        redirect_uri=settings.BASE_URL + reverse("dashboard:qbo_callback"),
        scope=SCOPE,
    )
    return QuickBooksApp(
        oauth=oauth,
        revoke_url=settings.QBO_REVOKE_URL or urls["revoke_url"],
        api_base=(settings.QBO_API_BASE or urls["api_base"]).rstrip("/"),
        verifier_token=verifier_token,
        is_sandbox=is_sandbox,
    )


def sandbox_urls(root: str) -> dict[str, str]:
    """Return the sandbox's endpoints under the URL it is served at."""
    return {
        "auth_url": f"{root}/oauth2/authorize",
        "token_url": f"{root}/oauth2/token",
        "revoke_url": f"{root}/oauth2/revoke",
        "api_base": root,
    }


# -- tokens ---------------------------------------------------------------------


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
    """A connection's tokens; a refresh Intuit refuses puts the connection in error.

    Intuit refuses a refresh token when the grant ended (the company's admin
    disconnected the app, or the refresh token expired): only a person
    reconnecting helps, so the dashboard says so on the connection.
    """

    def __init__(self, connection_id: int, http: httpx.Client) -> None:
        super().__init__(app().oauth, ConnectionTokenStore(connection_id), http)
        self.connection_id = connection_id

    def access_token(self, rejected: str | None = None) -> str:
        try:
            return super().access_token(rejected)
        except AuthError as e:
            refused(self.connection_id, str(e))
            raise


def refused(connection_id: int, reason: str) -> None:
    """Mark a connected connection in error: Intuit no longer accepts its authorization."""
    detail = (
        "QuickBooks Online no longer accepts arbridge's authorization "
        f"({reason}). Reconnect to resume syncing and write-back."
    )
    Connection.objects.filter(pk=connection_id, status=Connection.Status.CONNECTED).update(
        status=Connection.Status.ERROR, status_detail=detail[:500]
    )
    logger.warning("QuickBooks Online connection %s: %s", connection_id, reason)


def token_manager(connection: Connection, http: httpx.Client) -> TokenManager:
    return ConnectionTokens(connection.pk, http)


# -- the connector --------------------------------------------------------------


@cache
def limiter() -> Limiter:
    """Return the one limiter of QuickBooks' per-company limits: Redis-wide, or this process's."""
    if settings.REDIS_URL:
        return RedisLimiter(settings.REDIS_URL, LIMITS)
    return InProcessLimiter(LIMITS)


@cache
def batch_limiter() -> Limiter:
    """Return the one limiter of QuickBooks' batch requests per company (and this app)."""
    from arbridge.connectors.qbo.connector import BATCH_LIMITS

    if settings.REDIS_URL:
        return RedisLimiter(settings.REDIS_URL, BATCH_LIMITS)
    return InProcessLimiter(BATCH_LIMITS)


class ClientTransport(httpx.BaseTransport):
    """Send through another client, so that the caller's client (and its `with`) carries ours."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request, stream=True)

    def close(self) -> None:
        pass  # the client is its owner's to close


def api_client(connection: Connection, http: httpx.Client) -> httpx.Client:
    """Return a client for the connection's company: its bearer token, the company's limits."""
    transport = RateLimitedTransport(
        ClientTransport(http), limiter(), f"{KIND}:{connection.remote_account}"
    )
    return httpx.Client(
        transport=transport,
        auth=BearerAuth(token_manager(connection, http)),
        timeout=TIMEOUT,
        headers={"User-Agent": "arbridge"},
    )


def build_connector(connection: Connection, connector_class: type, http: httpx.Client):
    """Return the QuickBooks connector for a connection, talking through `http`."""
    config = Config(
        base_url=app().api_base,
        preferences=connection.preferences,
        remote_account=connection.remote_account,
    )
    return connector_class(
        config,
        api_client(connection, http),
        batch_limiter=batch_limiter(),
        known=lambda entity: held_ids(connection, entity),
    )


def held_ids(connection: Connection, entity: str) -> list[str]:
    """Return the remote ids of an entity's records arbridge holds from the connection."""
    return list(
        ExternalRef.objects.filter(
            connection=connection, entity=entity, deleted_at__isnull=True
        ).values_list("remote_id", flat=True)
    )


# -- connecting -----------------------------------------------------------------


class AuthorizationError(Exception):
    """Connecting failed; the message is for the person connecting."""


def authorization_url(connection: Connection, user) -> str:
    """Return Intuit's consent URL for the connection, with a state bound to partner and user."""
    if not app().oauth.client_id:
        raise AuthorizationError(
            "QuickBooks Online is not set up on this server: ARBRIDGE_QBO_CLIENT_ID is missing."
        )
    state = signing.dumps(
        {"connection": connection.pk, "partner": connection.partner_id, "user": user.pk},
        salt=STATE_SALT,
    )
    with http_client() as http:
        url, _ = token_manager(connection, http).authorization_url(state)
    return url


def connection_from_state(state: str, partner, user) -> Connection:
    """Return the connection a callback's state names, if signed for this partner and user."""
    try:
        signed = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise AuthorizationError(
            "The QuickBooks Online authorization expired or was not started here. Connect again."
        ) from None
    if signed.get("partner") != partner.pk or signed.get("user") != user.pk:
        raise AuthorizationError(
            "This QuickBooks Online authorization was started by someone else. Connect again."
        )
    connection = Connection.objects.for_partner(partner).filter(pk=signed.get("connection")).first()
    if connection is None:
        raise AuthorizationError("The connection being authorized no longer exists.")
    return connection


def complete_authorization(connection: Connection, callback_url: str, state: str) -> SyncRun:
    """Store the token the callback's code is exchanged for, mark connected, request a sync."""
    from arbridge.integrations.tasks import request_sync

    params = httpx.URL(callback_url).params
    if "error" in params:
        raise AuthorizationError(
            f"QuickBooks Online refused the authorization ({params['error']})."
        )
    realm_id = params.get("realmId", "")
    if not realm_id:
        raise AuthorizationError("QuickBooks Online did not say which company was connected.")
    if connection.remote_account and connection.remote_account != realm_id:
        raise AuthorizationError(
            f"That is another QuickBooks company (realm {realm_id}); this connection is for "
            f"realm {connection.remote_account}. Sign in to that company, or disconnect and "
            "add a new connection."
        )
    with http_client() as http:
        try:
            token_manager(connection, http).fetch_token(callback_url, state=state)
        except ConnectorError as e:
            raise AuthorizationError(f"QuickBooks Online did not issue a token: {e}") from e
    connection.remote_account = realm_id
    connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
    connection.save(update_fields=["remote_account", "status", "status_detail"])
    return request_sync(connection, SyncRun.Trigger.INITIAL)


def disconnect(connection: Connection) -> None:
    """Revoke the grant at Intuit if it will let us, forget the token; the data stays."""
    store = ConnectionTokenStore(connection.pk)
    token = store.load()
    if revocable := token.get("refresh_token") or token.get("access_token"):
        revoke(revocable)
    store.clear()
    connection.refresh_from_db(fields=["credentials"])
    connection.status = Connection.Status.DISCONNECTED
    connection.status_detail = "Disconnected. Reconnect to sync again."
    connection.save(update_fields=["status", "status_detail"])


def revoke(token: str) -> bool:
    """Ask Intuit to end the grant a token belongs to; return False if it could not be asked."""
    quickbooks = app()
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#revoke-token-disconnect
    try:
        with http_client() as http:
            response = http.post(
                quickbooks.revoke_url,
                json={"token": token},
                auth=(quickbooks.oauth.client_id, quickbooks.oauth.client_secret),
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as e:
        logger.warning("Revoking a QuickBooks Online token failed: %s", e)
        return False
    if not response.is_success:
        # Best effort: the token is forgotten here either way.
        logger.warning("QuickBooks Online refused to revoke a token: %s", response.status_code)
        return False
    return True
