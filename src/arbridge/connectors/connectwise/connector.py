"""The ConnectWise PSA connector: companies, billing contacts and invoices in; payments out.

Three lists are read, in order: companies, billing contacts, invoices, over
one cursor stream, "connectwise", as connectors/incremental.py reads them:
whole at first (orderBy id, 1,000 a page, a checkpoint after each);
afterwards only `conditions=lastUpdated > [T]`, where T is the server's time
when the read began, less a minute of overlap. ConnectWise flags a deleted
company (`deletedFlag`) but simply removes an invoice or contact, so the ids
it no longer lists are yielded as deletes, which a person archives
(`archive_on_source_delete` is False).

An invoice's lines are the products billed on it (/procurement/products,
each naming its `invoice`). They are read in bulk, never one request per
invoice: before a whole read of invoices, every product of an invoice above
the last id read (`invoice/id > N`, 1,000 a page); with each page of changed
invoices, the products of that page's invoices (`invoice/id in (...)`).
Time entries and expenses billed on an invoice are not read as lines.

Payments are written with POST /finance/invoices/{id}/payments. ConnectWise
has no idempotency key, so each carries a reference derived from the
command's key in `source`, and a retry looks for it before writing again.
Callbacks (/system/callbacks) bring changes in real time; the scheduled pull
is the fallback for any callback lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, field_validator

from arbridge.connectors import base, incremental
from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Capabilities,
    Change,
    Checked,
    Command,
    Config,
    ContactScope,
    Cursor,
    Delivery,
    Frequency,
    Hint,
    InvoicePayment,
    InvoiceSummary,
    Item,
    MalformedRecord,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
    WebhookRequest,
)
from arbridge.connectors.connectwise import callbacks, invoices, mapping
from arbridge.connectors.connectwise.client import LIMITS, ConnectWiseClient, NotFound, loads
from arbridge.connectors.connectwise.invoices import REFERENCE_PREFIX
from arbridge.connectors.ratelimit import Limits

RT = Frequency.REAL_TIME
CAPABILITIES = Capabilities(
    category="psa",
    frequencies={
        Item.INVOICE_DETAILS: RT,
        Item.INVOICE_LINES: RT,  # the products billed on it (module docstring)
        Item.CUSTOMERS: RT,
        Item.PAYMENTS: RT,
        Item.DEPOSITS: Frequency.NONE,
        Item.ARCHIVE_INVOICES: RT,
        Item.ARCHIVE_CUSTOMERS: RT,
        Item.DELETE_PAYMENTS: RT,
        Item.PDF_INVOICES: RT,
    },
    native_pdf=True,
    deposits=False,
    archive_on_source_delete=False,
    contact_scope=ContactScope.BILLING,
    fetch=True,
    pdf=True,
    check=True,
    webhooks="connection",
    subscribe=True,
    invoices=True,
    invoices_out=True,
)
OVERLAP = dt.timedelta(minutes=1)
STREAM = "connectwise"
# The callback types registered, one callback each, for every record of the company
# ("owner" level; objectId is then ignored). Reference: ../shared/specs/connectwise CallbackEntry
CALLBACK_TYPES = ("company", "contact", "invoice")
# What a line needs of a product, so 100,000 of them stay small.
# Reference: ProductItem (Jetbuilt/connect_wise docs/ProductItem.md)
PRODUCT_FIELDS = "id,invoice,catalogItem,description,quantity,price,extPrice"


class Credentials(base.Credentials):
    """An API member's keys (System > Members > API Members) and arbridge's client id."""

    account_field: ClassVar[str] = "company"

    base_url: str = Field(
        title="Site URL",
        description="na.myconnectwise.net for the cloud, or your own server's address.",
    )
    company: str = Field(
        title="Company ID", description="The company you sign in with.", min_length=1
    )
    public_key: str = Field(title="Public key", min_length=1)
    private_key: SecretStr = Field(title="Private key", min_length=1)
    client_id: str = Field(
        title="Client ID", description="From developer.connectwise.com, Client ID.", min_length=1
    )

    @field_validator("base_url")
    @classmethod
    def _address(cls, value: str) -> str:
        return base.https_url(value)


class Preferences(base.Preferences):
    """What a partner chooses for a ConnectWise connection."""

    # Register callbacks for real time; off, changes arrive only with the scheduled pull.
    callbacks: bool = Field(
        True,
        title="Real-time callbacks",
        description="Have ConnectWise call arbridge back on changes; off, changes arrive "
        "with the scheduled pull only.",
    )


@dataclass(frozen=True)
class Stream:
    """One ConnectWise list read into one kind of record; `name` keys its place in the cursor."""

    name: str
    entity: str
    path: str
    read: Callable[[dict[str, Any]], Change | Rejected]
    # Conditions every read of it adds: only billing contacts are ever asked for.
    conditions: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def where(self, since: str | None = None) -> dict[str, str]:
        """Return the query of a read of this list, changed since `since` if given."""
        clauses = [c for c in (self.conditions, since and f"lastUpdated > [{since}]") if c]
        return {"conditions": " and ".join(clauses)} if clauses else {}


STREAMS = (
    Stream("companies", "customer", "company/companies", mapping.customer_change),
    Stream("contacts", "contact", "company/contacts", mapping.contact_change,
           "defaultBillingFlag = true"),
    Stream("invoices", "invoice", "finance/invoices", mapping.invoice_change),
)  # fmt: skip
BY_ENTITY = {stream.entity: stream for stream in STREAMS}
BY_NAME = {stream.name: stream for stream in STREAMS}


class ConnectWise:
    kind: ClassVar[str] = "connectwise"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    Preferences: ClassVar[type[Preferences]] = Preferences
    display_name: ClassVar[str] = "ConnectWise PSA"
    auth: ClassVar[type[Credentials]] = Credentials
    api_base: ClassVar[str] = ""  # every site has its own address
    limits: ClassVar[Limits] = LIMITS
    page_size = 1000

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.preferences = Preferences.model_validate(config.preferences)
        credentials = config.credentials
        self.site_url = config.base_url.rstrip("/")
        self.client = ConnectWiseClient(
            http,
            self.site_url,
            company=config.remote_account or credentials.get("company", ""),
            public_key=credentials.get("public_key", ""),
            private_key=credentials.get("private_key", ""),
            client_id=credentials.get("client_id", ""),
            limiter=runtime.limiter(LIMITS),
            sleep=runtime.sleep,
        )
        self.http = http
        self._signing_keys: dict[str, str] = {}

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        if cursor is not None and cursor.stream != STREAM:
            raise PermanentError(f"ConnectWise has no stream {cursor.stream!r}")
        yield from incremental.pull(
            STREAM, cursor, list(BY_NAME), self._open_list,
            page_size=self.page_size, high_water=self._high_water,
        )  # fmt: skip

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read again the records a callback named; one that is gone is a delete."""
        stream = BY_ENTITY.get(entity)
        if stream is None:
            raise PermanentError(f"ConnectWise does not sync {entity!r} records")
        for remote_id in ids:
            if not str(remote_id).isdigit():
                yield Rejected(entity, str(remote_id), "not a ConnectWise record id")
                continue
            try:
                raw = self.client.get(f"{stream.path}/{int(remote_id)}")
            except NotFound:
                yield mapping.deleted(entity, remote_id)
                continue
            products = self._products(stream, f"invoice/id = {int(remote_id)}")
            yield _read(stream, raw, products)

    def pdf(self, invoice_remote_id: str) -> bytes:
        """Return ConnectWise's own PDF of an invoice."""
        # Reference: ../shared/specs/connectwise x-path-inventory, GET /finance/invoices/{id}/pdf
        response = self.client.send("GET", f"finance/invoices/{int(invoice_remote_id)}/pdf")
        if not response.content.startswith(b"%PDF"):
            raise MalformedRecord(f"ConnectWise's PDF of invoice {invoice_remote_id} is not a PDF")
        return response.content

    def push(self, command: Command) -> RemoteRef:
        if command.action == "create_payment":
            return self._create_payment(command)
        if command.action == "delete_payment":
            return self._delete_payment(command)
        raise PermanentError(f"ConnectWise cannot {command.action}")

    # -- invoices as ConnectWise has them now -----------------------------------

    def invoice(self, remote_id: str) -> InvoiceSummary | None:
        return invoices.invoice(self.client, remote_id) if str(remote_id).isdigit() else None

    def invoice_by_number(self, number: str) -> InvoiceSummary | None:
        return invoices.invoice_by_number(self.client, number)

    def invoice_payments(self, remote_id: str) -> list[InvoicePayment]:
        return invoices.payments(self.client, remote_id)

    def is_closed(self, invoice: InvoiceSummary) -> bool:
        """Return True if the invoice is closed: billed, no longer to change."""
        return invoice.status == invoices.CLOSED

    def closed_invoices(self) -> Iterator[InvoiceSummary]:
        """Yield the closed invoices, oldest first: what the Sync Tool may copy elsewhere."""
        return invoices.closed_invoices(self.client)

    # -- callbacks ------------------------------------------------------------

    def check(self) -> Checked:
        """Read one company: the cheapest call the API member's keys must pass."""
        # Reference: ../shared/specs/connectwise, GET /company/companies
        next(self.client.records("company/companies", page_size=1), None)
        return Checked()

    def subscribe(self, url: str) -> list[str]:
        """Have ConnectWise call `url` back on changes (when the preferences ask it)."""
        return self.register_callbacks(url)

    def receive(self, request: WebhookRequest) -> Delivery:
        """Accept a callback signed with this connection's site's key."""
        if not self.verify_callback(request.headers, request.body):
            return Delivery(
                accepted=False, reason="This callback is not signed by its ConnectWise."
            )
        return Delivery(
            accepted=True,
            hints=tuple(self.hints(request.body)),
            kept_headers=("content-type", callbacks.SIGNATURE_HEADER),
        )

    def hints(self, body: bytes) -> list[Hint]:
        # A callback has no id of its own: the same body again is the same delivery.
        return [Hint(h.entity, h.remote_id) for h in callbacks.parse_callback(body)]

    def register_callbacks(self, url: str, description: str = "arbridge") -> list[str]:
        """Register a callback to `url` for each synced type, once; return their ids."""
        # Reference: ../shared/specs/connectwise CallbackEntry, POST /system/callbacks
        if not self.preferences.callbacks:
            return []
        registered = {
            (str(row.get("type", "")).lower(), row.get("url")): str(row["id"])
            for _, rows in self.client.records("system/callbacks")
            for row in rows
        }
        ids = []
        for type_ in CALLBACK_TYPES:
            existing = registered.get((type_, url))
            if existing is None:
                body = {"url": url, "objectId": 1, "type": type_, "level": "owner",
                        "description": description}  # fmt: skip
                existing = str(self.client.post("system/callbacks", body)["id"])
            ids.append(existing)
        return ids

    def unregister_callbacks(self, url: str) -> None:
        """Remove every callback to `url`."""
        for _, rows in self.client.records("system/callbacks"):
            for row in rows:
                if row.get("url") == url:
                    with suppress(NotFound):
                        self.client.delete(f"system/callbacks/{int(row['id'])}")

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Return True if a delivery was signed by this connection's ConnectWise."""
        url = callbacks.key_url(body)
        if url is None or not callbacks.is_on_site(url, self.site_url):
            return False
        if url not in self._signing_keys:
            try:
                response = self.http.get(url, headers=self.client.headers)
                key = loads(response.content).get("signing_key") if response.is_success else None
            except (httpx.HTTPError, MalformedRecord, AttributeError):
                key = None
            if not isinstance(key, str) or not key:
                return False
            self._signing_keys[url] = key
        return callbacks.is_signed_with(self._signing_keys[url], headers, body)

    # -- reading --------------------------------------------------------------

    def _open_list(
        self, name: str, place: Mapping[str, Any], ids: set[int]
    ) -> incremental.VendorList:
        """Return the calls that read one list; a whole read of invoices reads lines first."""
        stream = BY_NAME[name]
        started = None
        if "since" in place:
            read = partial(self._read_page, stream)
        else:
            # The pages still to read hold the records above the last id read (orderBy id).
            products = self._products(stream, f"invoice/id > {max(ids, default=0)}")
            read = partial(_read_rows, stream, products=products)
            if stream.entity == "invoice":
                started = self._high_water()  # no later than the lines were read
        return incremental.VendorList(
            pages=partial(self._pages, stream),
            read=read,
            present=lambda: self.client.ids(stream.path, **stream.where()),
            deleted=partial(mapping.deleted, stream.entity),
            started=started,
        )

    def _pages(
        self, stream: Stream, start: int, page_size: int, since: str | None
    ) -> Iterator[tuple[int, list[Any]]]:
        """Yield a list's pages by id from page `start`, changed since `since` if given."""
        return self.client.records(stream.path, page_size=page_size, start=start,
                                   orderBy="id asc", **stream.where(since))  # fmt: skip

    def _read_page(self, stream: Stream, rows: list[Any]) -> Iterator[Change | Rejected]:
        """Read a page of changed records, with the products of its invoices."""
        page_ids = ",".join(str(raw["id"]) for raw in rows if isinstance(raw, dict) and
                            isinstance(raw.get("id"), int))  # fmt: skip
        products = self._products(stream, f"invoice/id in ({page_ids})") if page_ids else {}
        yield from _read_rows(stream, rows, products)

    def _products(self, stream: Stream, condition: str) -> dict[int, list[dict[str, Any]]]:
        """Return the products billed on the invoices a condition names, by invoice id.

        Nothing is asked for a list other than invoices.
        """
        found: dict[int, list[dict[str, Any]]] = {}
        if stream.entity != "invoice":
            return found
        # Reference: ProductItem.invoice (Jetbuilt/connect_wise docs/ProductItem.md);
        # GET /procurement/products with conditions, as ConnectWise's ProductsApi has it.
        pages = self.client.records("procurement/products", orderBy="id asc",
                                    conditions=condition, fields=PRODUCT_FIELDS)  # fmt: skip
        for _, rows in pages:
            for row in rows:
                invoice_id = (row.get("invoice") or {}).get("id") if isinstance(row, dict) else None
                if isinstance(invoice_id, int):
                    found.setdefault(invoice_id, []).append(row)
        return found

    def _high_water(self) -> str:
        """Return where the next incremental read starts: the server's time less the overlap."""
        moment = self.client.last_server_time or dt.datetime.now(dt.UTC)
        return (moment - OVERLAP).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- writing --------------------------------------------------------------

    def _create_payment(self, command: Command) -> RemoteRef:
        """Apply a payment to each invoice it pays, once, whatever the retries."""
        payload = command.payload
        reference = payment_reference(command.idempotency_key)
        written = []
        for allocation in payload["allocations"]:
            invoice_id = int(allocation["invoice_remote_id"])
            if Decimal(str(allocation["amount"])) <= 0:
                continue
            existing = self._find_payment(invoice_id, reference)
            if existing is None:
                # Reference: ../shared/specs/connectwise InvoicePayment,
                # POST /finance/invoices/{parentId}/payments
                body = mapping.payment_body(allocation["amount"], payload["date"], reference)
                existing = str(self.client.post(f"finance/invoices/{invoice_id}/payments",
                                                body)["id"])  # fmt: skip
            written.append(f"{invoice_id}/{existing}")
        if not written:
            raise PermanentError("the payment applies nothing to any invoice")
        return RemoteRef(",".join(written))

    def _find_payment(self, invoice_id: int, reference: str) -> str | None:
        """Return the id of the payment arbridge wrote with this reference, if there is one."""
        try:
            # Reference: ../shared/specs/connectwise, GET /finance/invoices/{parentId}/payments
            for _, rows in self.client.records(f"finance/invoices/{invoice_id}/payments"):
                for row in rows:
                    if row.get("source") == reference:
                        return str(row["id"])
        except NotFound:
            raise PermanentError(f"ConnectWise has no invoice {invoice_id}") from None
        return None

    def _delete_payment(self, command: Command) -> RemoteRef:
        """Remove each payment arbridge wrote; one already gone counts as removed."""
        remote_id = str(command.payload["remote_id"])
        for pair in filter(None, remote_id.split(",")):
            invoice_id, _, payment_id = pair.partition("/")
            if not (invoice_id.isdigit() and payment_id.isdigit()):
                raise PermanentError(f"{pair!r} is not a ConnectWise invoice payment")
            # Reference: ../shared/specs/connectwise x-path-inventory,
            # DELETE /finance/invoices/{parentId}/payments/{id}
            with suppress(NotFound):
                self.client.delete(f"finance/invoices/{invoice_id}/payments/{payment_id}")
        return RemoteRef(remote_id)


def _read_rows(
    stream: Stream, rows: list[Any], products: Mapping[int, list[dict[str, Any]]]
) -> Iterator[Change | Rejected]:
    """Read a page's rows, each invoice with the products billed on it."""
    for raw in rows:
        yield _read(stream, raw, products)


def _read(
    stream: Stream, raw: Any, products: Mapping[int, list[dict[str, Any]]] | None = None
) -> Change | Rejected:
    if not isinstance(raw, dict):
        return Rejected(stream.entity, "", "not a ConnectWise record", raw)
    if stream.entity == "invoice":
        return mapping.invoice_change(raw, (products or {}).get(raw.get("id"), ()))
    return stream.read(raw)


def payment_reference(idempotency_key: str) -> str:
    """Return the reference a payment carries in ConnectWise, short whatever the key."""
    if len(idempotency_key) <= 40:
        return f"{REFERENCE_PREFIX}{idempotency_key}"
    return f"{REFERENCE_PREFIX}{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"
