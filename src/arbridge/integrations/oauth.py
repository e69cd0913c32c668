"""Connecting an OAuth2 kind: consent, callback, the account picked, disconnect.

One flow for every connector whose `auth` is an `OAuth2` app (QuickBooks
Online, Xero, ...). `authorization_url()` sends the person to the vendor
with a signed state naming the connection, the partner and the person;
`complete_authorization()` checks it, exchanges the code and stores the
token before the connection is marked connected. The account connected is
the one the callback names (`OAuth2.account_param`, QuickBooks' realmId) or,
for a vendor whose consent reaches several (Xero's organisations), one the
person picks from the connector's `tenants()`.
"""

from __future__ import annotations

import logging

import httpx
from django.core import signing
from django.db import transaction

from arbridge.connectors.base import ConnectorError, OAuth2, Tenant
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import SyncRun
from arbridge.integrations.subscriptions import keep_credentials, subscribe
from arbridge.integrations.tasks import request_sync
from arbridge.integrations.tokens import ConnectionTokens, ConnectionTokenStore
from arbridge.integrations.vendors import vendor_app

logger = logging.getLogger(__name__)

STATE_SALT = "arbridge.integrations.oauth.state"
STATE_MAX_AGE = 15 * 60  # seconds a person may spend on the vendor's consent screen


class AuthorizationError(Exception):
    """Connecting failed; the message is for the person connecting."""


def is_oauth(kind: str) -> bool:
    """Return True if the kind is connected through its vendor's consent screen."""
    try:
        return isinstance(registry.load(kind).auth, OAuth2)
    except (ImportError, LookupError):
        return False


def authorization_url(connection: Connection, user) -> str:
    """Return the vendor's consent URL, with a state bound to the connection, partner, user."""
    app = vendor_app(connection.kind)
    if app.oauth is None or not app.oauth.client_id:
        raise AuthorizationError(
            f"{registry.display_name(connection.kind)} is not set up on this server: "
            f"ARBRIDGE_{connection.kind.upper()}_CLIENT_ID is missing."
        )
    state = signing.dumps(
        {"connection": connection.pk, "partner": connection.partner_id, "user": user.pk},
        salt=STATE_SALT,
    )
    with http_client() as http:
        url, _ = ConnectionTokens(connection, http).authorization_url(state)
    return url


def connection_from_state(kind: str, state: str, partner, user) -> Connection:
    """Return the connection a callback's state names, if signed for this partner and user."""
    name = registry.display_name(kind)
    try:
        signed = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise AuthorizationError(
            f"The {name} authorization expired or was not started here. Connect again."
        ) from None
    if signed.get("partner") != partner.pk or signed.get("user") != user.pk:
        raise AuthorizationError(
            f"This {name} authorization was started by someone else. Connect again."
        )
    connection = (
        Connection.objects.for_partner(partner)
        .filter(pk=signed.get("connection"), kind=kind)
        .first()
    )
    if connection is None:
        raise AuthorizationError("The connection being authorized no longer exists.")
    return connection


def complete_authorization(connection: Connection, callback_url: str, state: str) -> list[Tenant]:
    """Store the token the callback's code is exchanged for; return the accounts to pick from.

    When the callback names the account, or the consent reaches one, the
    connection is connected and synced at once and the list is empty.
    """
    auth: OAuth2 = registry.load(connection.kind).auth
    name = registry.display_name(connection.kind)
    params = httpx.URL(callback_url).params
    if "error" in params:
        raise AuthorizationError(f"{name} refused the authorization ({params['error']}).")
    account = params.get(auth.account_param, "") if auth.account_param else ""
    if auth.account_param and not account:
        raise AuthorizationError(f"{name} did not say which account was connected.")
    if account:
        check_same_account(connection, account)
    with http_client() as http:
        try:
            if auth.token_url_for is not None:
                own = auth.token_url_for(params, vendor_app(connection.kind).oauth.token_url)
                keep_credentials(connection, replace=True, token_url=own)
            token = ConnectionTokens(connection, http).fetch_token(callback_url, state=state)
        except ConnectorError as e:
            raise AuthorizationError(f"{name} did not issue a token: {e}") from e
    if kept := {f: token[f] for f in auth.kept_token_fields if f in token}:
        keep_credentials(connection, replace=True, **kept)
    if account:
        choose_account(connection, account)
        return []
    tenants = reachable_tenants(connection)
    if not tenants:
        raise AuthorizationError(f"{name} connected no account to arbridge.")
    held = [t for t in tenants if t.id == connection.remote_account]
    if len(tenants) == 1 or held:
        choose_account(connection, (held or tenants)[0].id)
        return []
    return tenants


def reachable_tenants(connection: Connection) -> list[Tenant]:
    """Return the accounts the connection's consent reaches (Capabilities.tenants)."""
    unpicked = Connection(
        pk=connection.pk,
        partner_id=connection.partner_id,
        kind=connection.kind,
        credentials=connection.credentials,
    )
    with http_client() as http:
        try:
            return build_connector(unpicked, http).tenants()
        except ConnectorError as e:
            raise AuthorizationError(f"Could not list the accounts connected: {e}") from e


def check_same_account(connection: Connection, account: str) -> None:
    """Refuse an account other than the one a connection already holds records of."""
    if connection.remote_account and connection.remote_account != account:
        raise AuthorizationError(
            f"That is another {registry.display_name(connection.kind)} account ({account}); "
            f"this connection is for {connection.remote_account}. Sign in to that one, or "
            "disconnect and add a new connection."
        )


def choose_account(connection: Connection, account: str) -> SyncRun:
    """Connect the connection to the account, and request its first sync."""
    check_same_account(connection, account)
    with transaction.atomic():
        connection.refresh_from_db(fields=["credentials"])
        connection.remote_account = account
        connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
        connection.save(update_fields=["remote_account", "status", "status_detail"])
        run = request_sync(connection, SyncRun.Trigger.INITIAL)
    subscribe(connection)  # a kind that calls back (Capabilities.subscribe) is asked to
    return run


def disconnect(connection: Connection) -> None:
    """Revoke the grant at the vendor if it will let us, forget the token; the data stays."""
    store = ConnectionTokenStore(connection.pk)
    token = store.load()
    if revocable := token.get("refresh_token") or token.get("access_token"):
        revoke(connection.kind, revocable)
    store.clear()
    connection.refresh_from_db(fields=["credentials"])
    connection.status = Connection.Status.DISCONNECTED
    connection.status_detail = "Disconnected. Reconnect to sync again."
    connection.save(update_fields=["status", "status_detail"])


def revoke(kind: str, token: str) -> bool:
    """Ask the vendor to end the grant a token belongs to; return False if it could not be asked."""
    app = vendor_app(kind)
    if not app.revoke_url or app.oauth is None:
        return False
    # Reference: https://datatracker.ietf.org/doc/html/rfc7009 (Intuit takes JSON instead)
    body = {"json": {"token": token}} if app.revoke_as_json else {"data": {"token": token}}
    try:
        with http_client() as http:
            response = http.post(
                app.revoke_url,
                auth=(app.oauth.client_id, app.oauth.client_secret),
                headers={"Accept": "application/json"},
                **body,
            )
    except httpx.HTTPError as e:
        logger.warning("Revoking a %s token failed: %s", kind, e)
        return False
    if not response.is_success:
        # Best effort: the token is forgotten here either way.
        logger.warning("%s refused to revoke a token: %s", kind, response.status_code)
        return False
    return True
