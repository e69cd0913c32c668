"""REST API v1: read a partner's receivables and ask for syncs, with an API key.

Every query starts from `Model.objects.for_partner(request.partner)`, so
another partner's ids are simply not found (404), never forbidden (403).
"""

from functools import wraps

from django.db.models import Prefetch, Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema, Status
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from arbridge.api import hooks, idempotency, schemas
from arbridge.api.autopay import router as autopay_router
from arbridge.api.collections import router as collections_router
from arbridge.api.errors import ApiError, install_handlers, responses
from arbridge.api.pagination import Id, PageQuery, paginate
from arbridge.core import clock
from arbridge.core.models import ApiKey, AuditEntry, Connection
from arbridge.integrations import tasks
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.ledger.models import (
    Contact,
    Customer,
    Deposit,
    Invoice,
    Payment,
    PaymentAllocation,
)
from arbridge.payments import events
from arbridge.payments.base import ProcessorError
from arbridge.payments.services import CheckoutError
from arbridge.portal.manage import live_links
from arbridge.portal.models import PortalLink

UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
# Methods that change nothing: the only ones a read-only key may use.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiKeyAuth(HttpBearer):
    """Authorization: Bearer <key>; the key's partner goes on the request.

    A read-only key is refused (403) on every other method, before the request is
    even validated, so that it learns nothing from a write.
    """

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = ApiKey.objects.authenticate(token)
        if key is None:
            return None
        if request.method not in SAFE_METHODS and not key.can_write:
            raise ApiError(
                403, "read_only_key", f"The key {key.prefix}… is read-only; this needs a write key."
            )
        request.partner = key.partner
        return key


class Api(NinjaAPI):
    """The API, whose OpenAPI document also tells what every write takes and may answer."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                if method.upper() not in SAFE_METHODS:
                    document_write(operation)
        return schema


def document_write(operation: dict) -> None:
    """Add the read-only key's 403 and the Idempotency-Key header to a write operation."""
    error = {"$ref": "#/components/schemas/ErrorOut"}
    operation["responses"].setdefault(
        403,
        {"description": "A read-only key", "content": {"application/json": {"schema": error}}},
    )
    parameters = operation.setdefault("parameters", [])
    if not any(p["in"] == "header" and p["name"] == idempotency.HEADER for p in parameters):
        parameters.append(idempotency.PARAMETER)


api = Api(
    title="arbridge API",
    version="1",
    description="Read a partner's customers, invoices, payments and connections; request syncs.",
    urls_namespace="api",
    auth=ApiKeyAuth(),
    # validatorUrl: None keeps Swagger UI from calling validator.swagger.io; the page
    # loads only ninja's bundled assets, so it works offline.
    docs=Swagger(settings={"validatorUrl": None}),
)
install_handlers(api)


def via(request: HttpRequest) -> str:
    """Name the key that made a change, for the audit log."""
    return f"API key {request.auth}"


def refuse_unknown_parameters(view_func):
    """Answer 422 to a query parameter the operation does not take.

    A misspelt filter (`?stauts=open`) would otherwise be ignored and return every row.
    """

    @wraps(view_func)
    def wrapped(request: HttpRequest, **params):
        taken = set()
        for name, value in params.items():
            # A schema of parameters (the page) stands for its fields.
            taken |= set(type(value).model_fields) if isinstance(value, Schema) else {name}
        taken -= set(request.resolver_match.kwargs)
        if unknown := sorted(set(request.GET) - taken):
            raise ApiError(422, "invalid", f"Unknown query parameter: {', '.join(unknown)}.")
        return view_func(request, **params)

    return wrapped


api.add_decorator(refuse_unknown_parameters)
api.add_router("", collections_router)

LIST_ERRORS = responses(400, 401, 422)
DETAIL_ERRORS = responses(401, 404, 422)
# A joined connection's credentials are never shown, and decrypting them costs a
# Fernet call per row, so they are not read.
UNREAD = ("connection__credentials",)

# Filters are query parameters declared `name: Type = None`, not `Type | None`: absent
# means no filter, and the OpenAPI document gives each a plain type, not "or null".


# -- customers --------------------------------------------------------------


@api.get("/customers", response={200: schemas.CustomerPage, **LIST_ERRORS})
def list_customers(
    request: HttpRequest, page: PageQuery, search: schemas.Search = None, archived: bool = None
):
    """List customers, newest first; `search` finds a name or email, as the dashboard's box does."""
    customers = Customer.objects.for_partner(request.partner)
    if search is not None:
        customers = customers.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if archived is not None:
        customers = customers.filter(archived=archived)
    return paginate(customers, page)


@api.get("/customers/{id}", response={200: schemas.CustomerDetailOut, **DETAIL_ERRORS})
def get_customer(request: HttpRequest, id: Id):
    """Return one customer with its contacts."""
    customers = Customer.objects.for_partner(request.partner).prefetch_related("contacts")
    return get_object_or_404(customers, pk=id)


def own_customer(request: HttpRequest, id: int) -> Customer:
    return get_object_or_404(Customer.objects.for_partner(request.partner), pk=id)


@api.get(
    "/customers/{id}/contacts",
    response={200: schemas.ContactPage, **DETAIL_ERRORS, **responses(400)},
)
def list_contacts(request: HttpRequest, id: Id, page: PageQuery):
    """List a customer's contacts, newest first."""
    customer = own_customer(request, id)
    return paginate(Contact.objects.for_partner(request.partner).filter(customer=customer), page)


@api.get(
    "/customers/{id}/portal-links",
    response={200: schemas.PortalLinkPage, **DETAIL_ERRORS, **responses(400)},
)
def list_portal_links(request: HttpRequest, id: Id, page: PageQuery):
    """List the customer's portal links that still work, newest first."""
    return paginate(live_links(own_customer(request, id)), page)


@api.post(
    "/customers/{id}/portal-links",
    response={201: schemas.PortalLinkOut, **DETAIL_ERRORS, **responses(400)},
)
def create_portal_link(request: HttpRequest, id: Id, data: schemas.PortalLinkIn):
    """Make a link to the customer's portal, to hand to them: it works for `days`."""
    customer = own_customer(request, id)
    days = data.days
    link = PortalLink.issue(customer, days=days)
    AuditEntry.record(
        request.partner, "portal_link.created", target=str(customer), days=days, via=via(request)
    )
    return Status(201, link)


def handed_out(request: HttpRequest):
    """Return the partner's portal links made to hand out (not the sign-in links it emailed)."""
    return (
        PortalLink.objects.for_partner(request.partner)
        .filter(emailed_to="")
        .select_related("customer", "created_by")
    )


@api.get("/portal-links", response={200: schemas.PortalLinkPage, **LIST_ERRORS})
def list_all_portal_links(request: HttpRequest, page: PageQuery, customer: Id = None):
    """List the portal links that still work, every customer's, newest first."""
    links = handed_out(request).filter(revoked_at__isnull=True, expires_at__gt=clock.now())
    if customer is not None:
        links = links.filter(customer_id=customer)
    return paginate(links, page)


@api.get("/portal-links/{id}", response={200: schemas.PortalLinkOut, **DETAIL_ERRORS})
def get_portal_link(request: HttpRequest, id: Id):
    """Return one portal link, revoked or expired as it may be."""
    return get_object_or_404(handed_out(request), pk=id)


@api.post("/portal-links/{id}/revoke", response={200: schemas.PortalLinkOut, **DETAIL_ERRORS})
def revoke_portal_link(request: HttpRequest, id: Id):
    """Stop a link working and end the portal sessions opened with it (again: no change)."""
    link = get_object_or_404(handed_out(request), pk=id)
    if not link.is_revoked:
        link.revoke()
        AuditEntry.record(
            request.partner, "portal_link.revoked", target=str(link.customer), via=via(request)
        )
    return link


# -- invoices ---------------------------------------------------------------


@api.get("/invoices", response={200: schemas.InvoicePage, **LIST_ERRORS})
def list_invoices(
    request: HttpRequest,
    page: PageQuery,
    number: schemas.InvoiceNumber = None,
    status: schemas.InvoiceStatus = None,
    customer: Id = None,
    connection: Id = None,
    updated_since: schemas.Timestamp = None,
    overdue: bool = None,
):
    """List invoices, newest first, filtered by number, status, customer, connection or update.

    `overdue=true`: unpaid and past due, as the dashboard's Overdue filter.
    """
    invoices = (
        Invoice.objects.for_partner(request.partner)
        .select_related("customer", "connection")
        .defer(*UNREAD)
    )
    if number is not None:
        invoices = invoices.filter(number=number)
    if status is not None:
        invoices = invoices.filter(status=status)
    if customer is not None:
        invoices = invoices.filter(customer_id=customer)
    if connection is not None:
        invoices = invoices.filter(connection_id=connection)
    if updated_since is not None:
        invoices = invoices.filter(updated_at__gte=updated_since)
    if overdue is not None:
        late = Q(status__in=UNPAID, due_date__lt=clock.today())
        invoices = invoices.filter(late) if overdue else invoices.exclude(late)
    return paginate(invoices, page)


@api.get("/invoices/{id}", response={200: schemas.InvoiceDetailOut, **DETAIL_ERRORS})
def get_invoice(request: HttpRequest, id: Id):
    """Return one invoice with its lines, the payments applied to it and its credits."""
    invoices = (
        Invoice.objects.for_partner(request.partner)
        .select_related("customer", "connection")
        .defer(*UNREAD)
        .prefetch_related(
            "lines",
            "credits",
            Prefetch("allocations", PaymentAllocation.objects.select_related("payment")),
        )
    )
    return get_object_or_404(invoices, pk=id)


# -- payments ---------------------------------------------------------------


@api.get("/payments", response={200: schemas.PaymentPage, **LIST_ERRORS})
def list_payments(
    request: HttpRequest,
    page: PageQuery,
    status: schemas.PaymentStatus = None,
    customer: Id = None,
):
    """List payments, newest first."""
    payments = (
        Payment.objects.for_partner(request.partner)
        .select_related("customer", "connection")
        .defer(*UNREAD)
    )
    if status is not None:
        payments = payments.filter(status=status)
    if customer is not None:
        payments = payments.filter(customer_id=customer)
    return paginate(payments, page)


@api.get("/payments/{id}", response={200: schemas.PaymentDetailOut, **DETAIL_ERRORS})
def get_payment(request: HttpRequest, id: Id):
    """Return one payment with the invoices it pays."""
    payments = (
        Payment.objects.for_partner(request.partner)
        .select_related("customer", "connection")
        .defer(*UNREAD)
        .prefetch_related(
            Prefetch("allocations", PaymentAllocation.objects.select_related("invoice"))
        )
    )
    return get_object_or_404(payments, pk=id)


@api.post(
    "/payments/{id}/refund",
    response={200: schemas.PaymentDetailOut, **DETAIL_ERRORS, **responses(409, 503)},
)
def refund_payment(request: HttpRequest, id: Id):
    """Refund a payment taken through the processor in full; its write-back is reversed.

    503 if the processor cannot be reached: nothing was refunded, send it again.
    """
    payment = get_object_or_404(Payment.objects.for_partner(request.partner), pk=id)
    try:
        result = events.refund(payment)
    except CheckoutError as e:
        raise ApiError(409, "not_refundable", str(e)) from e
    except ProcessorError as e:
        message = "The processor could not be reached; nothing was refunded. Try again."
        raise ApiError(503, "processor_unavailable", message) from e
    AuditEntry.record(
        request.partner,
        "payment.refunded",
        target=str(payment),
        amount=str(result.amount),
        reference=result.reference,
        via=via(request),
    )
    return get_payment(request, id)


# -- deposits ---------------------------------------------------------------


@api.get("/deposits", response={200: schemas.DepositPage, **LIST_ERRORS})
def list_deposits(request: HttpRequest, page: PageQuery):
    """List deposits (processor payouts as they reached the bank), newest first."""
    return paginate(Deposit.objects.for_partner(request.partner), page)


@api.get("/deposits/{id}", response={200: schemas.DepositDetailOut, **DETAIL_ERRORS})
def get_deposit(request: HttpRequest, id: Id):
    """Return one deposit with its lines: the payments in it, its fees and surcharges."""
    deposits = Deposit.objects.for_partner(request.partner).prefetch_related("lines")
    return get_object_or_404(deposits, pk=id)


# -- connections ------------------------------------------------------------


@api.get("/connections", response={200: schemas.ConnectionPage, **LIST_ERRORS})
def list_connections(request: HttpRequest, page: PageQuery):
    """List connections, newest first."""
    return paginate(Connection.objects.for_partner(request.partner).defer("credentials"), page)


@api.get("/connections/{id}", response={200: schemas.ConnectionOut, **DETAIL_ERRORS})
def get_connection(request: HttpRequest, id: Id):
    """Return one connection (never its credentials)."""
    connections = Connection.objects.for_partner(request.partner).defer("credentials")
    return get_object_or_404(connections, pk=id)


@api.post(
    "/connections/{id}/sync",
    response={202: schemas.SyncRunOut, **DETAIL_ERRORS, **responses(409)},
)
def sync_connection(request: HttpRequest, id: Id):
    """Queue a sync of the connection now; answer with the queued run."""
    connection = get_object_or_404(Connection.objects.for_partner(request.partner), pk=id)
    if connection.status in (Connection.Status.PENDING, Connection.Status.DISCONNECTED):
        raise ApiError(
            409, "not_connected", f"{connection} is {connection.get_status_display().lower()}."
        )
    run = request_sync(connection, trigger=SyncRun.Trigger.MANUAL)
    AuditEntry.record(
        request.partner, "connection.sync_requested", target=str(connection), via=via(request)
    )
    return Status(202, run)


# -- sync runs --------------------------------------------------------------


@api.get("/sync-runs", response={200: schemas.SyncRunPage, **LIST_ERRORS})
def list_sync_runs(
    request: HttpRequest,
    page: PageQuery,
    connection: Id = None,
    status: schemas.SyncRunStatus = None,
):
    """List sync runs, newest first."""
    runs = SyncRun.objects.for_partner(request.partner).select_related("connection").defer(*UNREAD)
    if connection is not None:
        runs = runs.filter(connection_id=connection)
    if status is not None:
        runs = runs.filter(status=status)
    return paginate(runs, page)


@api.get("/sync-runs/{id}", response={200: schemas.SyncRunOut, **DETAIL_ERRORS})
def get_sync_run(request: HttpRequest, id: Id):
    """Return one sync run."""
    runs = SyncRun.objects.for_partner(request.partner).select_related("connection").defer(*UNREAD)
    return get_object_or_404(runs, pk=id)


# -- exceptions -------------------------------------------------------------


@api.get("/exceptions", response={200: schemas.ExceptionPage, **LIST_ERRORS})
def list_exceptions(
    request: HttpRequest,
    page: PageQuery,
    status: schemas.ExceptionStatus = None,
    kind: schemas.ExceptionKind = None,
    connection: Id = None,
):
    """List exceptions (things a person must resolve), newest first."""
    items = (
        ExceptionItem.objects.for_partner(request.partner)
        .select_related("connection")
        .defer(*UNREAD)
    )
    if status is not None:
        items = items.filter(status=status)
    if kind is not None:
        items = items.filter(kind=kind)
    if connection is not None:
        items = items.filter(connection_id=connection)
    return paginate(items, page)


@api.get("/exceptions/{id}", response={200: schemas.ExceptionDetailOut, **DETAIL_ERRORS})
def get_exception(request: HttpRequest, id: Id):
    """Return one exception with the record as it was received."""
    items = (
        ExceptionItem.objects.for_partner(request.partner)
        .select_related("connection")
        .defer(*UNREAD)
    )
    return get_object_or_404(items, pk=id)


@api.post("/exceptions/{id}/resolve", response={200: schemas.ExceptionDetailOut, **DETAIL_ERRORS})
def resolve_exception(request: HttpRequest, id: Id):
    """Mark an exception resolved (resolving a resolved one changes nothing)."""
    item = get_object_or_404(ExceptionItem.objects.for_partner(request.partner), pk=id)
    if item.resolve():
        AuditEntry.record(
            request.partner, "exception.resolved", target=f"exception {item.pk}", via=via(request)
        )
    return get_exception(request, id)


@api.post(
    "/exceptions/{id}/retry",
    response={202: schemas.ExceptionDetailOut, **DETAIL_ERRORS, **responses(409)},
)
def retry_exception(request: HttpRequest, id: Id):
    """Resolve an open exception and do its work again: redeliver its write or sync again."""
    item = get_object_or_404(ExceptionItem.objects.for_partner(request.partner), pk=id)
    if not item.can_retry:
        raise ApiError(409, "nothing_to_retry", "There is nothing to retry for this exception.")
    if tasks.retry_exception(item) is None:
        raise ApiError(409, "already_resolved", "This exception was already resolved.")
    AuditEntry.record(
        request.partner, "exception.retried", target=f"exception {item.pk}", via=via(request)
    )
    return Status(202, get_exception(request, id))


# -- webhooks -----------------------------------------------------------------------

api.add_router("", hooks.router)

api.add_router("/autopay", autopay_router)
