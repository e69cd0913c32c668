"""API tasks: forget Idempotency-Keys once they can no longer be replayed."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from arbridge.api.models import IdempotentRequest


@db_periodic_task(crontab(minute="23"))
def purge_idempotency_keys() -> int:
    """Delete the requests kept longer than 24 hours; return how many went."""
    deleted, _ = IdempotentRequest.objects.expired().delete()
    return deleted
