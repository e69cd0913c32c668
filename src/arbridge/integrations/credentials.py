"""Connecting a credentials kind: what a person typed, checked by a call, then stored.

One flow for every connector whose `auth` is a `Credentials` model (HaloPSA,
ConnectWise, Autotask, ...). The model validates what was typed; the
connector's `check()` (Capabilities.check) makes the cheapest authenticated
call and says what it learned (HaloPSA's version, Autotask's zone); only then
are the credentials stored, encrypted, and the connection marked connected.
A connector that can be asked to call back (`subscribe`) is asked then, its
scheduled pull the fallback if it refuses.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from django.db import transaction

from arbridge.connectors.base import ConnectorError, Credentials
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import SyncRun
from arbridge.integrations.subscriptions import subscribe
from arbridge.integrations.tasks import request_sync

logger = logging.getLogger(__name__)


class ConnectError(Exception):
    """The vendor did not accept the credentials; the message is for the person connecting."""


def credentials_model(kind: str) -> type[Credentials] | None:
    """Return the kind's credentials model, or None for an OAuth2 kind."""
    auth = registry.load(kind).auth
    return auth if isinstance(auth, type) and issubclass(auth, Credentials) else None


def connect(connection: Connection, typed: Credentials) -> SyncRun:
    """Check the credentials with a test call, store them, mark connected, request a sync.

    Raises ConnectError, with nothing stored, if the vendor refuses them.
    """
    account = getattr(typed, type(typed).account_field, "") if type(typed).account_field else ""
    trial = Connection(
        pk=connection.pk,
        partner_id=connection.partner_id,
        kind=connection.kind,
        credentials=typed.stored(),
        preferences=connection.preferences,
        remote_account=account,
    )
    name = registry.display_name(connection.kind)
    try:
        with http_client() as http:
            checked = check(trial, http)
    except ConnectorError as e:
        raise ConnectError(f"{name} refused these credentials: {e}") from e
    except httpx.HTTPError as e:
        raise ConnectError(f"{name} could not be reached: {e}") from e
    with transaction.atomic():
        connection.credentials = {**trial.credentials, **checked.get("credentials", {})}
        connection.remote_account = checked.get("remote_account") or account
        connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
        connection.save()
        run = request_sync(connection, SyncRun.Trigger.INITIAL)
    subscribe(connection)
    return run


def check(connection: Connection, http: httpx.Client) -> dict[str, Any]:
    """Make the connector's check call; return the credentials and account it taught."""
    connector = build_connector(connection, http)
    if not connector.capabilities.check:
        return {}
    checked = connector.check()
    return {"credentials": dict(checked.credentials), "remote_account": checked.remote_account}
