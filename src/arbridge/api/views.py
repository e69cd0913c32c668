"""REST API v1: read a partner's receivables and ask for syncs, with an API key.

Every query starts from `Model.objects.for_partner(request.partner)`, so
another partner's ids are simply not found (404), never forbidden (403).
"""

from functools import wraps

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema, Status
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from arbridge.api import hooks, idempotency, schemas
from arbridge.api.collections import router as collections_router
from arbridge.api.errors import ApiError, install_handlers, responses
from arbridge.api.pagination import Id, PageQuery, paginate
from arbridge.core.models import ApiKey, Connection
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.integrations.tasks import request_sync
from arbridge.ledger.models import Customer, Invoice, Payment, PaymentAllocation

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
def list_customers(request: HttpRequest, page: PageQuery):
    """List customers, newest first."""
    return paginate(Customer.objects.for_partner(request.partner), page)


@api.get("/customers/{id}", response={200: schemas.CustomerDetailOut, **DETAIL_ERRORS})
def get_customer(request: HttpRequest, id: Id):
    """Return one customer with its contacts."""
    customers = Customer.objects.for_partner(request.partner).prefetch_related("contacts")
    return get_object_or_404(customers, pk=id)


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
):
    """List invoices, newest first, filtered by number, status, customer, connection or update."""
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
    return Status(202, request_sync(connection, trigger=SyncRun.Trigger.MANUAL))


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


# -- webhooks -----------------------------------------------------------------------

api.add_router("", hooks.router)
