"""Auto pay jobs: the runner every hour, and the emails it owes, sent after its commits."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from arbridge.autopay import notices, runner

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="7"))
@lock_task("autopay-run")
def run_autopay() -> None:
    """Charge what is due. Two runners at once still charge once (the Attempt row)."""
    report = runner.run()
    logger.info("Auto pay run: %s", report)


@db_task(retries=3, retry_delay=60)
def send_notice(kind: str, invoice_id: int, charge_on: str) -> int:
    return notices.send_notice(kind, invoice_id, charge_on)


@db_task(retries=3, retry_delay=60)
def send_attempt_notice(attempt_id: int) -> int:
    return notices.send_attempt_notice(attempt_id)


@db_task(retries=3, retry_delay=60)
def send_attempt_notices(attempt_ids: list[int]) -> int:
    """A run's receipts and failure notices, a page at a time; each is sent once."""
    return sum(notices.send_attempt_notice(attempt_id) for attempt_id in attempt_ids)


@db_task(retries=3, retry_delay=60)
def send_suspended_notice(enrollment_id: int) -> int:
    return notices.send_suspended_notice(enrollment_id)
