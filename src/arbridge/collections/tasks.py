"""Collections jobs: the reminder run every hour, and a partner's run on demand.

The run for a day is planned and sent from the database's rows, so running it
again (a second worker, a retry, the next hour) sends nothing twice; a lock
keeps two runs of one partner apart all the same.
"""

import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from arbridge.collections import reminders
from arbridge.collections.models import CollectionsSettings
from arbridge.core.models import Partner

logger = logging.getLogger(__name__)


@db_task()
def run_partner(partner_id: int) -> dict:
    with HUEY.lock_task(f"collections-reminders-{partner_id}"):
        result = reminders.run(partner_id)
    logger.info("Reminders for partner %s: %s", partner_id, result)
    return result.by_status


@db_periodic_task(crontab(minute="15"))
def run_reminders() -> None:
    """Run every partner's reminders whose switch is on (hourly: failures retry within the day)."""
    off = CollectionsSettings.objects.filter(reminders_enabled=False).values("partner_id")
    for partner_id in Partner.objects.exclude(pk__in=off).values_list("pk", flat=True):
        run_partner(partner_id)
