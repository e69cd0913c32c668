"""The sandbox's Halo instances ("tenants"), in memory, and their access tokens.

Each tenant is one HaloPSA instance: its API application's credentials, its
version, and its tables of clients, users, agreements (ClientContract),
invoices with their lines, invoice payments and outbound webhooks. Ids count
up per table, as Halo's do. One lock guards everything; what each table
accepts and derives is in records.py.

Every write stamps the record's last-update field (`alastupdate` on a client,
`ulastupdate` on a user, `last_modified` on an invoice or agreement) from the
store's clock, strictly later than the tenant's previous stamp, so that an
incremental reader never sees two versions with one time. The stamps are
fixed-width ISO text, so comparing them as strings compares the times.

Deletes remove the record, as Halo's DELETE does: there is no change feed of
deletions, only the webhook event.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arbridge.sandbox.halopsa.records import (
    CHECK_DELETE,
    CLIENT,
    CONTRACT,
    CREATED,
    EVENT_NAMES,
    INVOICE,
    LINK,
    PAYMENT,
    PREPARE,
    STAMPS,
    USER,
    WRITABLE,
    Tenant,
    date_field,
    payments_of,
    settle_invoice,
)
from arbridge.sandbox.halopsa.wire import ApiError, bad_request, not_found, timestamp

TOKEN_TTL = 3600.0
DEFAULT_VERSION = "2.184.7"
SCOPE = "all"
WEBHOOK_WRITABLE = {
    "name", "url", "content_type", "authentication_type", "basic_username", "basic_password",
    "authentication_header", "active", "batch_delay_seconds",
}  # fmt: skip
# Webhook authentication_type values, as the Webhook editor numbers them.
AUTH_NONE, AUTH_BASIC, AUTH_HEADER = 0, 1, 3


@dataclass(frozen=True)
class Event:
    """One change, as an outbound webhook reports it."""

    tenant: str
    entity: str  # "Client", "User", "Contract", "Invoice"
    id: int
    action: str  # "Created", "Updated", "Deleted"
    time: dt.datetime


@dataclass
class Token:
    tenant: str
    expires_at: float | None  # None: never


class Store:
    """Every sandbox tenant, their access tokens, and who hears of changes."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None):
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.lock = threading.RLock()
        self.tenants: dict[str, Tenant] = {}
        self.tokens: dict[str, Token] = {}
        self.listeners: list[Callable[[Event], None]] = []

    def now(self) -> float:
        return self.clock().timestamp()

    # -- tenants and tokens ---------------------------------------------------

    def add_tenant(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        version: str = DEFAULT_VERSION,
    ) -> Tenant:
        """Create a Halo instance with an API application; return it."""
        with self.lock:
            if not name or name in self.tenants:
                raise ValueError(f"tenant {name!r} exists or is unnamed")
            tenant = Tenant(
                name,
                client_id or f"{name}-client",
                client_secret or secrets.token_urlsafe(24),
                version,
            )
            self.tenants[name] = tenant
            return tenant

    def tenant(self, name: str) -> Tenant:
        try:
            return self.tenants[name]
        except KeyError:
            raise not_found("Tenant", name) from None

    def issue_token(self, tenant: str, ttl: float | None = TOKEN_TTL) -> dict[str, Any]:
        """Return a bearer token for a tenant (ttl None: never expires)."""
        with self.lock:
            self.tenant(tenant)
            now = self.now()
            # Every job asks for a token; those that ran out are of no more use.
            for gone in [k for k, t in self.tokens.items() if t.expires_at and t.expires_at <= now]:
                del self.tokens[gone]
            access = secrets.token_urlsafe(32)
            self.tokens[access] = Token(tenant, None if ttl is None else now + ttl)
            return {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": int(ttl if ttl is not None else 10 * 365 * 86400),
                "scope": SCOPE,
            }

    def client_credentials(self, tenant: str | None, client_id: str, secret: str) -> str:
        """Return the tenant whose API application these are; ValueError if none is."""
        with self.lock:
            for candidate in self.tenants.values():
                if (
                    (tenant is None or candidate.name == tenant)
                    and secrets.compare_digest(candidate.client_id.encode(), client_id.encode())
                    and secrets.compare_digest(candidate.client_secret.encode(), secret.encode())
                ):
                    return candidate.name
        raise ValueError("the client id or secret is wrong for this tenant")

    def tenant_of(self, access_token: str) -> str | None:
        """Return the tenant an access token is good for, or None if it is not good."""
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None:
                return None
            if token.expires_at is not None and token.expires_at <= self.now():
                return None
            return token.tenant

    def expire_tokens(self) -> int:
        """Expire every access token now; return how many there were."""
        with self.lock:
            now = self.now()
            for token in self.tokens.values():
                token.expires_at = now
            return len(self.tokens)

    # -- writes ---------------------------------------------------------------

    def save(self, tenant_name: str, table: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record, or update the one named by `id` (fields given replace ours)."""
        if not isinstance(body, dict):
            raise bad_request("each item of the body must be an object")
        with self.lock:
            tenant = self.tenant(tenant_name)
            existing = tenant.find(table, body.get("id")) if body.get("id") else None
            if body.get("id") and existing is None:
                raise not_found(EVENT_NAMES.get(table, table), body["id"])
            values = {k: date_field(k, v) for k, v in body.items() if k in WRITABLE[table]}
            record = dict(existing or {})
            record.update(values)
            if existing is None:
                record["id"] = tenant.next_id(table)
                if table in CREATED:
                    record[CREATED[table]] = timestamp(self.clock())
            PREPARE[table](self.clock(), tenant, record, body)
            tenant.put(table, record)
            self._stamp(tenant, table, record)
            if table == PAYMENT:
                self._settle(tenant, record["invoice_id"])
                return dict(record)
            self._tell(tenant, table, record["id"], "Updated" if existing else "Created")
            if table == CLIENT and existing and existing["name"] != record["name"]:
                # Halo joins the name in when it reads; the sandbox copies it.
                for other in (USER, CONTRACT, INVOICE, PAYMENT):
                    for row in tenant.tables[other].values():
                        if row.get("client_id") == record["id"]:
                            row["client_name"] = record["name"]
            if table == INVOICE:
                # A credit note moves the invoice it credits (and the one it used to).
                for credited in {(existing or {}).get(LINK), record.get(LINK)} - {None}:
                    self._settle(tenant, credited)
            return self.render(tenant_name, table, record["id"])

    def delete(self, tenant_name: str, table: str, id: Any) -> None:
        """Delete a record as Halo does: it is gone, and webhooks hear of it."""
        with self.lock:
            tenant = self.tenant(tenant_name)
            record = tenant.get(table, id)
            CHECK_DELETE[table](tenant, record)
            tenant.remove(table, record["id"])
            if table == PAYMENT:
                self._settle(tenant, record["invoice_id"])
                return
            if table == INVOICE:
                tenant.lines.pop(record["id"], None)
                if record.get(LINK):
                    self._settle(tenant, record[LINK])
            if table == CLIENT:
                # A client's users go with it.
                for user in [
                    u for u in tenant.tables[USER].values() if u["client_id"] == record["id"]
                ]:
                    del tenant.tables[USER][user["id"]]
                    self._tell(tenant, USER, user["id"], "Deleted")
            self._tell(tenant, table, record["id"], "Deleted")

    def void(self, tenant_name: str, id: Any) -> dict[str, Any]:
        """Void an invoice: it stays, marked voided, and owes nothing."""
        with self.lock:
            tenant = self.tenant(tenant_name)
            invoice = tenant.get(INVOICE, id)
            if payments_of(tenant, invoice["id"]):
                raise bad_request("An invoice with payments cannot be voided; remove them first")
            invoice["voided"] = True
            settle_invoice(tenant, invoice)
            self._stamp(tenant, INVOICE, invoice)
            self._tell(tenant, INVOICE, invoice["id"], "Updated")
            return self.render(tenant_name, INVOICE, invoice["id"])

    def save_webhook(self, tenant_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or update an outbound webhook; return it with its secrets hidden."""
        if not isinstance(body, dict):
            raise bad_request("each item of the body must be an object")
        with self.lock:
            tenant = self.tenant(tenant_name)
            id = str(body.get("id") or uuid.uuid4())
            webhook = tenant.webhooks.get(id, {"id": id, "active": True, "disabled": False})
            webhook.update({k: v for k, v in body.items() if k in WEBHOOK_WRITABLE})
            if not webhook.get("url"):
                raise bad_request("url is required")
            kind = webhook.setdefault("authentication_type", AUTH_NONE)
            if kind not in (AUTH_NONE, AUTH_BASIC, AUTH_HEADER):
                raise bad_request(f"authentication_type {kind!r} is not supported here")
            if kind == AUTH_HEADER and ":" not in str(webhook.get("authentication_header", "")):
                raise bad_request('authentication_header must be "Name: value"')
            if body.get("active"):
                webhook["disabled"] = False
            tenant.webhooks[id] = webhook
            return public_webhook(webhook)

    def delete_webhook(self, tenant_name: str, id: str) -> None:
        with self.lock:
            if self.tenant(tenant_name).webhooks.pop(id, None) is None:
                raise not_found("Webhook", id)

    def _stamp(self, tenant: Tenant, table: str, record: dict[str, Any]) -> None:
        if table not in STAMPS:
            return
        stamp = timestamp(self.clock())
        if stamp <= tenant.last_stamp:
            last = dt.datetime.fromisoformat(tenant.last_stamp).replace(tzinfo=dt.UTC)
            stamp = timestamp(last + dt.timedelta(milliseconds=1))
        tenant.last_stamp = record[STAMPS[table]] = stamp

    def _settle(self, tenant: Tenant, invoice_id: int) -> None:
        """Work out an invoice's amounts again after a payment or credit moved."""
        invoice = tenant.find(INVOICE, invoice_id)
        if invoice is None:
            return
        settle_invoice(tenant, invoice)
        self._stamp(tenant, INVOICE, invoice)
        self._tell(tenant, INVOICE, invoice["id"], "Updated")

    def _tell(self, tenant: Tenant, table: str, id: int, action: str) -> None:
        event = Event(tenant.name, EVENT_NAMES[table], id, action, self.clock())
        for listener in self.listeners:
            listener(event)

    # -- reads ----------------------------------------------------------------

    def render(
        self, tenant_name: str, table: str, id: Any, *, lines: bool = True, payments: bool = True
    ) -> dict[str, Any]:
        """Return one record as GET /api/<table>/<id> serves it."""
        with self.lock:
            tenant = self.tenant(tenant_name)
            record = dict(tenant.get(table, id))
            if table == INVOICE:
                if lines:
                    record["lines"] = [dict(line) for line in tenant.lines.get(record["id"], [])]
                if payments:
                    record["payments"] = [dict(p) for p in payments_of(tenant, record["id"])]
            return record

    def select(
        self,
        tenant_name: str,
        table: str,
        test: Callable[[dict[str, Any]], bool],
        *,
        order: str = "id",
        descending: bool = False,
        lines: bool = False,
        window: slice = slice(None),
    ) -> tuple[int, list[dict[str, Any]]]:
        """Return how many records pass `test`, and those in `window` as a list GET serves them.

        Only the window is copied and given its lines: a page of a large table costs a page.
        """
        with self.lock:
            tenant = self.tenant(tenant_name)
            rows: list[dict[str, Any]] = list(filter(test, tenant.tables[table].values()))
            if order != "id" or descending:
                rows.sort(key=lambda r: _sort_key(r.get(order)), reverse=descending)
            result = []
            for row in rows[window]:
                row = dict(row)
                if table == INVOICE and lines:
                    row["lines"] = [dict(line) for line in tenant.lines.get(row["id"], [])]
                result.append(row)
            return len(rows), result


def public_webhook(webhook: dict[str, Any]) -> dict[str, Any]:
    """Return a webhook as the API shows it: its secrets are never read back."""
    shown = dict(webhook)
    if shown.get("basic_password"):
        shown["basic_password"] = ""
    if shown.get("authentication_header"):
        shown["authentication_header"] = shown["authentication_header"].split(":", 1)[0] + ": "
    return shown


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


__all__ = ["ApiError", "Event", "Store", "Tenant"]
