"""The Autotask connector: companies, contacts and invoices in; payment status out.

Autotask sends no invoice webhooks and its invoices carry no last-modified
stamp, so the connector runs two kinds of pass over one cursor stream,
"autotask":

    new records   hourly: each entity's records with an id above the highest
                  one read (ids count up), so a new invoice and its new
                  company arrive within the hour
    full read     when the last one began a day or more ago: every record of
                  each entity in id order, checkpointed after each page of
                  500; the ids Autotask no longer holds are yielded as deletes,
                  which the engine leaves for a person to archive

Capabilities say the invoices are hourly (new ones); their updates (paid,
voided, amounts) come with the daily full read, and so do company changes.

An invoice's lines are its BillingItems. They are read in bulk before the
invoices of a pass, never one query per invoice: every billing item of an
invoice above the last invoice id the pass has read (`invoiceID gt N`,
500 a page), so the requests are the fewest the lines need.

A payment written back sets the invoice's `paidDate` once arbridge's notes on
it cover the total, and notes each payment in `comments` (mapping.py), so a
retry finds its note and writes nothing twice.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from arbridge.connectors import base
from arbridge.connectors.autotask import mapping
from arbridge.connectors.autotask.client import (
    LIMITS,
    ZONE_HOST,
    AutotaskClient,
    Zone,
    discover_zone,
)
from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Capabilities,
    Change,
    Checked,
    Command,
    Config,
    ContactScope,
    Cursor,
    Frequency,
    Item,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.ranges import from_ranges, to_ranges
from arbridge.connectors.ratelimit import Limits

HOURLY, DAILY, RT = Frequency.HOURLY, Frequency.DAILY, Frequency.REAL_TIME
CAPABILITIES = Capabilities(
    category="psa",
    frequencies={
        Item.INVOICE_DETAILS: HOURLY,  # new invoices; updates daily (module docstring)
        Item.INVOICE_LINES: HOURLY,  # BillingItems, read with their invoices
        Item.CUSTOMERS: DAILY,
        Item.PAYMENTS: RT,  # written back as each payment succeeds
        Item.DEPOSITS: Frequency.NONE,
        Item.ARCHIVE_INVOICES: DAILY,
        Item.ARCHIVE_CUSTOMERS: DAILY,
        Item.DELETE_PAYMENTS: RT,
        Item.PDF_INVOICES: Frequency.NONE,
    },
    native_pdf=False,  # the spec has no invoice PDF route
    deposits=False,
    archive_on_source_delete=False,
    # Autotask has no billing-contact flag: every active contact syncs, the primary
    # contact marked as the billing one.
    contact_scope=ContactScope.ALL,
    check=True,
)
STREAM = "autotask"
ENTITIES = (("Companies", "customer"), ("Contacts", "contact"), ("Invoices", "invoice"))
READERS = {"customer": mapping.customer_change, "contact": mapping.contact_change}
FULL_READ_EVERY = dt.timedelta(days=1)
# What a line needs of a billing item, so that 100,000 of them stay small.
LINE_FIELDS = ("id", "invoiceID", "itemName", "description", "quantity", "rate", "extendedPrice")


class Preferences(base.Preferences):
    """What a partner chooses for an Autotask connection: nothing yet."""


class Credentials(base.Credentials):
    """An API-only user (Admin > Resources > API user) and its tracking identifier."""

    username: str = Field(
        title="API username", description="An API-only user's username.", min_length=1
    )
    secret: SecretStr = Field(title="Secret", min_length=1)
    integration_code: str = Field(title="Tracking identifier (integration code)", min_length=1)


def rate_limit_key(config: Config) -> str:
    """Return the limiter key of the connection's database, shared by every integration on it."""
    database = config.remote_account or str(config.credentials.get("database", ""))
    if not database:
        raise PermanentError("the Autotask database is not known yet: discover the zone first")
    return f"autotask:{database}"


class Autotask:
    kind: ClassVar[str] = "autotask"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    Preferences: ClassVar[type[Preferences]] = Preferences
    display_name: ClassVar[str] = "Autotask"
    auth: ClassVar[type[Credentials]] = Credentials
    # Where Autotask says which zone serves a user.
    api_base: ClassVar[str] = ZONE_HOST
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        credentials = config.credentials
        self.username = credentials.get("username", "")
        self.clock = runtime.clock
        limiter, sleep = runtime.limiter(LIMITS), runtime.sleep
        if credentials.get("zone_url") and (config.remote_account or credentials.get("database")):
            self.zone = Zone(credentials["zone_url"], rate_limit_key(config).split(":", 1)[1])
        else:
            # The integration stores the zone in the credentials, so this runs once.
            self.zone = discover_zone(http, self.username, config.base_url or ZONE_HOST)
        headers = {
            "ApiIntegrationCode": credentials.get("integration_code", ""),
            "UserName": self.username,
            "Secret": credentials.get("secret", ""),
        }
        self.client = AutotaskClient(
            http, self.zone.url, headers, limiter=limiter,
            limiter_key=f"autotask:{self.zone.database}", sleep=sleep,
        )  # fmt: skip

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        if cursor is not None and cursor.stream != STREAM:
            raise PermanentError(f"Autotask has no stream {cursor.stream!r}")
        state: dict[str, Any] = {"after": {}, "ids": {}, "full_at": None, "full": None}
        if cursor is not None:
            state.update(copy.deepcopy(dict(cursor.value)))  # never change the caller's
        if state["full"] is None:
            last = state["full_at"]
            if last is None or self.clock() - dt.datetime.fromisoformat(last) >= FULL_READ_EVERY:
                state["full"] = {"entity": 0, "after": 0, "seen": [],
                                 "started": self.clock().isoformat()}  # fmt: skip
            else:
                yield from self._read_new(state)
                return
        yield from self._read_all(state)

    def _read_new(self, state: dict[str, Any]) -> Iterator[Change | Rejected | Cursor]:
        """Read the records of each entity created since the highest id read."""
        for path, entity in ENTITIES:
            after = state["after"].get(entity, 0)
            known = from_ranges(state["ids"].get(entity, []))
            lines = self._lines(after) if entity == "invoice" else {}
            for page in self.client.query(path, [{"op": "gt", "field": "id", "value": after}]):
                for raw in page:
                    item = self._read(entity, raw, lines)
                    if isinstance(item, Change):
                        known.add(int(item.remote_id))
                    if item is not None:
                        yield item
                    after = max(after, record_id(raw))
                state["after"][entity] = after
                state["ids"][entity] = to_ranges(known)
                yield checkpoint(state)
        yield checkpoint(state)

    def _read_all(self, state: dict[str, Any]) -> Iterator[Change | Rejected | Cursor]:
        """Read every record, resuming where `state["full"]` says; then yield what is gone."""
        full = state["full"]
        for index in range(full["entity"], len(ENTITIES)):
            path, entity = ENTITIES[index]
            seen = from_ranges(full["seen"])
            filters = [{"op": "gt", "field": "id", "value": full["after"]}]
            lines = self._lines(full["after"]) if entity == "invoice" else {}
            for page in self.client.query(path, filters):
                for raw in page:
                    item = self._read(entity, raw, lines)
                    if isinstance(item, Change):
                        seen.add(int(item.remote_id))
                    if item is not None:
                        yield item
                    full["after"] = max(full["after"], record_id(raw))
                full["seen"] = to_ranges(seen)
                yield checkpoint(state)
            known = from_ranges(state["ids"].get(entity, []))
            for remote_id in sorted(known - seen):
                yield mapping.deleted(entity, remote_id)
            state["ids"][entity] = to_ranges(seen)
            state["after"][entity] = max(state["after"].get(entity, 0), full["after"])
            state["full"] = full = {**full, "entity": index + 1, "after": 0, "seen": []}
            yield checkpoint(state)
        state["full_at"], state["full"] = full["started"], None
        yield checkpoint(state)

    def _read(
        self, entity: str, raw: Any, lines: dict[int, list[dict[str, Any]]]
    ) -> Change | Rejected | None:
        """Return a record read, or None for an inactive contact, which does not sync."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            return Rejected(entity, "", "not an Autotask record", raw)
        if entity == "contact" and not raw.get("isActive", 1):
            # Not seen by a full read, so one arbridge holds is yielded as deleted.
            return None
        if entity == "invoice":
            return mapping.invoice_change(raw, lines.get(raw["id"], ()))
        return READERS[entity](raw)

    def _lines(self, after: int) -> dict[int, list[dict[str, Any]]]:
        """Return the billing items of every invoice with an id above `after`, by invoice id."""
        # Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/BillingItemsEntity.htm
        # (invoiceID), POST /V1.0/BillingItems/query as the spec's Invoices/query
        found: dict[int, list[dict[str, Any]]] = {}
        filters = [{"op": "gt", "field": "invoiceID", "value": after}]
        for page in self.client.query("BillingItems", filters, LINE_FIELDS):
            for row in page:
                if isinstance(row, dict) and isinstance(row.get("invoiceID"), int):
                    found.setdefault(row["invoiceID"], []).append(row)
        return found

    def check(self) -> Checked:
        """Query one company; keep the zone found, so it is asked once per connection."""
        # Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/API_Calls/REST_Basic_Query_Calls.htm
        next(self.client.query("Companies", [{"op": "gt", "field": "id", "value": 0}]), None)
        return Checked(
            credentials={"zone_url": self.zone.url, "database": self.zone.database},
            remote_account=self.zone.database,
        )

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        if command.action == "create_payment":
            return self._create_payment(command)
        if command.action == "delete_payment":
            return self._delete_payment(command)
        raise PermanentError(f"Autotask cannot {command.action}")

    def _create_payment(self, command: Command) -> RemoteRef:
        """Note the payment on each invoice it pays, and mark those it settles paid."""
        payload = command.payload
        reference = payment_reference(command.idempotency_key)
        written = []
        for allocation in payload["allocations"]:
            amount = Decimal(str(allocation["amount"]))
            if amount <= 0:
                continue
            invoice_id = int(allocation["invoice_remote_id"])
            invoice = self._invoice(invoice_id)
            noted = mapping.notes(invoice.get("comments"))
            if reference not in noted:
                note = mapping.payment_note(
                    reference, amount, payload.get("currency", "USD"), payload["date"]
                )
                comments = "\n".join(filter(None, [invoice.get("comments") or "", note]))
                fields: dict[str, Any] = {"id": invoice_id, "comments": comments}
                total = Decimal(str(invoice.get("invoiceTotal", 0)))
                if not invoice.get("paidDate") and sum(noted.values()) + amount >= total:
                    fields["paidDate"] = f"{payload['date']}T00:00:00Z"
                self.client.patch("Invoices", fields)
            written.append(f"{invoice_id}:{reference}")
        if not written:
            raise PermanentError("the payment applies nothing to any invoice")
        return RemoteRef(",".join(written))

    def _delete_payment(self, command: Command) -> RemoteRef:
        """Take each payment's note back; an invoice it had settled is unpaid again."""
        remote_id = str(command.payload["remote_id"])
        for written in filter(None, remote_id.split(",")):
            invoice_id, _, reference = written.partition(":")
            invoice = self.client.get("Invoices", int(invoice_id))
            noted = mapping.notes(invoice.get("comments") if invoice else "")
            if invoice is None or reference not in noted:
                continue  # already taken back, or the invoice is gone
            fields: dict[str, Any] = {
                "id": int(invoice_id),
                "comments": mapping.without_note(invoice.get("comments"), reference),
            }
            total = Decimal(str(invoice.get("invoiceTotal", 0)))
            paid = sum(noted.values())
            if invoice.get("paidDate") and paid >= total > paid - noted[reference]:
                fields["paidDate"] = None  # arbridge's payments settled it; now they do not
            self.client.patch("Invoices", fields)
        return RemoteRef(remote_id)

    def _invoice(self, invoice_id: int) -> dict[str, Any]:
        invoice = self.client.get("Invoices", invoice_id)
        if invoice is None:
            raise PermanentError(f"Autotask has no invoice {invoice_id}")
        if invoice.get("isVoided"):
            raise PermanentError(f"Autotask invoice {invoice_id} is voided")
        return invoice


def checkpoint(state: dict[str, Any]) -> Cursor:
    return Cursor(STREAM, {**state, "after": dict(state["after"]), "ids": dict(state["ids"]),
                           "full": dict(state["full"]) if state["full"] else None})  # fmt: skip


def record_id(raw: Any) -> int:
    """Return a record's id, or 0 for one that has none, so a bad row never stops a read."""
    return raw["id"] if isinstance(raw, dict) and isinstance(raw.get("id"), int) else 0


def payment_reference(idempotency_key: str) -> str:
    """Return the reference a payment's note carries, short and spaceless whatever the key."""
    if len(idempotency_key) <= 40 and " " not in idempotency_key:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
