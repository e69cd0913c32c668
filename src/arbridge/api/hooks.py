"""REST API: a partner's webhook endpoints and their deliveries (docs/webhooks.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from arbridge.api.errors import ApiError, responses
from arbridge.api.pagination import Id, Page, PageQuery, paginate
from arbridge.hooks import register, tasks
from arbridge.hooks.delivery import Refused
from arbridge.hooks.models import EVENT_TYPES, Delivery, Endpoint

router = Router(tags=["webhooks"])

EventType = Literal[tuple(EVENT_TYPES)]
# No control character or space of any kind, listed: regex engines disagree on what \s is.
NO_SPACE = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
EndpointUrl = Annotated[
    str, StringConstraints(min_length=8, max_length=500, pattern=rf"^https?://{NO_SPACE}+$")
]
LIST_ERRORS = responses(400, 401, 422)
DETAIL_ERRORS = responses(401, 404, 422)


class EndpointIn(Schema):
    url: EndpointUrl
    description: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] = ""
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    status: Literal["active", "disabled"]
    status_detail: str
    failing_since: dt.datetime | None
    created_at: dt.datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="The signing secret: keep it; see docs/webhooks.md.")


class RotateParams(Schema):
    overlap_hours: int = Field(24, ge=0, le=168, description="How long the old secret still signs.")


class DeliveryFilters(Schema):
    endpoint: int = Field(None, ge=1, le=2**63 - 1, description="Only this endpoint's.")


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_event_id(delivery: Delivery) -> str:
        return delivery.event.public_id

    @staticmethod
    def resolve_event_type(delivery: Delivery) -> str:
        return delivery.event.type


def endpoints(request: HttpRequest):
    return Endpoint.objects.for_partner(request.partner)


@router.get("/webhook-endpoints", response={200: Page[EndpointOut], **LIST_ERRORS})
def list_endpoints(request: HttpRequest, page: PageQuery):
    """List the partner's webhook endpoints, newest first."""
    return paginate(endpoints(request), page)


@router.post("/webhook-endpoints", response={201: EndpointWithSecret, **LIST_ERRORS})
def create_endpoint(request: HttpRequest, body: EndpointIn):
    """Register an endpoint for the events given; the answer carries its signing secret."""
    try:
        endpoint = register.register(request.partner, body.url, body.events, body.description)
    except (Refused, ValueError) as e:
        raise ApiError(422, "invalid", str(e)) from e
    return Status(201, endpoint)


@router.get("/webhook-endpoints/{id}", response={200: EndpointWithSecret, **DETAIL_ERRORS})
def get_endpoint(request: HttpRequest, id: Id):
    """Return one endpoint with its signing secret."""
    return get_object_or_404(endpoints(request), pk=id)


@router.delete("/webhook-endpoints/{id}", response={204: None, **DETAIL_ERRORS})
def delete_endpoint(request: HttpRequest, id: Id):
    """Delete an endpoint and its deliveries."""
    get_object_or_404(endpoints(request), pk=id).delete()
    return Status(204, None)


@router.post("/webhook-endpoints/{id}/rotate", response={200: EndpointWithSecret, **DETAIL_ERRORS})
def rotate_secret(request: HttpRequest, id: Id, params: Query[RotateParams]):
    """Give the endpoint a new secret; the old one keeps signing beside it for the overlap."""
    endpoint = get_object_or_404(endpoints(request), pk=id)
    endpoint.rotate(dt.timedelta(hours=params.overlap_hours))
    return endpoint


@router.get(
    "/webhook-endpoints/{id}/deliveries",
    response={200: Page[DeliveryOut], **DETAIL_ERRORS, **responses(400)},
)
def list_deliveries(request: HttpRequest, id: Id, page: PageQuery):
    """List an endpoint's deliveries, newest first."""
    endpoint = get_object_or_404(endpoints(request), pk=id)
    deliveries = Delivery.objects.for_partner(request.partner).filter(endpoint=endpoint)
    return paginate(deliveries.select_related("event"), page)


@router.get("/webhook-deliveries", response={200: Page[DeliveryOut], **LIST_ERRORS})
def list_all_deliveries(request: HttpRequest, page: PageQuery, filters: Query[DeliveryFilters]):
    """List the partner's deliveries to every endpoint, newest first."""
    deliveries = Delivery.objects.for_partner(request.partner).select_related("event")
    if filters.endpoint is not None:
        deliveries = deliveries.filter(endpoint_id=filters.endpoint)
    return paginate(deliveries, page)


@router.post("/webhook-deliveries/{id}/replay", response={202: DeliveryOut, **DETAIL_ERRORS})
def replay_delivery(request: HttpRequest, id: Id):
    """Send a delivery again now, whatever became of it."""
    delivery = get_object_or_404(Delivery.objects.for_partner(request.partner), pk=id)
    tasks.replay_delivery(delivery.pk)
    delivery.refresh_from_db()
    return Status(202, delivery)
