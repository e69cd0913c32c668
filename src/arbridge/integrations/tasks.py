"""Jobs: sync a connection, deliver an outbound command, sweep for lost work.

Huey deletes a task when a consumer takes it, so a consumer killed mid-task
loses it; the rows (SyncRun, OutboundCommand) are the record of owed work,
every task takes a row id and is idempotent, and the sweeper re-enqueues what
went stale. Enqueuing twice is harmless: a job claims its row with a
conditional UPDATE, and only one claim succeeds.
"""

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django import db
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.dispatch import receiver
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import (
    external_payments,
    hints,
    outbox,
    registry,
    schedules,
    signals,
    subscriptions,
    writeback,
)
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import ExceptionItem, OutboundCommand, SyncRun, WebhookEvent
from arbridge.integrations.sync import apply_changes, run_sync

logger = logging.getLogger(__name__)

# A running sync beats this often from a thread of its worker's own, however
# slow its vendor, and the sync engine once per batch besides; a run whose
# heartbeat is older than HEARTBEAT_TIMEOUT lost its worker, and the
# connection's next sync may start.
HEARTBEAT_INTERVAL_S = 15
HEARTBEAT_TIMEOUT = dt.timedelta(seconds=90)
# A run started this many times without finishing is given up on, so a run that
# kills its worker does not kill one every few minutes forever.
SYNC_MAX_ATTEMPTS = 3
# Owed work whose job should have run by now: what the sweeper looks for.
SWEEP_GRACE = dt.timedelta(minutes=1)
# At most this many commands and runs per sweep; the rest wait a minute.
SWEEP_BATCH = 1000


# -- sync ---------------------------------------------------------------------


def request_sync(connection: Connection, trigger: str = SyncRun.Trigger.MANUAL) -> SyncRun:
    """Record a sync run owed for the connection and enqueue its job.

    A run already queued for the connection is returned instead of a second one.
    """
    run = (
        SyncRun.objects.filter(connection=connection, status=SyncRun.Status.QUEUED)
        .order_by("pk")
        .first()
    )
    if run is None:
        run = SyncRun.objects.create(
            partner_id=connection.partner_id, connection=connection, trigger=trigger
        )
        # After commit, so the worker finds the row; if enqueuing fails, the sweeper finds it.
        transaction.on_commit(lambda: sync_connection(run.pk), robust=True)
    return run


@db_task()
def sync_connection(run_id: int) -> None:
    """Run one owed sync, unless another run of its connection is under way."""
    perform_sync(run_id)


def perform_sync(run_id: int) -> SyncRun | None:
    """Claim the run, pull its connection's changes, and record how it ended.

    Return the run, or None if it was not this worker's to run.
    """
    kind = SyncRun.objects.filter(pk=run_id).values_list("connection__kind", flat=True).first()
    if kind is not None and registry.is_polled(kind):
        return None  # its vendor's next session runs it (connectors/polled.py)
    run = claim_run(run_id)
    if run is None:
        return None
    if run.attempts > SYNC_MAX_ATTEMPTS:
        error = f"Abandoned after {SYNC_MAX_ATTEMPTS} attempts that never finished."
    else:
        error = pull_changes(run)
    finish_run(run, error)

    # A run that arrived while this one ran waited for it; start it now.
    if waiting := (
        SyncRun.objects.filter(connection_id=run.connection_id, status=SyncRun.Status.QUEUED)
        .order_by("pk")
        .first()
    ):
        sync_connection(waiting.pk)
    return run


def claim_run(run_id: int) -> SyncRun | None:
    """Mark the run running for this worker, or return None if it is not ours to run."""
    now = clock.now()
    stale = now - HEARTBEAT_TIMEOUT
    with transaction.atomic():
        connection_id = (
            SyncRun.objects.filter(pk=run_id).values_list("connection_id", flat=True).first()
        )
        if connection_id is None:
            return None
        # Claims for one connection queue on its row, so two workers never both
        # find it idle and start two runs.
        Connection.objects.select_for_update().filter(pk=connection_id).exists()
        is_busy = (
            SyncRun.objects.filter(
                connection_id=connection_id,
                status=SyncRun.Status.RUNNING,
                heartbeat_at__gte=stale,
            )
            .exclude(pk=run_id)
            .exists()
        )
        if is_busy:
            return None
        claimed = SyncRun.objects.filter(
            Q(status=SyncRun.Status.QUEUED)
            | Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=stale),
            pk=run_id,
        ).update(
            status=SyncRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
        )
        if not claimed:
            return None
    return SyncRun.objects.select_related("connection").get(pk=run_id)


def pull_changes(run: SyncRun) -> str:
    """Apply the connection's changes through the sync engine; return what went wrong, or ''."""
    connection = run.connection
    with http_client() as http:
        try:
            connector = build_connector(connection, http)
        except (ImportError, LookupError) as e:
            return f"The {connection.get_kind_display()} connector is not available: {e}"
        try:
            with beating(run):
                run_sync(run, connector)
        except Exception as e:
            logger.exception("Sync run %s failed", run.pk)
            return f"{type(e).__name__}: {e}"
    return ""


@contextmanager
def beating(run: SyncRun) -> Iterator[None]:
    """Keep the run's heartbeat fresh from a thread while the block runs.

    The thread dies with its process, which is the point: the beats stop when
    the worker does, not when a vendor is slow. It is not waited for: a beat
    held up by a lock finds the run finished and writes nothing (the attempt
    fences it, as in finish_run).
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_INTERVAL_S):
                with suppress(DatabaseError):
                    SyncRun.objects.filter(
                        pk=run.pk, status=SyncRun.Status.RUNNING, attempts=run.attempts
                    ).update(heartbeat_at=clock.now())
        finally:
            db.connection.close()  # this thread's own

    threading.Thread(target=beat, name=f"sync-run-{run.pk}-heartbeat", daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def finish_run(run: SyncRun, error: str) -> None:
    """Record the run's outcome, and keep the connection's sync exception up to date."""
    now = clock.now()
    status = SyncRun.Status.FAILED if error else SyncRun.Status.SUCCEEDED
    open_failures = ExceptionItem.objects.filter(
        connection_id=run.connection_id,
        kind=ExceptionItem.Kind.SYNC_FAILED,
        status=ExceptionItem.Status.OPEN,
    )
    with transaction.atomic():
        # attempts fences the write: a worker presumed dead must not overwrite its successor.
        finished = SyncRun.objects.filter(
            pk=run.pk, status=SyncRun.Status.RUNNING, attempts=run.attempts
        ).update(status=status, error_message=error, finished_at=now, heartbeat_at=now)
        if not finished:
            return
        run.status, run.error_message, run.finished_at = status, error, now
        if not error:
            Connection.objects.filter(pk=run.connection_id).update(last_synced_at=now)
            # The connection syncs again: its earlier failure needs no one now.
            open_failures.update(status=ExceptionItem.Status.RESOLVED, resolved_at=now)
        elif item := open_failures.first():
            # One open item per connection, however many runs fail before someone looks.
            item.reason, item.sync_run = error, run
            item.save(update_fields=["reason", "sync_run"])
        else:
            ExceptionItem.objects.create(
                partner_id=run.partner_id,
                connection_id=run.connection_id,
                kind=ExceptionItem.Kind.SYNC_FAILED,
                title=f"Sync of {run.connection} failed",
                reason=error,
                sync_run=run,
            )


# -- outbox -------------------------------------------------------------------


@db_task()
def deliver_command(command_id: int) -> None:
    """Push one outbound command to its connection, if it is due and not taken."""
    outbox.deliver(command_id)


@receiver(signals.delivery_due)
def enqueue_delivery(sender, command_id: int, eta: dt.datetime | None = None, **kwargs) -> None:
    """Enqueue a command's delivery, now or at `eta`, as the outbox asks."""
    if eta is None:
        deliver_command(command_id)
    else:
        deliver_command.schedule((command_id,), eta=eta)


@db_task()
def deliver_connection_batches(connection_id: int) -> None:
    """Send a connection's batches that have become due: its wake-up (wake_at)."""
    outbox.deliver_due_batches(connection_id)


# Connections this process will wake, and when: one timer each is enough.
_wakes: dict[int, dt.datetime] = {}
_wakes_lock = threading.Lock()


@receiver(signals.batches_due)
def wake_at(sender, connection_id: int, when: dt.datetime, **kwargs) -> None:
    """Send the connection's due batches at `when`, holding no worker until then.

    A consumer arms a timer that enqueues the job at that moment (Huey's
    scheduler would add up to its one-second tick). With jobs run inline
    (HUEY.immediate, no consumer) the job is only scheduled. A wake-up lost
    with its process leaves commands pending, and the sweeper finds them.
    """
    if HUEY.immediate:
        deliver_connection_batches.schedule((connection_id,), eta=when)
        return
    with _wakes_lock:
        armed = _wakes.get(connection_id)
        if armed is not None and armed <= when:
            return  # that timer finds these commands too
        _wakes[connection_id] = when
    delay = max(0.0, (when - clock.now()).total_seconds())
    timer = threading.Timer(delay, woken, (connection_id, when))
    timer.daemon = True
    timer.start()


def woken(connection_id: int, when: dt.datetime) -> None:
    with _wakes_lock:
        if _wakes.get(connection_id) == when:
            del _wakes[connection_id]
    try:
        deliver_connection_batches(connection_id)
    except Exception:
        # The queue is down: the commands are pending in the database, and the sweeper has them.
        logger.exception("Waking connection %s's batches failed", connection_id)


# -- the sweeper --------------------------------------------------------------


@db_periodic_task(crontab(minute="*"))
def sweep_periodically() -> None:
    """Re-enqueue owed work whose job was lost, every minute."""
    sweep()


def sweep() -> tuple[int, int]:
    """Re-enqueue stale commands and sync runs; return how many of each.

    Safe to run anywhere and often: each job claims its row, so a duplicate
    finds nothing to do.
    """
    now = clock.now()
    command_ids = list(
        OutboundCommand.objects.filter(
            Q(status=OutboundCommand.Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(status=OutboundCommand.Status.IN_FLIGHT, locked_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    run_ids = list(
        SyncRun.objects.filter(
            Q(status=SyncRun.Status.QUEUED, queued_at__lte=now - SWEEP_GRACE)
            | Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - HEARTBEAT_TIMEOUT)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for command_id in command_ids:
        deliver_command(command_id)
    for run_id in run_ids:
        sync_connection(run_id)
    if command_ids or run_ids:
        logger.info("Swept %d commands and %d sync runs", len(command_ids), len(run_ids))
    return len(command_ids), len(run_ids)


# -- exceptions ---------------------------------------------------------------


def retry_exception(item: ExceptionItem, user=None) -> OutboundCommand | SyncRun | None:
    """Resolve the exception and do its work again: redeliver its command, or sync again.

    Return the command or the sync run; None if the exception was already
    resolved, so pressing Retry twice retries once.
    """
    if not item.can_retry:
        raise ValueError(f"{item} has nothing to retry")
    with transaction.atomic():
        if not item.resolve(user):
            return None
        if item.command_id is not None:
            outbox.requeue(item.command)
            return item.command
        return request_sync(item.connection, SyncRun.Trigger.MANUAL)


# -- webhooks ---------------------------------------------------------------------


@db_task()
def process_webhook(event_id: int) -> None:
    """Read again and apply what a stored delivery says changed."""
    process(event_id)


def process(event_id: int) -> WebhookEvent | None:
    """Apply an event's hints unless that was done; return the event, or None if there is none.

    If that fails, a sync of the connection catches up instead.
    """
    event = WebhookEvent.objects.select_related("connection").filter(pk=event_id).first()
    if event is None or event.status == WebhookEvent.Status.PROCESSED:
        return event
    connection = event.connection
    if connection is None or not connection.is_active:
        event.finish(WebhookEvent.Status.PROCESSED, "Ignored: the connection is not connected.")
        return event
    try:
        with http_client() as http:
            connector = build_connector(connection, http)
            changes = hints.read_hinted(event, connector)
        with transaction.atomic():
            apply_changes(connection, changes, connector.capabilities)
            event.finish(WebhookEvent.Status.PROCESSED)
    except Exception as e:
        logger.exception("Webhook event %s could not be applied; syncing instead", event.pk)
        with transaction.atomic():
            event.finish(WebhookEvent.Status.FAILED, f"{type(e).__name__}: {e}")
            # The daily sweep would find the change too; a sync now finds it sooner.
            request_sync(connection, SyncRun.Trigger.WEBHOOK)
    return event


# -- on the clock ------------------------------------------------------------------


@db_periodic_task(crontab(minute="*/5"))
def sync_when_due() -> None:
    """Request the syncs that have come due, every five minutes."""
    if runs := request_due_syncs():
        logger.info("Requested %d scheduled syncs", len(runs))


def request_due_syncs() -> list[SyncRun]:
    """Request a sync of every connected connection whose interval has passed since its last."""
    return [request_sync(c, SyncRun.Trigger.SCHEDULE) for c in schedules.due_connections()]


@db_periodic_task(crontab(minute="*"))
def catch_up() -> None:
    """Every minute: owe the writes that waited for others, and re-run lost webhook jobs."""
    writeback.owe_reversals()
    writeback.owe_deposits()
    sweep_webhook_events()


def sweep_webhook_events() -> int:
    """Process again the stored deliveries whose job was lost; return how many."""
    stale = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED,
        connection__isnull=False,
        received_at__lte=clock.now() - SWEEP_GRACE,
    )
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    for event_id in ids:
        process_webhook(event_id)
    return len(ids)


# -- external payments ----------------------------------------------------------------


@receiver(signals.reconcile_due)
def enqueue_reconcile(sender, partner_id: int, **kwargs) -> None:
    reconcile_partner(partner_id)


@db_task()
def reconcile_partner(partner_id: int) -> None:
    external_payments.reconcile(partner_id)


@db_periodic_task(crontab(minute="*/5"))
def reconcile_periodically() -> None:
    """Catch up every partner that syncs external payments, whatever triggers were lost."""
    for partner_id in external_payments.partners_mirroring():
        try:
            external_payments.reconcile(partner_id)
        except Exception:
            logger.exception("Reconciling external payments of partner %s failed", partner_id)


# -- subscriptions ---------------------------------------------------------------------


@db_periodic_task(crontab(minute="23"))
def keep_subscriptions_hourly() -> None:
    """Every hour: renew expiring subscriptions, make lapsed ones again and catch up."""
    if runs := renew_subscriptions():
        logger.info("Subscriptions made again for %d connections; catching up", len(runs))


def renew_subscriptions() -> list[SyncRun]:
    """Renew what expires; request a sync of each connection whose subscription lapsed."""
    lapsed = subscriptions.keep_subscriptions()
    return [request_sync(connection, SyncRun.Trigger.SCHEDULE) for connection in lapsed]
