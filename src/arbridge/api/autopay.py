"""REST API v1, auto pay: enrollments (with their evidence), rules, and the charges coming up.

Mounted at /api/v1/autopay/ by views.py. As everywhere in the API, every
query starts from the partner's own rows, so another partner's ids are not
found (404); lists are newest first by id, except the charges coming up,
which are soonest first (their cursor carries the date as well as the id).
"""

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import (
    BaseModel,
    BeforeValidator,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from arbridge.api.errors import ApiError, responses
from arbridge.api.pagination import (
    MAX_ID,
    Id,
    Page,
    PageParams,
    PageQuery,
    paginate,
    paginate_sorted,
)
from arbridge.api.schemas import CustomerRef, DecimalString, Timestamp, choices
from arbridge.autopay import runner
from arbridge.autopay.enrollment import set_pilot, unenroll
from arbridge.autopay.models import Enrollment, Rule
from arbridge.core import clock
from arbridge.core.models import AuditEntry
from arbridge.ledger.models import Customer
from arbridge.payments.models import SavedMethod

router = Router(tags=["auto pay"])

LIST_ERRORS = responses(400, 401, 422)
DETAIL_ERRORS = responses(401, 404, 422)
UPCOMING_DAYS = 30

# Text as people type it: no NUL (PostgreSQL refuses it in text).
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Term = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[^,\x00]+$"),
]
MONEY = re.compile(r"^\d{1,12}(\.\d{1,2})?$", re.ASCII)


def money_string(value: object) -> object:
    if not isinstance(value, str) or not MONEY.match(value):
        raise ValueError('expected an amount as a decimal string, e.g. "2500.00"')
    return value


def whole_number(value: object) -> object:
    """Take a JSON integer (1, or 1.0 as JSON Schema counts it); "1" and true are not numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    return value


# Money in, as out: a decimal string beside its currency.
Cap = Annotated[
    Decimal,
    BeforeValidator(money_string),
    WithJsonSchema({"type": "string", "format": "decimal", "pattern": MONEY.pattern}),
]
# In a body, numbers and flags are what JSON says they are: "1" is not 1, 0 is not false.
integers = field_validator(
    "customer", "method", "priority", "days", mode="before", check_fields=False
)(whole_number)
EnrollmentStatus = choices(Enrollment.Status)
Trigger = choices(Rule.Trigger)


# -- schemas ----------------------------------------------------------------------------


class MethodOut(Schema):
    id: int
    kind: str
    brand: str
    last4: str
    removed: bool

    @staticmethod
    def resolve_removed(method: SavedMethod) -> bool:
        return method.removed_at is not None


class EnrollmentOut(Schema):
    id: int
    customer: CustomerRef
    status: EnrollmentStatus
    source: choices(Enrollment.Source)
    pilot: bool
    method: MethodOut | None
    authorization: str = Field(description="The words the customer agreed to.")
    evidence: dict[str, Any] = Field(
        description="Who authorized it, when, how, and who recorded it."
    )
    suspended_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime


class JsonBody(BaseModel):
    """A body whose numbers are what JSON says they are: "1" is not 1, nor true 1."""

    @field_validator("customer", "method", "priority", "days", mode="before", check_fields=False)
    @classmethod
    def integers(cls, value: object) -> object:
        return whole_number(value)


class EnrollmentIn(JsonBody):
    """A customer the partner enrolls, with the evidence of the customer's authorization."""

    customer: int = Field(ge=1, le=MAX_ID)
    method: int = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="The customer's saved method to charge; their newest one when absent.",
    )
    authorized_by: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Who at the customer authorized auto pay."
    )
    authorized_at: Timestamp = Field(description="When they authorized it.")
    how: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(
        description="How it was given, e.g. a signed form, an email, a recorded call."
    )
    reference: Annotated[Text, StringConstraints(max_length=200)] = Field(
        "", description="Where the evidence is kept, e.g. a document's number."
    )
    authorization: Annotated[Text, StringConstraints(max_length=5000)] = Field(
        "", description="The words agreed to; required for a bank account (the ACH mandate)."
    )
    pilot: StrictBool = False


class EnrollmentPatch(JsonBody):
    pilot: StrictBool = Field(
        None, description="In the pilot, auto pay charges only the pilot's customers."
    )


class RuleOut(Schema):
    id: int
    priority: int
    trigger: Trigger
    days: int
    terms: list[str] = Field(description="Only invoices with these payment terms; empty for any.")
    agreements: list[str] = Field(
        description="Only invoices billing these agreement types (HaloPSA); empty for any."
    )
    amount_cap: DecimalString | None = Field(
        description="Above this balance the customer is reminded instead of charged."
    )
    active: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_terms(rule: Rule) -> list[str]:
        return [t.strip() for t in rule.terms.split(",") if t.strip()]

    @staticmethod
    def resolve_agreements(rule: Rule) -> list[str]:
        return [a.strip() for a in rule.agreements.split(",") if a.strip()]


class RuleFields(JsonBody):
    @field_validator("terms", "agreements", check_fields=False)
    @classmethod
    def fit(cls, names: list[str] | None) -> list[str] | None:
        if names is not None and len(", ".join(names)) > 255:
            raise ValueError("the names take at most 255 characters together")
        return names


class RuleIn(RuleFields):
    priority: int = Field(100, ge=0, le=10_000, description="Lower is tried first.")
    trigger: Trigger
    days: int = Field(0, ge=0, le=365)
    terms: list[Term] = Field([], max_length=20)
    agreements: list[Term] = Field([], max_length=20)
    amount_cap: Cap | None = None
    active: StrictBool = True


class RulePatch(RuleFields):
    priority: int = Field(None, ge=0, le=10_000)
    trigger: Trigger = None
    days: int = Field(None, ge=0, le=365)
    terms: list[Term] = Field(None, max_length=20)
    agreements: list[Term] = Field(None, max_length=20)
    amount_cap: Cap | None = None
    active: StrictBool = None


class InvoiceRef(Schema):
    id: int
    number: str


class UpcomingOut(Schema):
    id: int = Field(description="The invoice's id: one charge coming up per invoice.")
    invoice: InvoiceRef
    customer: CustomerRef
    charge_on: dt.date
    amount: DecimalString
    currency: str
    over_cap: bool = Field(description="Over the rule's cap: the customer is reminded instead.")
    retry: bool = Field(description="A retry of a declined charge.")
    method: MethodOut | None


class EnrollmentPage(Page[EnrollmentOut]):
    pass


class RulePage(Page[RuleOut]):
    pass


class UpcomingPage(Page[UpcomingOut]):
    pass


class UpcomingParams(PageParams):
    days: int = Field(UPCOMING_DAYS, ge=1, le=90, description="How many days ahead.")
    customer: Id = None


# -- enrollments ------------------------------------------------------------------------


def enrollments(request: HttpRequest):
    return Enrollment.objects.for_partner(request.partner).select_related("customer", "method")


@router.get("/enrollments", response={200: EnrollmentPage, **LIST_ERRORS})
def list_enrollments(
    request: HttpRequest, page: PageQuery, status: EnrollmentStatus = None, customer: Id = None
):
    """List auto pay enrollments, newest first."""
    rows = enrollments(request)
    if status is not None:
        rows = rows.filter(status=status)
    if customer is not None:
        rows = rows.filter(customer_id=customer)
    return paginate(rows, page)


@router.get("/enrollments/{id}", response={200: EnrollmentOut, **DETAIL_ERRORS})
def get_enrollment(request: HttpRequest, id: Id):
    """Return one enrollment with its method and the evidence of its authorization."""
    return get_object_or_404(enrollments(request), pk=id)


@router.post(
    "/enrollments",
    response={201: EnrollmentOut, **DETAIL_ERRORS, **responses(400, 409)},
)
def create_enrollment(request: HttpRequest, body: EnrollmentIn):
    """Enroll a customer who authorized auto pay; the evidence is kept with the enrollment."""
    customer = get_object_or_404(Customer.objects.for_partner(request.partner), pk=body.customer)
    if body.authorized_at > clock.now():
        raise ApiError(422, "invalid", "authorized_at is in the future.")
    methods = SavedMethod.objects.for_partner(request.partner).filter(
        customer=customer, removed_at__isnull=True
    )
    if body.method is not None:
        method = get_object_or_404(methods, pk=body.method)
    elif (method := methods.first()) is None:
        raise ApiError(409, "no_method", f"{customer.name} has no saved payment method.")
    evidence = {
        "authorized_by": body.authorized_by,
        "authorized_at": body.authorized_at.isoformat(),
        "how": body.how,
        "reference": body.reference,
        "recorded_by": f"API key {request.auth.name}",
    }
    try:
        with transaction.atomic():
            enrollment = Enrollment.enroll(
                method,
                source=Enrollment.Source.PARTNER,
                authorization=body.authorization,
                evidence=evidence,
                pilot=body.pilot,
            )
    except ValueError as error:
        raise ApiError(422, "invalid", str(error)) from None
    return Status(201, enrollments(request).get(pk=enrollment.pk))


@router.patch(
    "/enrollments/{id}", response={200: EnrollmentOut, **DETAIL_ERRORS, **responses(400, 409)}
)
def update_enrollment(request: HttpRequest, id: Id, body: EnrollmentPatch):
    """Put an enrolled customer in the auto pay pilot, or out of it."""
    enrollment = get_object_or_404(enrollments(request), pk=id)
    if body.pilot is None or body.pilot == enrollment.pilot:
        return enrollment
    if enrollment.status == Enrollment.Status.CANCELLED:
        raise ApiError(409, "not_enrolled", f"{enrollment.customer} is not enrolled in auto pay.")
    set_pilot(enrollment, body.pilot)
    AuditEntry.record(
        request.partner,
        "autopay.pilot_changed",
        target=str(enrollment.customer),
        pilot=enrollment.pilot,
        via=f"API key {request.auth}",
    )
    return enrollment


@router.delete("/enrollments/{id}", response={204: None, **DETAIL_ERRORS})
def delete_enrollment(request: HttpRequest, id: Id):
    """Un-enroll: nothing more is charged; charges already made stand, the authorization is kept."""
    unenroll(get_object_or_404(enrollments(request), pk=id), source=Enrollment.Source.PARTNER)
    return Status(204, None)


# -- rules ------------------------------------------------------------------------------


def rules(request: HttpRequest):
    return Rule.objects.for_partner(request.partner)


def rule_fields(body: BaseModel, exclude_unset: bool) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=exclude_unset)
    for name in ("terms", "agreements"):
        if name in fields:
            fields[name] = ", ".join(fields[name] or [])
    return fields


@router.get("/rules", response={200: RulePage, **LIST_ERRORS})
def list_rules(request: HttpRequest, page: PageQuery):
    """List the rules, newest first; they are tried by priority, first match wins."""
    return paginate(rules(request), page)


@router.get("/rules/{id}", response={200: RuleOut, **DETAIL_ERRORS})
def get_rule(request: HttpRequest, id: Id):
    """Return one rule."""
    return get_object_or_404(rules(request), pk=id)


@router.post("/rules", response={201: RuleOut, **responses(400, 401, 422)})
def create_rule(request: HttpRequest, body: RuleIn):
    """Add a rule; it applies to the invoices already open as to new ones."""
    rule = Rule.objects.create(partner=request.partner, **rule_fields(body, False))
    return Status(201, rules(request).get(pk=rule.pk))


@router.patch("/rules/{id}", response={200: RuleOut, **DETAIL_ERRORS, **responses(400)})
def update_rule(request: HttpRequest, id: Id, body: RulePatch):
    """Change a rule; the change reaches the invoices already open."""
    rule = get_object_or_404(rules(request), pk=id)
    for name, value in rule_fields(body, True).items():
        setattr(rule, name, value)
    rule.save()
    return rules(request).get(pk=rule.pk)


@router.delete("/rules/{id}", response={204: None, **DETAIL_ERRORS})
def delete_rule(request: HttpRequest, id: Id):
    """Remove a rule; invoices it matched fall to the next rule, or are not charged."""
    get_object_or_404(rules(request), pk=id).delete()
    return Status(204, None)


# -- the charges coming up --------------------------------------------------------------


@router.get("/upcoming", response={200: UpcomingPage, **LIST_ERRORS})
def list_upcoming(request: HttpRequest, page: Query[UpcomingParams]):
    """List the charges auto pay will make in the next `days` days, soonest first."""
    found = runner.upcoming(request.partner.pk, days=page.days)
    if page.customer is not None:
        found = [u for u in found if u.invoice.customer_id == page.customer]
    items, next_cursor = paginate_sorted(
        found, page, lambda u: (u.charge_on, u.invoice.pk), (dt.date.fromisoformat, int)
    )
    return {
        "items": [
            {
                "id": u.invoice.pk,
                "invoice": u.invoice,
                "customer": u.invoice.customer,
                "charge_on": u.charge_on,
                "amount": u.amount,
                "currency": u.invoice.currency,
                "over_cap": u.over_cap,
                "retry": u.retry,
                "method": u.enrollment.method,
            }
            for u in items
        ],
        "next_cursor": next_cursor,
    }
