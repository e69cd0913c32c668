"""Processor webhooks: one endpoint per partner, verified with that partner's secret.

POST /webhooks/stripe/<partner_slug>/ is the URL a partner gives Stripe
(/webhooks/sandbox-processor/<partner_slug>/ the sandbox processor's). The
partner's processor checks the Stripe-Signature against the partner's own
webhook secret, so one partner's events cannot be posted to another's URL; a
delivery that does not verify is refused with 401 and nothing is stored.
Each event is applied at once and once only (`apply_event` keeps its id):
Stripe repeats deliveries and sends them out of order, and retries for up to
three days while the answer is not 2xx (DOMAIN.md, Stripe).
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from arbridge.core.models import Partner
from arbridge.payments import events, services
from arbridge.payments.base import InvalidSignature, ProcessorError
from arbridge.payments.models import PaymentSettings

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def processor_webhook(request: HttpRequest, partner_slug: str, kind: str) -> HttpResponse:
    """Take a processor's delivery for one partner: verify it, apply its events, answer."""
    partner = get_object_or_404(Partner, slug=partner_slug)
    settings = PaymentSettings.objects.filter(partner=partner).first()
    if settings is None or settings.processor != kind:
        raise Http404(f"This partner does not collect through {kind}.")
    processor = services.processor_for(partner)
    try:
        delivered = processor.process_data(request)
    except InvalidSignature:
        logger.warning("Refused a %s webhook for %s whose signature does not verify", kind, partner)
        return HttpResponse("The signature does not verify.", status=401)
    except ProcessorError:
        # A payout's balance transactions could not be read: the processor delivers it again.
        logger.warning("%s could not be asked about a webhook for %s", kind, partner, exc_info=True)
        return HttpResponse("The processor could not be reached; deliver again later.", status=503)
    for event in delivered:
        events.apply_event(partner, event)
    return HttpResponse(status=200)
