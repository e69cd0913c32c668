"""The connector interface: plain data across it, no Django on either side.

A connector reads a vendor's records as canonical `Change`s (`pull`) and
carries out arbridge's writes (`push`). The engine in arbridge.integrations
applies the changes and delivers the commands; the connector never sees a
model, a setting or a request.

Every connector is built the same way, `Kind(config, http, runtime)`, and
says how a partner authorizes it (`auth`: an `OAuth2` app, or a pydantic
`Credentials` model the dashboard turns into a form). Beyond `pull` and
`push`, what a connector can do is optional and declared in its
Capabilities, so callers ask the flag, never the class:

    fetch       fetch(entity, ids): read records again, as webhook hints ask
    pdf         pdf(invoice_remote_id): the vendor's own rendering
    accounts    accounts(): the chart of accounts, for choosing where money goes
    check       check(): the cheapest authenticated call, telling what it learned
    webhooks    receive(request) (or, app-wide, the classmethod receive(request, key)),
                hints(body)
    subscribe   subscribe(url): ask the vendor to call arbridge back on changes
    tenants     tenants(): the accounts one consent reaches, to pick one from
    invoices    invoice(remote_id), invoice_by_number(number), invoice_payments(remote_id):
                what mirroring a payment made elsewhere needs
    invoices_in items() and the create_invoice command: the Sync Tool's target
    invoices_out closed_invoices(): the Sync Tool's source
    files       columns, headers(data), read_file(file): the connector reads the files a
                partner hands over (uploaded, or placed in the connection's folder)
                instead of an API; the host hands them over as `Runtime.files`
    polled      serve(body, host), setup_file(...): the vendor calls arbridge (connectors/polled.py)

Exceptions:

    ConnectorError            something went wrong talking to the vendor
    ├── RetryableError        try again later (429, 5xx, timeouts); may carry retry_after
    └── PermanentError        retrying will not help (other 4xx, validation)
        ├── AuthError         credentials rejected or expired beyond refresh
        └── MalformedRecord   the vendor sent a record we cannot read
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from arbridge.connectors.ratelimit import Limiter, Limits

# -- errors -------------------------------------------------------------------


class ConnectorError(Exception):
    permanent: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetryableError(ConnectorError):
    permanent = False


class PermanentError(ConnectorError):
    permanent = True


class AuthError(PermanentError):
    pass


class FieldError(ValueError):
    """A credentials or preferences value a person must correct, naming its field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class MalformedRecord(PermanentError):
    def __init__(self, message: str, *, raw: Any = None):
        super().__init__(message)
        self.raw = raw


# -- capabilities -------------------------------------------------------------


class Frequency(enum.StrEnum):
    REAL_TIME = "real_time"
    HOURLY = "hourly"
    DAILY = "daily"
    NONE = "none"


class Item(enum.StrEnum):
    """The synced items of the product documents' tables, in their order."""

    INVOICE_DETAILS = "Invoice Details"
    INVOICE_LINES = "Invoice Line Items"
    CUSTOMERS = "Customers"
    PAYMENTS = "Payments"
    DEPOSITS = "Deposits"
    ARCHIVE_INVOICES = "Archiving invoices"
    ARCHIVE_CUSTOMERS = "Archiving customers"
    DELETE_PAYMENTS = "Delete Payments"
    PDF_INVOICES = "PDF Invoices"


@dataclass(frozen=True)
class Batching:
    """How a connector that can `push_many` wants its writes grouped.

    At most `max_commands` commands of `actions` go in one batch. A batch that
    is not full waits until `spacing_s` after the connection's previous batch
    left, so that partial batches alone never spend the vendor's batch limit;
    a full one goes at once.
    """

    max_commands: int
    actions: frozenset[str]
    spacing_s: float = 0.0


class ContactScope(enum.StrEnum):
    BILLING = "billing"
    ALL = "all"


@dataclass(frozen=True)
class Capabilities:
    """What a connector syncs and how; the engine and the differences page read it."""

    category: str  # "accounting", "psa" or "specialized"
    frequencies: Mapping[Item, Frequency]
    native_pdf: bool = False
    deposits: bool = False
    archive_on_source_delete: bool = False
    contact_scope: ContactScope = ContactScope.BILLING
    # Below this vendor version, items listed in `fallback_frequencies` use those instead.
    min_version_for_real_time: str | None = None
    fallback_frequencies: Mapping[Item, Frequency] = field(default_factory=dict)
    # Set when the connector has `push_many` (BatchPusher); None: one `push` per command.
    batching: Batching | None = None
    # The optional methods the connector has (see the module's docstring).
    fetch: bool = False
    pdf: bool = False
    accounts: bool = False
    check: bool = False
    tenants: bool = False
    # "app": one URL for every connection, hints name the account (QuickBooks, Xero);
    # "connection": one URL per connection (HaloPSA, ConnectWise); None: no webhooks.
    webhooks: Literal["app", "connection"] | None = None
    # Can be asked to call a URL back on changes (`subscribe(url)`), once connected.
    subscribe: bool = False
    # Its subscriptions expire: `subscribe(url)` is asked again hourly, to renew them.
    renews_subscriptions: bool = False
    # Can look up its invoices (`invoice`, `invoice_by_number`, `invoice_payments`):
    # what mirroring a payment made in another system needs.
    invoices: bool = False
    # Can create invoices the Sync Tool copies to it (`create_invoice` command, `items()`).
    invoices_in: bool = False
    # Lists the invoices ready to be copied elsewhere by the Sync Tool (`closed_invoices()`).
    invoices_out: bool = False
    # Reads export files instead of an API (FileImporter): uploaded or dropped in a folder.
    files: bool = False
    # Takes arbridge's payments back (`push` of create_payment); False: none is owed to it.
    write_back: bool = True
    # The vendor polls arbridge for its work (connectors/polled.py): reads and writes
    # happen in its sessions, never in scheduled syncs or outbox jobs.
    polled: bool = False

    def frequency(self, item: Item, vendor_version: str | None = None) -> Frequency:
        """Return how often an item syncs for an instance of the given version."""
        if (
            self.min_version_for_real_time
            and vendor_version is not None
            and item in self.fallback_frequencies
            and parse_version(vendor_version) < parse_version(self.min_version_for_real_time)
        ):
            return self.fallback_frequencies[item]
        return self.frequencies.get(item, Frequency.NONE)


def parse_version(version: str) -> tuple[int, ...]:
    """Return a dotted version as a tuple of ints, ignoring non-numeric suffixes."""
    parts = []
    for piece in version.strip().split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


# -- canonical records --------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerRecord(Record):
    name: str
    email: str = ""
    phone: str = ""
    billing_state: str = ""
    billing_country: str = ""


class ContactRecord(Record):
    customer_remote_id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    is_billing: bool = True


class InvoiceLineRecord(Record):
    description: str = ""
    item: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal = Decimal(0)
    amount: Decimal


class InvoiceRecord(Record):
    number: str
    customer_remote_id: str | None  # None: the connection's "unknown" customer
    currency: str = "USD"
    issue_date: dt.date
    due_date: dt.date | None = None
    terms: str = ""
    # The kind of agreement it bills, by name (HaloPSA's agreement type); "" if none.
    agreement: str = ""
    memo: str = ""
    total: Decimal
    balance: Decimal  # as the source reports it
    voided: bool = False
    lines: tuple[InvoiceLineRecord, ...] = ()
    has_pdf: bool = False


class AllocationRecord(Record):
    invoice_remote_id: str
    amount: Decimal


class PaymentRecord(Record):
    customer_remote_id: str | None = None
    amount: Decimal
    currency: str = "USD"
    date: dt.date
    method: str = "other"
    reference: str = ""
    allocations: tuple[AllocationRecord, ...] = ()


class CreditRecord(Record):
    invoice_remote_id: str
    amount: Decimal
    currency: str = "USD"
    date: dt.date
    reference: str = ""


class Op(enum.StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One record read from a source: create-or-update, or delete."""

    entity: str  # "customer", "contact", "invoice", "payment", "credit"
    remote_id: str
    op: Op
    record: Record | None = None  # None for deletes
    remote_version: str = ""
    remote_updated_at: dt.datetime | None = None
    raw: Any = None  # the vendor's payload, kept for exceptions


@dataclass(frozen=True)
class Rejected:
    """A vendor record the connector could not read; the engine quarantines it."""

    entity: str
    remote_id: str
    reason: str
    raw: Any = None


@dataclass(frozen=True)
class Cursor:
    """Where a stream's reading stopped; opaque to everyone but its connector."""

    stream: str
    value: Mapping[str, Any]


@dataclass(frozen=True)
class Command:
    """One write to a source, carrying the key that makes retries safe."""

    action: str  # "create_payment", "delete_payment", "create_deposit", ...
    payload: Mapping[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class RemoteRef:
    """What a write produced in the source."""

    remote_id: str
    remote_version: str = ""


class Config(BaseModel):
    """A connection's configuration: credentials, preferences and where to reach it."""

    model_config = ConfigDict(frozen=True)

    base_url: str
    credentials: dict[str, Any] = {}
    preferences: dict[str, Any] = {}
    remote_account: str = ""


class Preferences(BaseModel):
    """Base for a connector's preferences; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Credentials(BaseModel):
    """Base for what a person types to connect a credentials-based connector.

    The dashboard draws one form field per model field, from its title,
    description and type (a `SecretStr` is a password field, a `Literal` a
    choice); the validated model, dumped, is stored encrypted as the
    connection's credentials. `account_field` names the field that is the
    vendor's account id (stored as the connection's remote account).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account_field: ClassVar[str] = ""

    def stored(self) -> dict[str, Any]:
        """Return the credentials to store, secrets revealed, blanks left out."""
        values = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if value not in ("", None):
                values[name] = value
        return values


def https_url(value: str) -> str:
    """Return an address a person typed as an https URL without a trailing slash."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"https://{value}"
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or " " in rest:
        raise ValueError("Enter a valid URL.")
    return value


def account_field(
    types: Sequence[str], *, key: str = "id", needed_by: str = "", missing: str = ""
) -> dict[str, Any]:
    """Return a preference's metadata: chosen from the accounts of these types (or subtypes).

    `key` is the Account attribute stored ("id" or "code"); `needed_by` names a
    boolean preference that needs this one chosen, `missing` what to say if not.
    """
    return {"accounts": list(types), "key": key, "needed_by": needed_by, "missing": missing}


@dataclass(frozen=True)
class OAuth2:
    """An OAuth2 authorization-code app's endpoints at the vendor, and what it asks for.

    `account_param` names the callback's query parameter that says which
    account was connected (QuickBooks' realmId); when empty the connector
    lists the accounts the consent reaches (`tenants()`).
    """

    authorize_url: str
    token_url: str
    revoke_url: str = ""
    api_base: str = ""
    scope: str = ""
    account_param: str = ""
    revoke_as_json: bool = False  # Intuit takes {"token": ...}; RFC 7009 a form
    # How the token endpoint takes the client's credentials (Authlib's names): HTTP Basic,
    # or "client_secret_post" in the form (Zoho).
    client_auth: str = "client_secret_basic"
    # The Authorization scheme of API calls: "Bearer", or Zoho's "Zoho-oauthtoken".
    authorization_scheme: str = "Bearer"
    # Where an account's code is exchanged and its tokens refreshed, from the consent's
    # callback query and the app's token URL (Zoho's data centres); None: the app's.
    # Raises AuthError for a callback it does not trust.
    token_url_for: Callable[[Mapping[str, str], str], str] | None = None
    # Fields of the token the connector reads from its credentials (Zoho's api_domain).
    kept_token_fields: tuple[str, ...] = ()


AuthScheme = OAuth2 | type[Credentials]


@dataclass(frozen=True)
class Account:
    """One account of the vendor's chart of accounts."""

    id: str
    name: str
    type: str  # "Bank", "Income", "Expense", ... in the vendor's words
    subtype: str = ""
    code: str = ""


@dataclass(frozen=True)
class Tenant:
    """One account (company, organisation) a consent reaches."""

    id: str
    name: str


@dataclass(frozen=True)
class Checked:
    """What a connector's check call taught: credentials to keep, the account it reached."""

    credentials: Mapping[str, Any] = field(default_factory=dict)
    remote_account: str = ""


@dataclass(frozen=True)
class InvoiceSummary:
    """An invoice as its system has it now: what mirroring and the Sync Tool compare and copy."""

    id: str
    number: str
    total: Decimal
    customer_name: str = ""
    customer_id: str = ""
    date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str = "USD"
    status: str = ""


@dataclass(frozen=True)
class InvoicePayment:
    """A payment applied to an invoice, and whether arbridge wrote it."""

    id: str
    amount: Decimal
    date: dt.date | None
    is_arbridge: bool


@dataclass(frozen=True)
class SaleItem:
    """A product or service an invoice line can sell, with its income account."""

    id: str
    name: str
    type: str
    income_account_id: str = ""
    income_account_name: str = ""


# -- webhooks -------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as it arrived: headers (lower-case names), raw body, query string."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hint:
    """One record a delivery says changed: a reason to read it again, never the record."""

    entity: str  # canonical: "invoice", "customer", "payment", "credit"
    remote_id: str
    account: str = ""  # the vendor account it belongs to, for app-wide deliveries
    event_id: str = ""  # the same for every redelivery of this change


@dataclass(frozen=True)
class Delivery:
    """What a connector made of a delivery.

    `accepted` False: refused (401, nothing kept). Accepted with no hints is a
    handshake or a delivery of nothing we read (Xero's intent to receive):
    answered 2xx, nothing stored. `kept_headers` are worth storing with the body.
    `credentials` are what a handshake taught, for the connection to keep (FreshBooks'
    callback verifier, the key of its later signatures).
    """

    accepted: bool
    hints: tuple[Hint, ...] = ()
    reason: str = ""
    kept_headers: tuple[str, ...] = ("content-type",)
    credentials: Mapping[str, Any] = field(default_factory=dict)
    answer: str = ""  # the body of an accepted handshake's answer (Business Central's token)


# -- file imports -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A field a file import reads, and the headers an export usually gives it."""

    name: str
    title: str
    required: bool = False
    headers: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class RowError:
    """Why one row of a file cannot be imported. `row` is the file's line (the header is 1)."""

    row: int
    column: str  # the file's header the problem is in; "" for the row or file as a whole
    message: str


@dataclass(frozen=True)
class DroppedFile:
    """A file a partner handed over for import, with the column mapping it is read by.

    `mapping` maps a Column's name to the file's header; `received_at` orders
    files, and versions what they say (a later file's invoice supersedes an
    earlier one's).
    """

    name: str
    sha256: str
    received_at: dt.datetime
    mapping: Mapping[str, str]
    read: Callable[[], bytes]


@dataclass(frozen=True)
class FileRead:
    """What a file import made of one file: its changes, or every row's errors and no change."""

    rows: int = 0
    changes: tuple[Change, ...] = ()
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def guess_mapping(columns: Iterable[Column], headers: Iterable[str]) -> dict[str, str]:
    """Return each column's header in a file, where its title or a usual header is there."""
    present = {_plain(h): h for h in headers if h}
    mapping = {}
    for column in columns:
        for usual in (column.title, *column.headers):
            if _plain(usual) in present:
                mapping[column.name] = present[_plain(usual)]
                break
    return mapping


def _plain(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


# A file importer's cursor value holds the hashes of the files it has read, under this key.
FILES_READ = "files"


# -- what the host gives a connector ----------------------------------------------


def _no_limiter(limits: Limits) -> Limiter | None:
    return None


def _nothing_known(entity: str) -> Iterable[str]:
    return ()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_files() -> Iterable[DroppedFile]:
    return ()


@dataclass(frozen=True)
class Runtime:
    """What the host gives every connector beside its config and HTTP client.

    limiter: the host's limiter enforcing a set of vendor limits, shared by
        every worker of the deployment (None: the connector goes unlimited).
    known: the remote ids of an entity's records the host holds from this
        connection (for connectors whose change feed omits deletions).
    sleep, clock: waiting and time, replaceable in tests and benchmarks.
    files: the files handed over for a file importer (Capabilities.files),
        oldest first, those already read among them.
    """

    limiter: Callable[[Limits], Limiter | None] = _no_limiter
    known: Callable[[str], Iterable[str]] = _nothing_known
    files: Callable[[], Iterable[DroppedFile]] = _no_files
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], dt.datetime] = _utcnow


DEFAULT_RUNTIME = Runtime()


# -- the protocol -------------------------------------------------------------


class Connector(Protocol):
    kind: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    Preferences: ClassVar[type[Preferences]]
    auth: ClassVar[AuthScheme]
    # Where the vendor's API is when the connection does not say (an OAuth2 app's
    # api_base, Autotask's zone lookup host); "" when every connection says.
    api_base: ClassVar[str]

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = ...) -> None:
        """Take the connection's config, a client carrying its authorization, the runtime."""
        ...

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        """Yield changes since the cursor, and a new Cursor after each durable batch.

        Args:
            cursor: where the last run stopped, or None for a full sync.

        Returns:
            An iterator of Change (or Rejected, for a record that could not be
            read), interleaved with Cursor checkpoints; the engine stores a
            checkpoint in the same transaction as the changes before it.
        """
        ...

    def push(self, command: Command) -> RemoteRef:
        """Carry out one write; repeating it with the same key must not write twice.

        Raises:
            RetryableError: try again later.
            PermanentError: a person must look at it.
        """
        ...


class BatchPusher(Protocol):
    """A connector that can also carry out several writes in one request (Capabilities.batching)."""

    def push_many(self, commands: Sequence[Command], key: str) -> list[RemoteRef | ConnectorError]:
        """Carry out several writes in one request; return each one's result, in order.

        `key` is the request's idempotency key: the same key with the same
        commands must not write twice. A failure of one command is returned in
        its place (RetryableError only when that command surely was not
        written); a failure of the whole request is raised.

        Raises:
            RetryableError: try the whole batch again later, with the same key.
            PermanentError: a person must look at it.
        """
        ...


class Fetcher(Protocol):
    """Capabilities.fetch: read some records again by id (webhook hints, re-reads)."""

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Yield the records' changes; an id the vendor no longer has is a delete."""
        ...


class PdfSource(Protocol):
    """Capabilities.pdf: the vendor renders its own invoice PDF."""

    def pdf(self, invoice_remote_id: str) -> bytes: ...


class ChartOfAccounts(Protocol):
    """Capabilities.accounts: the accounts a partner picks for deposits, fees and income."""

    def accounts(self) -> list[Account]: ...


class Checker(Protocol):
    """Capabilities.check: the cheapest authenticated call, made before credentials are stored."""

    def check(self) -> Checked:
        """Raises ConnectorError when the vendor refuses the credentials."""
        ...


class TenantLister(Protocol):
    """Capabilities.tenants: the accounts one OAuth consent reaches (Xero's organisations)."""

    def tenants(self) -> list[Tenant]: ...


class InvoiceLookup(Protocol):
    """Capabilities.invoices: an invoice as the system has it now, and what was paid on it."""

    def invoice(self, remote_id: str) -> InvoiceSummary | None: ...

    def invoice_by_number(self, number: str) -> InvoiceSummary | None:
        """Return the invoice carrying this number, if the system has exactly one."""
        ...

    def invoice_payments(self, remote_id: str) -> list[InvoicePayment]: ...


class FileImporter(Protocol):
    """Capabilities.files: read the export files a partner hands over, all or nothing.

    `pull(cursor)` reads the files of `Runtime.files` not yet in its cursor,
    each as its changes followed by a checkpoint naming it (FILES_READ).
    """

    columns: ClassVar[tuple[Column, ...]]

    def headers(self, data: bytes) -> list[str]:
        """Return the file's column headers, to map them; MalformedRecord if unreadable."""
        ...

    def read_file(self, file: DroppedFile) -> FileRead:
        """Return the file's changes, or, if any row is wrong, every row's errors and none."""
        ...


class WebhookReceiver(Protocol):
    """Capabilities.webhooks: verify and read deliveries; re-read what they hint at.

    Per connection: `receive(request)` on a connector built for it. App-wide:
    the classmethod `receive(request, key)` with the app's webhook key, before
    any connection is known; its hints carry the account. At apply time,
    `hints(body)` on the connection's connector reads the stored body again and
    keeps what concerns this connection.
    """

    def receive(self, request: WebhookRequest) -> Delivery: ...

    def hints(self, body: bytes) -> list[Hint]: ...
