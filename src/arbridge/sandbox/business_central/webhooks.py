"""Webhook subscriptions as Business Central keeps them: handshake, notifications, expiry.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions

Making or renewing a subscription first POSTs `?validationToken=<token>`
to its notificationUrl, and only a 200 whose body is the token makes it.
A subscription expires three days after it was made or renewed. Changes to
a subscribed list are queued per subscription and sent together (the
sandbox's stand-in for Business Central's 30-second batching); more than
MAX_LISTED in one batch go as one "collection" notification instead.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Hashable
from typing import Any

import httpx

from arbridge.sandbox.business_central.store import Company, Environment, Invalid, Store, iso
from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.common.wire import dumps

LIFETIME = dt.timedelta(days=3)
MAX_LISTED = 1_000


class Notifier(Deliveries):
    def __init__(self, store: Store, *, interval: float | None, http: httpx.Client | None) -> None:
        super().__init__(interval=interval, http=http)
        self.store = store
        self.urls: dict[str, str] = {}
        self.handshakes = 0
        store.listeners.append(self.add)

    # -- subscriptions ----------------------------------------------------------------

    def handshake(self, url: str) -> None:
        """Ask the notificationUrl to echo a validationToken; Invalid if it does not."""
        token = secrets.token_urlsafe(16)
        try:
            answer = self.http.post(url, params={"validationToken": token})
            ok = answer.status_code == 200 and answer.text.strip() == token
        except httpx.HTTPError:
            ok = False
        self.handshakes += 1
        if not ok:
            raise Invalid(
                "The subscription was not validated: the notificationUrl did not return "
                "the validationToken.",
                code="Internal_SubscriptionValidationFailed",
            )

    def subscribe(self, env: Environment, body: dict[str, Any], user: str) -> dict[str, Any]:
        url, resource = str(body.get("notificationUrl") or ""), str(body.get("resource") or "")
        if not url or not resource:
            raise Invalid("notificationUrl and resource must have values.")
        if any(
            s["notificationUrl"] == url and s["resource"] == resource
            for s in env.subscriptions.values()
        ):
            raise Invalid(
                "A subscription to this resource for this notificationUrl already exists.",
                code="Internal_EntityWithSameKeyExists",
            )
        self.handshake(url)
        now = self.store.now()
        row = {
            "subscriptionId": uuid.uuid4().hex,
            "notificationUrl": url,
            "resource": resource,
            "userId": user,
            "clientState": str(body.get("clientState") or "")[:2048],
            "expirationDateTime": iso(now + LIFETIME),
            "lastModifiedDateTime": iso(now),
            "_version": 1,
        }
        env.subscriptions[row["subscriptionId"]] = row
        return row

    def renew(self, env: Environment, id: str, body: dict[str, Any], etag: str) -> dict[str, Any]:
        row = env.subscriptions.get(id)
        if row is None:
            raise Invalid(f"The subscription {id} does not exist.", status=404)
        if etag not in ("*", etag_of(row)):
            raise Invalid(
                "Another user has already changed the record.",
                status=412,
                code="Request_EntityChanged",
            )
        url = str(body.get("notificationUrl") or row["notificationUrl"])
        self.handshake(url)
        now = self.store.now()
        row.update(
            notificationUrl=url,
            clientState=str(body.get("clientState", row["clientState"]))[:2048],
            expirationDateTime=iso(now + LIFETIME),
            lastModifiedDateTime=iso(now),
            _version=row["_version"] + 1,
        )
        return row

    # -- notifications ------------------------------------------------------------------

    def add(self, env: Environment, company: Company, table: str, id: str, kind: str) -> None:
        now = self.store.now()
        path = f"/api/v2.0/companies({company.id})/{table}"
        for row in list(env.subscriptions.values()):
            if row["resource"].rstrip("/") != path:
                continue
            if dt.datetime.fromisoformat(row["expirationDateTime"].replace("Z", "+00:00")) <= now:
                continue  # lapsed: Business Central sends nothing more
            self.urls[row["subscriptionId"]] = row["notificationUrl"]
            self.queue(
                row["subscriptionId"],
                {
                    "subscriptionId": row["subscriptionId"],
                    "clientState": row["clientState"],
                    "expirationDateTime": row["expirationDateTime"],
                    "resource": f"{path}({id})",
                    "changeType": kind,
                    "lastModifiedDateTime": iso(now),
                },
            )

    def send(self, key: Hashable, items: list[Any]) -> int:
        url = self.urls[str(key)]
        if len(items) > MAX_LISTED:
            first = items[0]
            items = [
                {
                    **first,
                    "resource": first["resource"].rsplit("(", 1)[0],
                    "changeType": "collection",
                }
            ]
        body = dumps({"value": items}).encode()
        if self.post(url, body, {"Content-Type": "application/json"}):
            return 1
        self.requeue(key, items)
        return 0


def etag_of(row: dict[str, Any]) -> str:
    return f'W/"JzE5OzE{row.get("_version", 0)}Oyc="'
