"""The HaloPSA connector: clients, billing contacts and invoices in; payments out.

Three Halo lists are read, in order: clients, users, invoices, over one
cursor stream, "halopsa", as connectors/incremental.py reads them: whole at
first, in pages ordered by id with a checkpoint after each; afterwards only
what changed (`lastupdatefromdate`, from the server's clock less a minute of
overlap), and the ids Halo no longer lists are yielded as deletes, which the
engine leaves for a person to archive (`archive_on_source_delete` is False).

Halo has no idempotency key, so a payment written back carries a reference
derived from the command's key (`thirdpartyid`), and a retry looks for it
before writing again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

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
    Item,
    MalformedRecord,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
    WebhookRequest,
    parse_version,
)
from arbridge.connectors.halopsa import mapping, webhooks
from arbridge.connectors.halopsa.client import (
    LIMITS,
    ClientCredentials,
    HaloClient,
    NotFound,
    list_of,
)
from arbridge.connectors.ratelimit import Limits

RT, HOURLY = Frequency.REAL_TIME, Frequency.HOURLY
# seeds/halopsa.md: real time only from 2.122.1; below it the starred items are hourly.
CAPABILITIES = Capabilities(
    category="psa",
    frequencies={
        Item.INVOICE_DETAILS: RT,
        Item.INVOICE_LINES: RT,
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
    min_version_for_real_time="2.122.1",
    fallback_frequencies={
        Item.INVOICE_DETAILS: HOURLY,
        Item.INVOICE_LINES: HOURLY,
        Item.ARCHIVE_INVOICES: HOURLY,
        Item.PDF_INVOICES: HOURLY,
    },
)
# An incremental read starts this far before the last one began, so that a
# record written as the last read ran is never missed; re-reading is harmless.
OVERLAP = dt.timedelta(minutes=1)
REFERENCE_PREFIX = "arbridge:"


class Preferences(base.Preferences):
    """What a partner chooses for a HaloPSA connection."""

    # Names of the agreement types whose invoices sync; empty means all. An invoice's
    # subtype is its agreement's (InvoiceHeader.contract_id -> ContractHeader
    # .contracttype_name, set up in Configuration > Billing > Contract Types); the
    # spec's ContractHeader.subtype is an undocumented number no one could choose by.
    # Reference: https://usehalo.com/guide/contract-agreement-types/
    agreement_subtypes: list[str] = Field(
        [],
        title="Agreement types that sync",
        description="Names of HaloPSA agreement types (Configuration > Billing > Contract "
        "Types), separated by commas, e.g. Managed Services, Project. Only their invoices "
        "enter arbridge. Leave empty to sync every invoice.",
    )

    @field_validator("agreement_subtypes", mode="before")
    @classmethod
    def _one_name_once(cls, value: Any) -> Any:
        # One name typed twice, in any case, is one type: the connector compares casefolded.
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            return value
        unique: dict[str, str] = {}
        for name in value:
            if isinstance(name, str) and name.strip():
                unique.setdefault(name.strip().casefold(), name.strip())
        return list(unique.values())


class Credentials(base.Credentials):
    """What a HaloPSA admin sets up for arbridge: an API application, and the webhook's auth."""

    account_field: ClassVar[str] = "tenant"

    base_url: str = Field(
        title="HaloPSA URL", description="Your instance's address, e.g. https://acme.halopsa.com"
    )
    tenant: str = Field(
        "", title="Tenant", description="Only for hosted HaloPSA: the tenant name Halo gave you."
    )
    client_id: str = Field(title="Client ID", min_length=1)
    client_secret: SecretStr = Field(title="Client secret", min_length=1)
    webhook_auth: Literal["", "basic", "header"] = Field(
        "",
        title="Webhook authentication",
        description="As set up in HaloPSA, Configuration > Integrations > Webhooks. Every "
        "delivery is checked against it.",
        json_schema_extra={"labels": ["No webhook", "Basic", "Secret header"]},
    )
    webhook_username: str = Field("", title="Basic username")
    webhook_password: SecretStr = Field(SecretStr(""), title="Basic password")
    webhook_header: str = Field("", title="Header name")
    webhook_value: SecretStr = Field(SecretStr(""), title="Header value")

    @field_validator("base_url")
    @classmethod
    def _address(cls, value: str) -> str:
        return base.https_url(value)

    @model_validator(mode="after")
    def _webhook_secret(self) -> Credentials:
        if self.webhook_auth == "basic" and not (
            self.webhook_username and self.webhook_password.get_secret_value()
        ):
            raise base.FieldError("webhook_password", "Basic needs a username and a password.")
        if self.webhook_auth == "header" and not (
            self.webhook_header and self.webhook_value.get_secret_value()
        ):
            raise base.FieldError("webhook_value", "A secret header needs its name and value.")
        return self

    def stored(self) -> dict[str, Any]:
        stored = {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret.get_secret_value(),
        }
        if self.webhook_auth == "basic":
            stored["webhook_auth"] = {
                "kind": "basic",
                "username": self.webhook_username,
                "password": self.webhook_password.get_secret_value(),
            }
        elif self.webhook_auth == "header":
            stored["webhook_auth"] = {
                "kind": "header",
                "header": self.webhook_header,
                "value": self.webhook_value.get_secret_value(),
            }
        return stored


@dataclass(frozen=True)
class Stream:
    """One Halo list read into one kind of record; `name` keys its place in the cursor."""

    name: str
    entity: str
    path: str
    key: str  # what the list answers under
    read: Callable[[dict[str, Any]], Change | Rejected]
    params: dict[str, Any] = field(default_factory=dict)  # filters every read of it sends

    @property
    def with_details(self) -> dict[str, Any]:
        """Return the filters of a read of whole records: invoices come with their lines."""
        return {**self.params, "includelines": True} if self.entity == "invoice" else self.params


STREAM = "halopsa"
STREAMS = (
    Stream("clients", "customer", "Client", "clients", mapping.customer_change,
           {"includeinactive": True}),
    Stream("users", "contact", "Users", "users", mapping.contact_change,
           {"includeinactive": True}),
    Stream("invoices", "invoice", "Invoice", "invoices", mapping.invoice_change,
           {"includecredits": False}),
)  # fmt: skip
BY_ENTITY = {stream.entity: stream for stream in STREAMS}
BY_NAME = {stream.name: stream for stream in STREAMS}


class HaloPSA:
    kind: ClassVar[str] = "halopsa"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    Preferences: ClassVar[type[Preferences]] = Preferences
    display_name: ClassVar[str] = "HaloPSA"
    auth: ClassVar[type[Credentials]] = Credentials
    api_base: ClassVar[str] = ""  # every instance has its own address
    # What a limiter shared by this instance's connections should enforce.
    limits: ClassVar[Limits] = LIMITS
    # The spec sets no upper bound on page_size, and integrations in use read 1,000 a
    # page: ten times fewer of the 450 requests in 5 minutes than pages of 100.
    page_size = 1000

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.preferences = Preferences.model_validate(config.preferences)
        credentials = config.credentials
        self.credentials = credentials
        tenant = config.remote_account or credentials.get("tenant", "")
        base_url = config.base_url.rstrip("/")
        auth = ClientCredentials(
            http,
            credentials.get("token_url") or f"{base_url}/auth/token",
            credentials.get("client_id", ""),
            credentials.get("client_secret", ""),
            tenant,
        )
        self.client = HaloClient(
            http,
            base_url,
            auth,
            limiter=runtime.limiter(LIMITS),
            limiter_key=f"halopsa:{tenant or base_url}",
            sleep=runtime.sleep,
        )
        self.wanted_types = {name.casefold() for name in self.preferences.agreement_subtypes}
        self._agreement_types: dict[int, str] | None = None

    def detect_version(self) -> str:
        """Return the instance's version, which decides what syncs in real time."""
        # Reference: ../shared/specs/halopsa/halo-api-v2-swagger.full.json, GET /Instance
        body = self.client.get("Instance")
        instances = body if isinstance(body, list) else [body]
        found = [i for i in instances if isinstance(i, dict) and i.get("version")]
        ours = [i for i in found if i.get("isself")] or found
        if not ours:
            raise PermanentError("Halo did not say which version it runs")
        return str(ours[0]["version"])

    def check(self) -> Checked:
        """Ask the instance its version: it decides what syncs in real time."""
        return Checked(credentials={"version": self.detect_version()})

    def receive(self, request: WebhookRequest) -> Delivery:
        """Accept a delivery carrying the credentials configured for this connection."""
        if not webhooks.verify_webhook(request.headers, self.credentials):
            return Delivery(accepted=False, reason="These credentials are not the ones configured.")
        return Delivery(accepted=True, hints=tuple(self._hints(request.body)))

    def hints(self, body: bytes) -> list[Hint]:
        """Return a stored delivery's hints; an old Halo's invoices wait for the hourly pull."""
        hints = self._hints(body)
        version = self.credentials.get("version")
        minimum = CAPABILITIES.min_version_for_real_time
        if minimum and (not version or parse_version(version) < parse_version(minimum)):
            # seeds/halopsa.md: below 2.122.1 invoices come with the hourly pull only.
            hints = [hint for hint in hints if hint.entity != "invoice"]
        return hints

    def _hints(self, body: bytes) -> list[Hint]:
        return [
            Hint(entity=h.entity, remote_id=h.remote_id, event_id=h.event_id)
            for h in webhooks.parse_webhook(body)
        ]

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        if cursor is not None and cursor.stream != STREAM:
            raise PermanentError(f"HaloPSA has no stream {cursor.stream!r}")
        yield from incremental.pull(
            STREAM, cursor, list(BY_NAME), self._open_list,
            page_size=self.page_size, high_water=self._high_water,
        )  # fmt: skip

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read records a webhook named; one that is gone is a delete."""
        stream = BY_ENTITY.get(entity)
        if stream is None:
            raise PermanentError(f"HaloPSA does not sync {entity!r} records")
        for remote_id in ids:
            if not str(remote_id).isdigit():
                yield Rejected(entity, str(remote_id), "not a Halo record id")
                continue
            try:
                # A single invoice comes with its lines.
                raw = self.client.get(f"{stream.path}/{remote_id}")
            except NotFound:
                yield mapping.deleted(entity, remote_id)
                continue
            item = self._read(stream, raw)
            if item is not None:
                yield item

    def pdf(self, invoice_remote_id: str) -> bytes:
        """Return Halo's own PDF of an invoice."""
        # Reference: ../shared/specs/halopsa/halo-api-v2-subset.json, POST /Invoice/PDF/{id}
        response = self.client.send("POST", f"Invoice/PDF/{int(invoice_remote_id)}")
        if not response.content.startswith(b"%PDF"):
            raise MalformedRecord(f"Halo's PDF of invoice {invoice_remote_id} is not a PDF")
        return response.content

    def push(self, command: Command) -> RemoteRef:
        if command.action == "create_payment":
            return self._create_payment(command)
        if command.action == "delete_payment":
            return self._delete_payment(command)
        raise PermanentError(f"HaloPSA cannot {command.action}")

    # -- reading --------------------------------------------------------------

    def _open_list(
        self, name: str, place: Mapping[str, Any], ids: set[int]
    ) -> incremental.VendorList:
        """Return the calls that read one Halo list; every read of it is the same."""
        stream = BY_NAME[name]
        return incremental.VendorList(
            pages=partial(self._pages, stream),
            read=lambda rows: (self._read(stream, raw) for raw in rows),
            present=lambda: self.client.ids(stream.path, stream.key, **stream.params),
            deleted=partial(mapping.deleted, stream.entity),
        )

    def _pages(
        self, stream: Stream, start: int, page_size: int, since: str | None
    ) -> Iterator[tuple[int, list[Any]]]:
        """Yield a list's pages by id from page `start`, changed since `since` if given."""
        # The spec lists lastupdatefromdate on /Client and /Users but not on /Invoice.
        # An instance that ignores it answers every invoice: slower, never wrong.
        changed = {"lastupdatefromdate": halo_time(since)} if since else {}
        return self.client.records(
            stream.path, stream.key, page_size=page_size, start=start, order="id",
            **changed, **stream.with_details,
        )  # fmt: skip

    def _read(self, stream: Stream, raw: Any) -> Change | Rejected | None:
        """Return a record read, or None if it does not sync (a credit note, another subtype)."""
        if not isinstance(raw, dict):
            return Rejected(stream.entity, "", "not a Halo record", raw)
        if stream.entity != "invoice":
            return stream.read(raw)
        if not self._is_wanted(raw):
            return None
        read = stream.read(raw)
        contract_id = raw.get("contract_id")
        if isinstance(read, Change) and read.record is not None and contract_id:
            # Auto pay rules may choose invoices by it (autopay Rule.agreements).
            agreement = self._agreement_type(int(contract_id))
            read = dataclasses.replace(
                read, record=read.record.model_copy(update={"agreement": agreement})
            )
        return read

    def _is_wanted(self, invoice: dict[str, Any]) -> bool:
        if invoice.get("creditlinkedtoinvoiceid"):
            return False  # A credit note reaches arbridge as its invoice's amount remaining.
        if not self.wanted_types:
            return True
        contract_id = invoice.get("contract_id")
        if not contract_id:
            return False  # No agreement: of no listed subtype.
        return self._agreement_type(int(contract_id)).casefold() in self.wanted_types

    def _agreement_type(self, contract_id: int) -> str:
        """Return an agreement's type name; the list is read once, a newcomer on its own."""
        if self._agreement_types is None:
            self._agreement_types = {}
            # Reference: ../shared/specs/halopsa/halo-api-v2-swagger.full.json, GET /ClientContract
            for _, rows in self.client.records(
                "ClientContract", "contracts", page_size=self.page_size, includeinactive=True
            ):
                for row in rows:
                    self._agreement_types[int(row["id"])] = row.get("contracttype_name") or ""
        if contract_id not in self._agreement_types:
            try:
                row = self.client.get(f"ClientContract/{contract_id}")
            except NotFound:
                row = {}
            self._agreement_types[contract_id] = row.get("contracttype_name") or ""
        return self._agreement_types[contract_id]

    def _high_water(self) -> str:
        """Return where the next incremental read starts: the server's time less the overlap."""
        moment = self.client.last_server_time or dt.datetime.now(dt.UTC)
        return (moment - OVERLAP).astimezone(dt.UTC).isoformat()

    # -- writing --------------------------------------------------------------

    def _create_payment(self, command: Command) -> RemoteRef:
        """Apply a payment to each invoice it pays, once, whatever the retries."""
        payload = command.payload
        reference = payment_reference(command.idempotency_key)
        written = []
        for allocation in payload["allocations"]:
            invoice_id = str(allocation["invoice_remote_id"])
            if Decimal(str(allocation["amount"])) <= 0:
                continue
            existing = self._find_payment(invoice_id, reference)
            if existing is None:
                # Reference: ../shared/specs/halopsa/halo-api-v2-subset.json, POST /InvoicePayment
                body = mapping.payment_body(
                    invoice_id, allocation["amount"], payload["date"], reference
                )
                saved = self.client.post("InvoicePayment", [body])
                saved = saved[0] if isinstance(saved, list) else saved
                existing = str(saved["id"])
            written.append(existing)
        if not written:
            raise PermanentError("the payment applies nothing to any invoice")
        return RemoteRef(",".join(written))

    def _find_payment(self, invoice_id: str, reference: str) -> str | None:
        """Return the id of the payment arbridge wrote with this reference, if Halo has one."""
        try:
            # Reference: ../shared/specs/halopsa/halo-api-v2-subset.json, GET /InvoicePayment
            body = self.client.get("InvoicePayment", invoice_id=int(invoice_id))
        except NotFound:
            raise PermanentError(f"Halo has no invoice {invoice_id}") from None
        for row in list_of(body, "invoicepayments"):
            if row.get("thirdpartyid") == reference and str(row.get("invoice_id")) == invoice_id:
                return str(row["id"])
        return None

    def _delete_payment(self, command: Command) -> RemoteRef:
        """Remove each InvoicePayment arbridge wrote; one already gone counts as removed."""
        remote_id = str(command.payload["remote_id"])
        # Reference: ../shared/specs/halopsa/halo-api-v2-subset.json, DELETE /InvoicePayment/{id}
        for payment_id in filter(None, remote_id.split(",")):
            with suppress(NotFound):
                self.client.delete(f"InvoicePayment/{int(payment_id)}")
        return RemoteRef(remote_id)


def payment_reference(idempotency_key: str) -> str:
    """Return the reference a payment carries in Halo, short whatever the key."""
    if len(idempotency_key) <= 40:
        return f"{REFERENCE_PREFIX}{idempotency_key}"
    return f"{REFERENCE_PREFIX}{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"


def halo_time(iso: str) -> str:
    """Return a stored ISO time as Halo's filters take it: UTC, no offset."""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")
