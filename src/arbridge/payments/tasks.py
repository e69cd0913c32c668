"""Payment jobs: read each partner's processor events, recover interrupted charges.

Webhooks bring events at once where the processor sends them; the poll every
minute is the safety net that also catches what a webhook missed (events are
applied once each, so both may see the same one).
"""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from arbridge.payments import base, events, services
from arbridge.payments.models import PaymentSettings

logger = logging.getLogger(__name__)


@db_task()
def poll_partner(partner_id: int) -> int:
    try:
        return events.poll_processor(partner_id)
    except base.ProcessorError as e:
        logger.warning("Polling the processor of partner %s failed: %s", partner_id, e)
        return 0


@db_task()
def process_delivery(delivery_id: int) -> None:
    """Apply a stored processor webhook delivery (payments/webhooks.py stored it)."""
    events.apply_delivery(delivery_id)


@db_periodic_task(crontab(minute="*"))
def poll_processors() -> None:
    """Poll the processor of every partner that has set one up."""
    for settings in PaymentSettings.objects.all():
        if settings.credentials:  # encrypted, so filtered here rather than in SQL
            poll_partner(settings.partner_id)


@db_periodic_task(crontab(minute="*"))
def recover_checkouts() -> None:
    services.recover_checkouts()


# Jobs that live beside the code they run, imported so that every consumer knows them.
from arbridge.payments import webhooks  # noqa: E402, F401
