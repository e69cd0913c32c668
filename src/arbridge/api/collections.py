"""REST API v1, collections: reminder sequences, the emails sent (sends), and paused customers.

As everywhere in the API, rows come from `for_partner(request.partner)`, so
another partner's ids are not found (404). A send by hand takes an
`Idempotency-Key` header: asked again with it, the first send answers and no
second email goes.
"""

import datetime as dt
from typing import Annotated

from annotated_types import Interval
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template import Template, TemplateSyntaxError
from ninja import Field, Header, Router, Schema, Status
from pydantic import BeforeValidator, StrictBool, StringConstraints

from arbridge.api.errors import ApiError, responses
from arbridge.api.pagination import MAX_ID, Id, Page, PageQuery, paginate
from arbridge.api.schemas import CustomerRef, choices, json_integer
from arbridge.collections import reminders
from arbridge.collections.forms import MAX_OFFSET, MIN_OFFSET
from arbridge.collections.models import CustomerPolicy, ReminderEmail, Sequence, Step
from arbridge.core import clock
from arbridge.core.models import AuditEntry
from arbridge.ledger.models import Customer

router = Router(tags=["collections"])

LIST_ERRORS = responses(400, 401, 422)
DETAIL_ERRORS = responses(401, 404, 422)

# PostgreSQL refuses NUL in text, so it is refused before it reaches a query.
Text = Annotated[str, StringConstraints(max_length=20000, pattern=r"^[^\x00]*$")]
Line = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00\r\n]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"^[^\x00]+$")]


Integer = Annotated[int, BeforeValidator(json_integer)]
RowId = Annotated[int, Interval(ge=1, le=MAX_ID), BeforeValidator(json_integer)]


# -- schemas ------------------------------------------------------------------------------


class StepOut(Schema):
    offset_days: int
    subject_template: str
    body_template: str
    is_final: bool


class SequenceOut(Schema):
    id: int
    name: str
    is_default: bool
    steps: list[StepOut]
    customers: list[int] = Field(description="Customers following it instead of the default.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customers(sequence: Sequence) -> list[int]:
        return sorted(
            CustomerPolicy.objects.filter(sequence=sequence).values_list("customer_id", flat=True)
        )


class StepIn(Schema):
    offset_days: Integer = Field(
        ge=MIN_OFFSET, le=MAX_OFFSET, description="Days from the due date."
    )
    subject_template: Line
    body_template: Text
    is_final: StrictBool = False


class SequenceIn(Schema):
    name: Name
    steps: list[StepIn] = Field(max_length=50)
    customers: list[RowId] = Field(
        default=[], max_length=1000, description="Customers to follow it; not for the default."
    )


class SendInvoiceOut(Schema):
    invoice_id: int
    number: str
    step: str


class SendOut(Schema):
    id: int
    customer: CustomerRef
    kind: choices(ReminderEmail.Kind)
    status: choices(ReminderEmail.Status)
    send_date: dt.date
    recipients: list[str]
    subject: str
    error: str
    attempts: int
    invoices: list[SendInvoiceOut]
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @staticmethod
    def resolve_recipients(email: ReminderEmail) -> list[str]:
        return [r.strip() for r in email.recipients.split(",") if r.strip()]

    @staticmethod
    def resolve_invoices(email: ReminderEmail) -> list[dict]:
        return [
            {"invoice_id": r.invoice_id, "number": r.invoice.number, "step": r.step_label}
            for r in email.reminders.all()
        ]


class SendDetailOut(SendOut):
    body: str


class SendIn(Schema):
    customer: RowId


class PauseOut(Schema):
    id: int
    customer: CustomerRef
    reason: str = Field(alias="pause_reason")
    paused_at: dt.datetime | None
    paused_by: str | None

    @staticmethod
    def resolve_paused_by(policy: CustomerPolicy) -> str | None:
        return policy.paused_by.get_username() if policy.paused_by else None


class PauseIn(Schema):
    customer: RowId
    reason: Line = ""


class SequencePage(Page[SequenceOut]):
    pass


class SendPage(Page[SendOut]):
    pass


class PausePage(Page[PauseOut]):
    pass


# -- sequences ----------------------------------------------------------------------------


def sequences_of(request: HttpRequest):
    return Sequence.objects.for_partner(request.partner).prefetch_related("steps")


def own_customers(request: HttpRequest, ids: list[int]) -> list[Customer]:
    found = list(Customer.objects.for_partner(request.partner).filter(pk__in=ids))
    if missing := sorted(set(ids) - {c.pk for c in found}):
        raise ApiError(404, "not_found", f"No customer {missing[0]}.")
    return found


def check_steps(steps: list[StepIn]) -> None:
    offsets = [s.offset_days for s in steps]
    if len(set(offsets)) != len(offsets):
        raise ApiError(400, "duplicate_step", "Two steps fall on the same day.")
    for step in steps:
        for text in (step.subject_template, step.body_template):
            try:
                Template(text)
            except TemplateSyntaxError as e:
                raise ApiError(
                    400,
                    "invalid_template",
                    f"Step {step.offset_days}: the template does not compile: {e}",
                ) from None


def write(sequence: Sequence, data: SequenceIn, customers: list[Customer]) -> None:
    """Replace the sequence's name, steps and followers with the request's."""
    sequence.name, sequence.updated_at = data.name, clock.now()
    sequence.save()
    kept = {s.offset_days: s for s in sequence.steps.all()}
    wanted = {s.offset_days for s in data.steps}
    Step.objects.filter(sequence=sequence).exclude(offset_days__in=wanted).delete()
    for step in data.steps:
        found = kept.get(step.offset_days) or Step(
            partner_id=sequence.partner_id, sequence=sequence, offset_days=step.offset_days
        )
        found.subject_template, found.body_template = step.subject_template, step.body_template
        found.is_final = step.is_final
        found.save()
    if sequence.is_default:
        return
    CustomerPolicy.objects.filter(sequence=sequence).exclude(
        customer_id__in=[c.pk for c in customers]
    ).update(sequence=None)
    for customer in customers:
        policy = CustomerPolicy.for_customer(customer)
        policy.sequence = sequence
        policy.save(update_fields=["sequence"])


@router.get("/sequences", response={200: SequencePage, **LIST_ERRORS})
def list_sequences(request: HttpRequest, page: PageQuery):
    """List reminder sequences with their steps, newest first."""
    return paginate(sequences_of(request), page)


@router.get("/sequences/{id}", response={200: SequenceOut, **DETAIL_ERRORS})
def get_sequence(request: HttpRequest, id: Id):
    """Return one sequence: its steps (days from the due date) and templates."""
    return get_object_or_404(sequences_of(request), pk=id)


@router.post("/sequences", response={201: SequenceOut, **responses(400, 401, 404, 422)})
def create_sequence(request: HttpRequest, data: SequenceIn):
    """Create a sequence for the customers named; the others follow the default."""
    check_steps(data.steps)
    customers = own_customers(request, data.customers)
    with transaction.atomic():
        sequence = Sequence.objects.create(partner=request.partner, name=data.name)
        write(sequence, data, customers)
    return Status(201, get_object_or_404(sequences_of(request), pk=sequence.pk))


@router.put("/sequences/{id}", response={200: SequenceOut, **DETAIL_ERRORS, **responses(400, 409)})
def replace_sequence(request: HttpRequest, id: Id, data: SequenceIn):
    """Replace a sequence's name, steps and customers; open invoices follow from their next step."""
    with transaction.atomic():
        sequence = get_object_or_404(
            Sequence.objects.for_partner(request.partner).select_for_update(), pk=id
        )
        check_steps(data.steps)
        customers = own_customers(request, data.customers)
        if sequence.is_default and customers:
            raise ApiError(
                409, "default_sequence", "Every customer without another follows the default."
            )
        write(sequence, data, customers)
    return get_object_or_404(sequences_of(request), pk=id)


@router.delete("/sequences/{id}", response={204: None, **DETAIL_ERRORS, **responses(409)})
def delete_sequence(request: HttpRequest, id: Id):
    """Delete a sequence; its customers follow the default again."""
    sequence = get_object_or_404(Sequence.objects.for_partner(request.partner), pk=id)
    if sequence.is_default:
        raise ApiError(409, "default_sequence", "The default sequence cannot be deleted.")
    sequence.delete()
    return Status(204, None)


# -- sends --------------------------------------------------------------------------------


def sends_of(request: HttpRequest):
    return (
        ReminderEmail.objects.for_partner(request.partner)
        .select_related("customer")
        .prefetch_related("reminders__invoice")
    )


@router.get("/sends", response={200: SendPage, **LIST_ERRORS})
def list_sends(
    request: HttpRequest,
    page: PageQuery,
    customer: Id = None,
    status: choices(ReminderEmail.Status) = None,
    kind: choices(ReminderEmail.Kind) = None,
):
    """List reminder and statement emails, newest first: who got what, and failures and bounces."""
    sends = sends_of(request)
    if customer is not None:
        sends = sends.filter(customer_id=customer)
    if status is not None:
        sends = sends.filter(status=status)
    if kind is not None:
        sends = sends.filter(kind=kind)
    return paginate(sends, page)


@router.get("/sends/{id}", response={200: SendDetailOut, **DETAIL_ERRORS})
def get_send(request: HttpRequest, id: Id):
    """Return one email with its body."""
    return get_object_or_404(sends_of(request), pk=id)


@router.post("/sends", response={200: SendOut, 201: SendOut, **responses(400, 401, 404, 409, 422)})
def send_now(
    request: HttpRequest,
    data: SendIn,
    idempotency_key: Annotated[
        str, StringConstraints(max_length=255, pattern=r"^[!-~]+$")
    ] = Header(None, alias="Idempotency-Key"),
):
    """Email a customer their open invoices now, outside the schedule.

    With an Idempotency-Key, a repeated request answers 200 with the first send.
    """
    customer = get_object_or_404(Customer.objects.for_partner(request.partner), pk=data.customer)
    key = idempotency_key or ""
    if key and (found := reminders.existing_send(request.partner.pk, key)) is not None:
        if found.customer_id != customer.pk:
            raise ApiError(409, "key_reused", "That Idempotency-Key sent to another customer.")
        return Status(200, get_object_or_404(sends_of(request), pk=found.pk))
    if not reminders.chasable(request.partner.pk).filter(customer=customer).exists():
        raise ApiError(409, "nothing_to_send", f"{customer} has no open invoice to remind of.")
    email = reminders.send_now(customer, key=key)
    return Status(201, get_object_or_404(sends_of(request), pk=email.pk))


# -- pauses -------------------------------------------------------------------------------


def pauses_of(request: HttpRequest):
    return (
        CustomerPolicy.objects.for_partner(request.partner)
        .filter(paused=True)
        .select_related("customer", "paused_by")
    )


@router.get("/pauses", response={200: PausePage, **LIST_ERRORS})
def list_pauses(request: HttpRequest, page: PageQuery, customer: Id = None):
    """List paused customers: no reminders or statements go to them."""
    pauses = pauses_of(request)
    if customer is not None:
        pauses = pauses.filter(customer_id=customer)
    return paginate(pauses, page)


@router.get("/pauses/{id}", response={200: PauseOut, **DETAIL_ERRORS})
def get_pause(request: HttpRequest, id: Id):
    """Return one pause."""
    return get_object_or_404(pauses_of(request), pk=id)


@router.post("/pauses", response={200: PauseOut, 201: PauseOut, **responses(400, 401, 404, 422)})
def pause(request: HttpRequest, data: PauseIn):
    """Pause a customer's reminders and statements (200 if they were paused already)."""
    customer = get_object_or_404(Customer.objects.for_partner(request.partner), pk=data.customer)
    policy = CustomerPolicy.for_customer(customer)
    if policy.paused:
        return Status(200, get_object_or_404(pauses_of(request), pk=policy.pk))
    policy.pause(reason=data.reason)
    AuditEntry.record(
        request.partner,
        "collections.paused",
        target=str(customer),
        reason=data.reason,
        via=f"API key {request.auth}",
    )
    return Status(201, get_object_or_404(pauses_of(request), pk=policy.pk))


@router.delete("/pauses/{id}", response={204: None, **DETAIL_ERRORS})
def resume(request: HttpRequest, id: Id):
    """End a pause: reminders go on from each invoice's next step due."""
    policy = get_object_or_404(pauses_of(request), pk=id)
    policy.resume()
    AuditEntry.record(
        request.partner,
        "collections.resumed",
        target=str(policy.customer),
        via=f"API key {request.auth}",
    )
    return Status(204, None)
