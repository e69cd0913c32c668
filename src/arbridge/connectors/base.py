"""The connector interface: plain data across it, no Django on either side.

A connector reads a vendor's records as canonical `Change`s (`pull`) and
carries out arbridge's writes (`push`). The engine in arbridge.integrations
applies the changes and delivers the commands; the connector never sees a
model, a setting or a request.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

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


# -- the protocol -------------------------------------------------------------


class Connector(Protocol):
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    Preferences: ClassVar[type[Preferences]]

    def __init__(self, config: Config, http: httpx.Client) -> None: ...

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
