"""Collections jobs: reminders and statements every hour, and a partner's run on demand.

The run for a day is planned and sent from the database's rows, so running it
again (a second worker, a retry, the next hour) sends nothing twice; a lock
keeps two runs of one partner apart all the same.
"""

import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from arbridge.collections import reminders, statements
from arbridge.collections.models import CollectionsSettings
from arbridge.core.models import Partner

logger = logging.getLogger(__name__)


@db_task()
def run_partner(partner_id: int) -> dict:
    enabled = CollectionsSettings.for_partner(partner_id).reminders_enabled
    with HUEY.lock_task(f"collections-reminders-{partner_id}"):
        result = reminders.run(partner_id) if enabled else reminders.RunResult()
        sent = statements.run(partner_id)
    logger.info("Reminders for partner %s: %s; statements: %s", partner_id, result, sent)
    return result.by_status


@db_periodic_task(crontab(minute="15"))
def run_reminders() -> None:
    """Run every partner's reminders and statements (hourly: failures retry within the day)."""
    for partner_id in Partner.objects.values_list("pk", flat=True):
        run_partner(partner_id)
