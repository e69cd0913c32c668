"""Deliver outbound commands: the outbox's state machine.

    pending --claim--> in_flight --push ok--> done
       ^                   |
       +-- retryable ------+ (attempts left: wait, then pending again)
                           +-- permanent, or out of attempts --> dead + ExceptionItem

A claim is one conditional UPDATE, so of several workers handed the same
command only one pushes it; the claim carries a lease (`locked_until`), and a
command whose worker died is claimed again once the lease has run out. The
vendor sees the command's idempotency key on every attempt, so a push repeated
after a crash writes nothing twice.

A command's payload may name the local row it writes, as `entity` (an
ExternalRef entity) and `local_id`; its remote id is then stored as an
ExternalRef when the write succeeds. A delete's payload says `deletes` and
names the removed record's `remote_id`; its ExternalRef is marked deleted.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from arbridge.connectors.base import Command, PermanentError, RetryableError
from arbridge.core import clock
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand

logger = logging.getLogger(__name__)

Status = OutboundCommand.Status

# Waits after failed attempts 1, 2, 3...: 1, 2, 4, ... minutes, at most an hour.
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def backoff(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """Return the wait after a command's `attempts`-th failed attempt."""
    delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
    if retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return delay


def claimable(now: dt.datetime) -> Q:
    """Return the condition of a command a worker may take now."""
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.IN_FLIGHT, locked_until__lt=now
    )


def claim(command_id: int) -> OutboundCommand | None:
    """Take the command for this worker, or return None if it is not ours to deliver."""
    now = clock.now()
    claimed = OutboundCommand.objects.filter(claimable(now), pk=command_id).update(
        status=Status.IN_FLIGHT,
        locked_until=now + lease(),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    return OutboundCommand.objects.select_related("connection").get(pk=command_id)


def deliver(command_id: int) -> OutboundCommand | None:
    """Push one command to its connection if it is due; return it, or None if not claimed."""
    command = claim(command_id)
    if command is None:
        return None
    if command.attempts > command.MAX_ATTEMPTS:
        # Only a worker that died mid-push leaves a command here: stop trying.
        kill(command, f"Abandoned after {command.MAX_ATTEMPTS} attempts that never finished.")
        return command

    try:
        with http_client() as http:
            connector = build_connector(command.connection, http)
            ref = connector.push(Command(command.action, command.payload, command.idempotency_key))
    except (ImportError, LookupError) as e:
        kill(
            command, f"The {command.connection.get_kind_display()} connector is not available: {e}"
        )
    except PermanentError as e:
        kill(command, str(e))
    except RetryableError as e:
        retry_later(command, str(e), e.retry_after)
    except Exception as e:
        # A bug or an unmapped failure: record it and retry, so it ends as a
        # visible dead letter rather than a command stuck in flight.
        logger.exception("Delivering outbound command %s failed", command.pk)
        retry_later(command, f"{type(e).__name__}: {e}")
    else:
        succeed(command, ref.remote_id, ref.remote_version)
    return command


def succeed(command: OutboundCommand, remote_id: str, remote_version: str = "") -> None:
    """Mark the command done and link the local row it wrote to the remote record."""
    now = clock.now()
    command.status, command.remote_id, command.last_error = Status.DONE, remote_id, ""
    command.locked_until, command.updated_at = None, now
    with transaction.atomic():
        # Whatever another worker decided meanwhile, the write happened: done wins.
        command.save(
            update_fields=["status", "remote_id", "last_error", "locked_until", "updated_at"]
        )
        entity, local_id = command.payload.get("entity"), command.payload.get("local_id")
        if command.payload.get("deletes"):
            # A delete keeps the link to what it removed, marked deleted there.
            ExternalRef.objects.filter(
                connection=command.connection,
                entity=entity,
                remote_id=command.payload.get("remote_id", remote_id),
            ).update(deleted_at=now, updated_at=now)
        elif remote_id and entity in ExternalRef.Entity.values and local_id is not None:
            ExternalRef.objects.update_or_create(
                connection=command.connection,
                entity=entity,
                remote_id=remote_id,
                defaults={
                    "partner_id": command.partner_id,
                    "local_id": local_id,
                    "remote_version": remote_version,
                    "updated_at": now,
                },
            )


def retry_later(command: OutboundCommand, error: str, retry_after: float | None = None) -> None:
    """Put the command back to wait for its next attempt, or kill it if it has none left."""
    if command.attempts >= command.MAX_ATTEMPTS:
        kill(command, f"Gave up after {command.attempts} attempts. Last error: {error}")
        return
    now = clock.now()
    next_attempt_at = now + backoff(command.attempts, retry_after)
    released = OutboundCommand.objects.filter(pk=command.pk, status=Status.IN_FLIGHT).update(
        status=Status.PENDING,
        next_attempt_at=next_attempt_at,
        locked_until=None,
        last_error=error,
        updated_at=now,
    )
    if released:
        command.status, command.next_attempt_at, command.last_error = (
            Status.PENDING,
            next_attempt_at,
            error,
        )
        from arbridge.integrations.tasks import deliver_command

        # The sweeper would find it too; the schedule makes it prompt.
        deliver_command.schedule((command.pk,), eta=next_attempt_at)


def kill(command: OutboundCommand, reason: str) -> None:
    """Mark the command dead and open an exception a person can retry."""
    now = clock.now()
    with transaction.atomic():
        died = OutboundCommand.objects.filter(pk=command.pk, status=Status.IN_FLIGHT).update(
            status=Status.DEAD, locked_until=None, last_error=reason, updated_at=now
        )
        if not died:
            return  # another worker finished it meanwhile
        command.status, command.last_error = Status.DEAD, reason
        local_id = command.payload.get("local_id")
        ExceptionItem.objects.create(
            partner_id=command.partner_id,
            connection=command.connection,
            kind=ExceptionItem.Kind.WRITE_FAILED,
            title=f"Could not write {command.action} to {command.connection}",
            reason=reason,
            entity=str(command.payload.get("entity", ""))[:16],
            local_id=local_id if isinstance(local_id, int) else None,
            command=command,
        )
    logger.warning("Outbound command %s is dead: %s", command.pk, reason)


def requeue(command: OutboundCommand) -> bool:
    """Give a dead command a fresh set of attempts and deliver it once committed."""
    now = clock.now()
    revived = OutboundCommand.objects.filter(pk=command.pk, status=Status.DEAD).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, locked_until=None, updated_at=now
    )
    if revived:
        command.refresh_from_db()
        enqueue_on_commit(command)
    return bool(revived)


def enqueue_on_commit(command: OutboundCommand) -> None:
    """Enqueue the command's delivery once the current transaction commits."""
    from arbridge.integrations.tasks import deliver_command

    # robust: the command is committed whatever the queue says; if enqueuing
    # fails, the sweeper delivers it, and the caller's request must not fail.
    transaction.on_commit(lambda: deliver_command(command.pk), robust=True)
