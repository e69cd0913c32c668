"""What the API takes and returns: money as decimal strings, times in RFC 3339."""

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import TextChoices
from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from arbridge.api.pagination import Page
from arbridge.core.models import Connection
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import DepositLine, Invoice, Payment
from arbridge.portal.manage import LINK_DAYS
from arbridge.portal.models import DEFAULT_LINK_DAYS


def choices(enum: type[TextChoices]) -> Any:
    """Return a Literal of a model's choices, so the OpenAPI document lists them."""
    return Literal[tuple(enum.values)]


# Money and quantities as decimal strings ("1250.00"): JSON numbers are floats to most readers.
DecimalString = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}),
]

# RFC 3339, as the format checkers of OpenAPI tools read "date-time": the offset is
# required, so that no one's "09:00" is taken for another zone's.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def rfc3339(value: object) -> object:
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("expected a date and time with its offset, e.g. 2025-04-01T09:00:00Z")
    return value


def utc(value: dt.datetime) -> dt.datetime:
    """Return the time in UTC; refuse one that leaves the calendar there (year 9999 -01:00)."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the time is out of range in UTC") from None


Timestamp = Annotated[dt.datetime, BeforeValidator(rfc3339), AfterValidator(utc)]
# PostgreSQL refuses NUL in text, so it is refused here before it reaches a query.
InvoiceNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]+$")
]

# Words typed to find a row: NUL refused, as above.
Search = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]

InvoiceStatus = choices(Invoice.Status)
PaymentStatus = choices(Payment.Status)
SyncRunStatus = choices(SyncRun.Status)
ExceptionStatus = choices(ExceptionItem.Status)
ExceptionKind = choices(ExceptionItem.Kind)


class CustomerRef(Schema):
    id: int
    name: str


class ConnectionRef(Schema):
    id: int
    kind: str
    name: str

    @staticmethod
    def resolve_name(connection: Connection) -> str:
        return str(connection)


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    is_billing: bool


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    billing_state: str
    billing_country: str
    is_unknown: bool
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerDetailOut(CustomerOut):
    contacts: list[ContactOut]


class InvoiceOut(Schema):
    id: int
    number: str
    customer: CustomerRef
    connection: ConnectionRef | None
    currency: str
    issue_date: dt.date
    due_date: dt.date | None
    terms: str
    total: DecimalString
    balance: DecimalString
    status: InvoiceStatus
    is_overdue: bool
    archived: bool
    voided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class InvoiceLineOut(Schema):
    position: int
    item: str
    description: str
    quantity: DecimalString
    unit_price: DecimalString
    amount: DecimalString


class InvoiceAllocationOut(Schema):
    payment_id: int
    amount: DecimalString
    payment_status: PaymentStatus
    payment_date: dt.date

    @staticmethod
    def resolve_payment_status(allocation) -> str:
        return allocation.payment.status

    @staticmethod
    def resolve_payment_date(allocation) -> dt.date:
        return allocation.payment.date


class CreditOut(Schema):
    id: int
    amount: DecimalString
    date: dt.date
    reference: str


class InvoiceDetailOut(InvoiceOut):
    memo: str
    source_adjustment: DecimalString
    lines: list[InvoiceLineOut]
    allocations: list[InvoiceAllocationOut]
    credits: list[CreditOut]


class PaymentOut(Schema):
    id: int
    customer: CustomerRef | None
    amount: DecimalString
    currency: str
    date: dt.date
    method: choices(Payment.Method)
    status: PaymentStatus
    origin: choices(Payment.Origin)
    connection: ConnectionRef | None
    reference: str
    processor_reference: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PaymentAllocationOut(Schema):
    invoice_id: int
    invoice_number: str
    amount: DecimalString

    @staticmethod
    def resolve_invoice_number(allocation) -> str:
        return allocation.invoice.number


class PaymentDetailOut(PaymentOut):
    allocations: list[PaymentAllocationOut]


class ConnectionOut(Schema):
    """A connection as the API shows it: never its credentials."""

    id: int
    kind: str
    kind_name: str
    name: str
    role: choices(Connection.Role) | None
    status: choices(Connection.Status)
    status_detail: str
    preferences: dict[str, Any]
    last_synced_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_kind_name(connection: Connection) -> str:
        return connection.get_kind_display()


class SyncRunOut(Schema):
    id: int
    connection: ConnectionRef
    trigger: choices(SyncRun.Trigger)
    status: SyncRunStatus
    created: int
    updated: int
    unchanged: int
    deleted: int
    errors: int
    error_message: str
    attempts: int
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ExceptionOut(Schema):
    id: int
    connection: ConnectionRef | None
    kind: ExceptionKind
    status: ExceptionStatus
    title: str
    reason: str
    entity: str
    remote_id: str
    local_id: int | None
    sync_run_id: int | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class ExceptionDetailOut(ExceptionOut):
    raw_payload: str


# Named pages, so the OpenAPI document says "InvoicePage" rather than "Page_InvoiceOut_".
class CustomerPage(Page[CustomerOut]):
    pass


class InvoicePage(Page[InvoiceOut]):
    pass


class PaymentPage(Page[PaymentOut]):
    pass


class ConnectionPage(Page[ConnectionOut]):
    pass


class SyncRunPage(Page[SyncRunOut]):
    pass


class ExceptionPage(Page[ExceptionOut]):
    pass


class ContactPage(Page[ContactOut]):
    pass


def json_integer(value: object) -> object:
    """Refuse what JSON would not call an integer ("5", true); 5.0 is one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")
    return value


class PortalLinkIn(Schema):
    days: Annotated[Literal[LINK_DAYS], BeforeValidator(json_integer)] = Field(
        DEFAULT_LINK_DAYS, description="How long the link works, in days."
    )

    @model_validator(mode="before")
    @classmethod
    def an_object(cls, value: object) -> object:
        # Ninja's schemas read attributes of anything (wrapped in its DjangoGetter);
        # a body must be a JSON object.
        if not isinstance(getattr(value, "_obj", value), dict):
            raise ValueError("expected an object")
        return value


class PortalLinkOut(Schema):
    id: int
    customer: CustomerRef
    url: str = Field(description="Where the customer opens their portal: hand it to them.")
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = Field(description="Set once revoked: the link opens nothing.")
    created_at: dt.datetime
    created_by: str | None

    @staticmethod
    def resolve_url(link, context) -> str:
        return context["request"].build_absolute_uri(link.get_absolute_url())

    @staticmethod
    def resolve_created_by(link) -> str | None:
        return link.created_by.get_username() if link.created_by else None


class PortalLinkPage(Page[PortalLinkOut]):
    pass


class DepositLineOut(Schema):
    kind: choices(DepositLine.Kind)
    payment_id: int | None
    amount: DecimalString = Field(description="Negative for fees.")
    description: str


class DepositOut(Schema):
    id: int
    amount: DecimalString = Field(description="The payout: what reached the bank.")
    currency: str
    date: dt.date
    processor_reference: str
    created_at: dt.datetime


class DepositDetailOut(DepositOut):
    lines: list[DepositLineOut]


class DepositPage(Page[DepositOut]):
    pass
