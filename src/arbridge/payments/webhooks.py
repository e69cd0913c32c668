"""Processor webhooks: one endpoint per partner, verified with that partner's secret.

POST /webhooks/stripe/<partner_slug>/ is the URL a partner gives Stripe
(/webhooks/sandbox-processor/<partner_slug>/ the sandbox processor's). The
partner's processor checks the Stripe-Signature against the partner's own
webhook secret, so one partner's events cannot be posted to another's URL; a
delivery that does not verify is refused with 401 and nothing is stored.

A verified delivery is stored once, as a WebhookEvent keyed by its event id,
and answered 200 at once, before the processor is asked anything (a payout's
items are read from Stripe); the job `process_delivery` reads and applies
it. Each event is applied once only (`apply_event` keeps its id): Stripe
repeats deliveries and sends them out of order, and retries for up to three
days while the answer is not 2xx (DOMAIN.md, Stripe). A delivery the job
cannot apply is marked failed with the reason; the minute poll of the
processor's events (tasks.py) applies the event then.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from arbridge.core.models import Partner
from arbridge.integrations.models import WebhookEvent
from arbridge.payments import services, tasks
from arbridge.payments.base import InvalidSignature
from arbridge.payments.models import PaymentSettings

logger = logging.getLogger(__name__)

# The request headers worth keeping with the body, for a person looking at an event.
KEPT_HEADERS = ("content-type", "stripe-signature", "sandbox-signature")


@csrf_exempt
@require_POST
def processor_webhook(request: HttpRequest, partner_slug: str, kind: str) -> HttpResponse:
    """Take a processor's delivery for one partner: verify it, store it once, answer."""
    partner = get_object_or_404(Partner, slug=partner_slug)
    settings = PaymentSettings.objects.filter(partner=partner).first()
    if settings is None or settings.processor != kind:
        raise Http404(f"This partner does not collect through {kind}.")
    try:
        event_id = services.processor_for(settings).verify(request)
    except InvalidSignature:
        logger.warning("Refused a %s webhook for %s whose signature does not verify", kind, partner)
        return HttpResponse("The signature does not verify.", status=401)
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    delivery, created = WebhookEvent.store(
        partner, kind, f"{partner.pk}:{event_id}", request.body, headers=headers
    )
    if created:
        # robust: the delivery is stored whatever the queue says, and the poll reads it anyway.
        transaction.on_commit(lambda: tasks.process_delivery(delivery.pk), robust=True)
    return HttpResponse(status=200)
