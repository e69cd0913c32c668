"""The SuperOps connector: clients, billing contacts and invoices in; payments out.

Two GraphQL lists are read, clients then invoices, over one cursor stream,
"superops": whole at first, in pages (listInfo page/pageSize, until hasMore
is false) sorted by id, with a checkpoint after each page; afterwards only
what changed, by a condition on `updatedTime` from where the last read began
less a minute of overlap. A deleted record simply disappears from the lists,
so the ids still listed are compared with those given to arbridge and the
missing ones are deletes, which the engine leaves for a person to archive.

SuperOps has no idempotency key: a payment written back carries a reference
derived from the command's key, and every write looks for it first.
SuperOps invoices have no native PDF (seeds): arbridge renders its own. Its
webhooks are workflow actions on tickets and alerts, not invoices, so
everything is read on a schedule.

No SuperOps schema is in ../shared/specs: the endpoint, the two headers,
listInfo paging and the list queries follow SuperOps' API documentation;
the payment operations (recordInvoicePayment, deleteInvoicePayment), the
`billingContact` and `amountDue` fields, the page size of 100 and the 800
calls a minute are assumed until checked against a real account.

# Reference: https://developer.superops.com/msp/#section/Introduction
# Reference: https://developer.superops.com/msp/#section/Pagination
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from arbridge.connectors import base
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
    Op,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.ranges import from_ranges, to_ranges
from arbridge.connectors.ratelimit import Limits
from arbridge.connectors.superops import mapping, queries
from arbridge.connectors.superops.client import (
    EU_ENDPOINT,
    LIMITS,
    US_ENDPOINT,
    NotFound,
    SuperOpsClient,
)

HOURLY = Frequency.HOURLY
CAPABILITIES = Capabilities(
    category="psa",
    frequencies={
        Item.INVOICE_DETAILS: HOURLY,
        Item.INVOICE_LINES: HOURLY,
        Item.CUSTOMERS: HOURLY,
        Item.PAYMENTS: HOURLY,
        Item.DEPOSITS: Frequency.NONE,
        Item.ARCHIVE_INVOICES: HOURLY,
        Item.ARCHIVE_CUSTOMERS: HOURLY,
        Item.DELETE_PAYMENTS: Frequency.REAL_TIME,
        Item.PDF_INVOICES: Frequency.NONE,
    },
    native_pdf=False,
    deposits=False,
    archive_on_source_delete=False,
    contact_scope=ContactScope.BILLING,
    fetch=True,
    check=True,
)
OVERLAP = dt.timedelta(minutes=1)
REFERENCE_PREFIX = "arbridge:"
STREAM = "superops"


@dataclass(frozen=True)
class VendorList:
    """One SuperOps list: its query, its ids-only query, and where its rows are."""

    document: str
    ids_document: str
    field: str
    key: str
    id_field: str


LISTS = {
    "clients": VendorList(
        queries.CLIENTS, queries.CLIENT_IDS, "getClientList", "clients", "accountId"
    ),
    "invoices": VendorList(
        queries.INVOICES, queries.INVOICE_IDS, "getInvoiceList", "invoices", "invoiceId"
    ),
}


class Preferences(base.Preferences):
    """What a partner chooses for a SuperOps connection: nothing yet."""


class Credentials(base.Credentials):
    """An API token (Settings > API token in SuperOps) and the customer's subdomain."""

    account_field: ClassVar[str] = "subdomain"

    subdomain: str = Field(
        title="Subdomain",
        description="Your SuperOps address's first part: acme for acme.superops.ai.",
        min_length=1,
    )
    token: SecretStr = Field(title="API token", min_length=1)
    region: Literal["us", "eu"] = Field(
        "us", title="Data centre", json_schema_extra={"labels": ["US", "EU"]}
    )

    @field_validator("subdomain")
    @classmethod
    def _bare(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("https://").split(".")[0]
        if not value.replace("-", "").isalnum():
            raise ValueError("Only the subdomain: letters, digits and hyphens.")
        return value

    def stored(self) -> dict[str, Any]:
        return {
            "subdomain": self.subdomain,
            "token": self.token.get_secret_value(),
            "region": self.region,
        }


class SuperOps:
    kind: ClassVar[str] = "superops"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    Preferences: ClassVar[type[Preferences]] = Preferences
    display_name: ClassVar[str] = "SuperOps"
    auth: ClassVar[type[Credentials]] = Credentials
    api_base: ClassVar[str] = US_ENDPOINT
    limits: ClassVar[Limits] = LIMITS
    page_size = 100  # the largest page SuperOps serves

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.preferences = Preferences.model_validate(config.preferences)
        credentials = config.credentials
        subdomain = config.remote_account or credentials.get("subdomain", "")
        # The host hands in the US endpoint unless ARBRIDGE_SUPEROPS_API_BASE says otherwise.
        endpoint = config.base_url.rstrip("/") or US_ENDPOINT
        if credentials.get("region") == "eu" and endpoint == US_ENDPOINT:
            endpoint = EU_ENDPOINT
        self.client = SuperOpsClient(
            http, endpoint, credentials.get("token", ""), subdomain,
            limiter=runtime.limiter(LIMITS), sleep=runtime.sleep,
        )  # fmt: skip
        self.clock = runtime.clock

    def check(self) -> Checked:
        """Read one client: the token and the subdomain are good if SuperOps answers."""
        next(self.client.pages(queries.CLIENT_IDS, "getClientList", "clients", page_size=1))
        return Checked()

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        if cursor is not None and cursor.stream != STREAM:
            raise PermanentError(f"SuperOps has no stream {cursor.stream!r}")
        places = dict(cursor.value) if cursor is not None else {}
        for name in ("clients", "invoices"):
            place = places.get(name) or {"page": 1}
            for item in self._read_list(name, place):
                if isinstance(item, dict):
                    places[name] = item
                    yield Cursor(STREAM, dict(places))
                else:
                    yield item

    def _read_list(self, name: str, place: Mapping[str, Any]) -> Iterator[Any]:
        ids = from_ranges(place.get("ids", []))
        since = place.get("since")
        started = place.get("started")
        start = 1 if since else place["page"]
        condition = (
            {"attribute": "updatedTime", "operator": "greaterThan", "value": since}
            if since
            else None
        )
        for number, rows in self._pages(name, start, condition):
            started = started or self._high_water()
            for raw in rows:
                for item in self._read(name, raw):
                    if isinstance(item, Change) and item.entity in ("customer", "invoice"):
                        remote_id = int(item.remote_id)
                        ids.add(remote_id)
                    if since or not (isinstance(item, Change) and item.op == Op.DELETE):
                        yield item
            if not since:
                yield {"page": number + 1, "started": started, "ids": to_ranges(ids)}
        started = started or self._high_water()
        if since:
            present = self._present(name)
            for remote_id in sorted(ids - present):
                yield from self._deleted(name, str(remote_id))
            ids &= present
        yield {"since": started, "ids": to_ranges(ids)}

    def _pages(self, name: str, start: int, condition: dict | None):
        vendor = LISTS[name]
        return self.client.pages(
            vendor.document, vendor.field, vendor.key, page=start, page_size=self.page_size,
            condition=condition, sort=vendor.id_field,
        )  # fmt: skip

    def _present(self, name: str) -> set[int]:
        """Return the id of every record a list still holds, read with nothing but ids."""
        vendor = LISTS[name]
        pages = self.client.pages(
            vendor.ids_document, vendor.field, vendor.key, page_size=self.page_size
        )
        return {int(row[vendor.id_field]) for _, rows in pages for row in rows}

    def _read(self, name: str, raw: Any) -> list[Change | Rejected]:
        return mapping.customer_changes(raw) if name == "clients" else [mapping.invoice_change(raw)]

    @staticmethod
    def _deleted(name: str, remote_id: str) -> list[Change]:
        if name == "clients":
            return [
                Change("customer", remote_id, Op.DELETE),
                Change("contact", remote_id, Op.DELETE),
            ]
        return [Change("invoice", remote_id, Op.DELETE)]

    def _high_water(self) -> str:
        return (self.clock() - OVERLAP).astimezone(dt.UTC).isoformat()

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read records by id; one that is gone is a delete."""
        if entity not in ("customer", "contact", "invoice"):
            raise PermanentError(f"SuperOps does not sync {entity!r} records")
        for remote_id in ids:
            if not str(remote_id).isdigit():
                yield Rejected(entity, str(remote_id), "not a SuperOps id")
                continue
            try:
                if entity == "invoice":
                    raw = self.client.query(
                        queries.INVOICE, {"input": {"invoiceId": str(remote_id)}}
                    )["getInvoice"]
                    yield mapping.invoice_change(raw)
                else:
                    raw = self.client.query(
                        queries.CLIENT, {"input": {"accountId": str(remote_id)}}
                    )["getClient"]
                    wanted = [c for c in mapping.customer_changes(raw) if c.entity == entity]
                    yield from wanted
            except NotFound:
                yield from (
                    c for c in self._deleted("clients" if entity != "invoice" else "invoices",
                                             str(remote_id))
                    if c.entity == entity
                )  # fmt: skip

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        if command.action == "create_payment":
            return self._create_payment(command)
        if command.action == "delete_payment":
            return self._delete_payment(command)
        raise PermanentError(f"SuperOps cannot {command.action}")

    def _create_payment(self, command: Command) -> RemoteRef:
        """Record a payment on each invoice it pays, once, whatever the retries."""
        payload = command.payload
        reference = payment_reference(command.idempotency_key)
        written = []
        for allocation in payload["allocations"]:
            invoice_id = str(allocation["invoice_remote_id"])
            if Decimal(str(allocation["amount"])) <= 0:
                continue
            existing = self._find_payment(invoice_id, reference)
            if existing is None:
                # Reference: https://developer.superops.com/msp/#tag/Invoice
                data = self.client.query(
                    queries.RECORD_PAYMENT,
                    {"input": mapping.payment_input(
                        invoice_id, allocation["amount"], payload["date"], reference)},
                    write=True,
                )  # fmt: skip
                existing = str(data["recordInvoicePayment"]["paymentId"])
            written.append(existing)
        if not written:
            raise PermanentError("the payment applies nothing to any invoice")
        return RemoteRef(",".join(written))

    def _find_payment(self, invoice_id: str, reference: str) -> str | None:
        """Return the id of the payment arbridge recorded with this reference, if any."""
        try:
            data = self.client.query(queries.PAYMENTS, {"input": {"invoiceId": invoice_id}})
        except NotFound:
            raise PermanentError(f"SuperOps has no invoice {invoice_id}") from None
        for row in (data.get("getInvoice") or {}).get("payments") or []:
            if row.get("reference") == reference:
                return str(row["paymentId"])
        return None

    def _delete_payment(self, command: Command) -> RemoteRef:
        """Delete each payment arbridge recorded; one already gone counts as deleted."""
        remote_id = str(command.payload["remote_id"])
        for payment_id in filter(None, remote_id.split(",")):
            with suppress(NotFound):
                self.client.query(
                    queries.DELETE_PAYMENT, {"input": {"paymentId": payment_id}}, write=True
                )
        return RemoteRef(remote_id)


def payment_reference(idempotency_key: str) -> str:
    """Return the reference a payment carries in SuperOps, short whatever the key."""
    if len(idempotency_key) <= 40:
        return f"{REFERENCE_PREFIX}{idempotency_key}"
    return f"{REFERENCE_PREFIX}{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"
