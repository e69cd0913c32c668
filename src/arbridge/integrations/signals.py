"""What the integrations' records announce, for the job queue (tasks.py) to act on.

The database is the record of owed work; a job is only a prompt to do it
soon. The modules that record work (models, outbox, external payments) send
these once their transaction commits, and tasks.py, which imports them,
schedules the job: dependencies point one way. A prompt that is lost (the
queue down, the process gone) leaves the work recorded, and the sweepers
find it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.dispatch import Signal

# command_id, eta (None: now): an outbound command to deliver.
delivery_due = Signal()
# connection_id, when: a connection's batches that come due at `when`.
batches_due = Signal()
# partner_id: the partner's external payments to reconcile.
reconcile_due = Signal()


def on_commit(signal: Signal, **kwargs) -> None:
    """Send the signal once the current transaction commits; a failing receiver loses nothing.

    robust: the work is committed whatever the queue says, and the caller's
    request must not fail because a job could not be enqueued.
    """
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs), robust=True)


def deliver(command_id: int, eta: dt.datetime | None = None) -> None:
    """Prompt a command's delivery now, or at `eta`."""
    delivery_due.send(sender=None, command_id=command_id, eta=eta)
