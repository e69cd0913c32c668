"""Outbound webhook jobs: every minute, turn changes into events and send what is due.

The rows are the record (hooks/models.py): a lost job is found again by the
next minute's run, and a delivery is claimed before it is sent, so two
workers never send it twice at once.
"""

import logging

from django.db.models import Q
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from arbridge.core import clock
from arbridge.hooks import capture, delivery
from arbridge.hooks.models import Delivery, Endpoint

logger = logging.getLogger(__name__)
# Deliveries enqueued per run at most; the rest go the next minute.
BATCH = 1000


@db_periodic_task(crontab(minute="*"))
def send_webhooks() -> None:
    capture_all()
    for delivery_id in due():
        deliver_webhook(delivery_id)


def capture_all() -> int:
    """Capture every partner with an endpoint; return how many events are new."""
    partners = Endpoint.objects.values_list("partner_id", flat=True)
    new = 0
    for partner_id in sorted(set(partners)):
        try:
            new += capture.capture(partner_id)
        except Exception:
            logger.exception("Capturing the events of partner %s failed", partner_id)
    return new


def due() -> list[int]:
    now = clock.now()
    return list(
        Delivery.objects.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__status=Endpoint.Status.ACTIVE,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    delivery.deliver(delivery_id)


@db_task()
def replay_delivery(delivery_id: int) -> None:
    found = Delivery.objects.filter(pk=delivery_id).first()
    if found is not None:
        delivery.replay(found)
