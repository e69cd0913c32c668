"""Jobs: sync a connection, deliver an outbound command, sweep for lost work.

Huey deletes a task when a consumer takes it, so a consumer killed mid-task
loses it; the rows (SyncRun, OutboundCommand) are the record of owed work,
every task is idempotent, and the sweeper re-enqueues what went stale.
"""

from huey.contrib.djhuey import db_task

from arbridge.integrations.models import Connection, SyncRun


def request_sync(connection: Connection, trigger: str = SyncRun.Trigger.MANUAL) -> SyncRun:
    """Record a sync run owed for the connection and enqueue its job."""
    run = SyncRun.objects.create(
        partner_id=connection.partner_id, connection=connection, trigger=trigger
    )
    sync_connection(run.pk)
    return run


@db_task()
def sync_connection(run_id: int) -> None:
    """Run one owed sync (to be completed by the jobs work)."""
    raise NotImplementedError
