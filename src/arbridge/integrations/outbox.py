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

Batches. Where the connector can `push_many` (Capabilities.batching), its
commands of the batched actions go out together, up to its batch size, in one
request whose idempotency key is the batch's `batch_key`. Membership is
written to the commands before the request is sent, so after a crash or a
failure of the whole request the same commands go again under the same key,
and the vendor answers a batch it already did with its first answer. Each
command's own answer is recorded as a single push's would be; one whose
outcome is known leaves its batch, so that a retry of it is a new request.
A batch goes at once when it is full, or when nothing went to the connection
for the connector's spacing; otherwise it waits out the spacing (holding its
worker that long, at most), gathering what arrives meanwhile. So a lone
payment goes out at once and batching happens only when commands pile up.

A command's payload may name the local row it writes, as `entity` (an
ExternalRef entity) and `local_id`; its remote id is then stored as an
ExternalRef when the write succeeds. A delete's payload says `deletes` and
names the removed record's `remote_id`; its ExternalRef is marked deleted.
"""

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from arbridge.connectors.base import (
    Batching,
    Command,
    ConnectorError,
    PermanentError,
    RemoteRef,
    RetryableError,
)
from arbridge.core import clock
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import Connection, ExceptionItem, ExternalRef, OutboundCommand
from arbridge.integrations.registry import load

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
    """Push one command to its connection if it is due; return it, or None if not claimed.

    A command its connector batches goes in a batch (deliver_batch).
    """
    if batching := batching_for(command_id):
        return deliver_batch(command_id, batching)
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


# -- batches --------------------------------------------------------------------


def batching_for(command_id: int) -> Batching | None:
    """Return how the command's connector batches it, or None if it goes alone."""
    row = (
        OutboundCommand.objects.filter(pk=command_id)
        .values_list("action", "connection__kind")
        .first()
    )
    if row is None:
        return None
    action, kind = row
    try:
        batching = load(kind).capabilities.batching
    except (ImportError, LookupError, AttributeError):
        return None  # deliver() records why the connector is not available
    return batching if batching and action in batching.actions else None


def deliver_batch(command_id: int, batching: Batching) -> OutboundCommand | None:
    """Send the command's batch, once it is due; return the command, or None if not ours.

    A command whose task finds it already in a batch, or adds it to one that is
    waiting, leaves the sending to that batch's worker.
    """
    batch = form_batch(command_id, batching)
    if batch is None:
        return None
    key, send_at, is_new = batch
    if is_new:
        while (wait := (send_at - clock.now()).total_seconds()) > 0:
            if OutboundCommand.objects.filter(batch_key=key).count() >= batching.max_commands:
                break  # full before its time: it goes now
            time.sleep(min(wait, 0.05))
        close_batch(key, batching)
    members = list(
        OutboundCommand.objects.select_related("connection").filter(batch_key=key).order_by("pk")
    )
    send_batch(key, members)
    return next((m for m in members if m.pk == command_id), None)


def form_batch(command_id: int, batching: Batching) -> tuple[str, dt.datetime, bool] | None:
    """Claim the command in a batch; return (key, when it goes, is new) if this worker sends it.

    Return None if the command is not due, is being sent, or joined a batch
    that another worker is waiting to send.
    """
    if not OutboundCommand.objects.filter(claimable(clock.now()), pk=command_id).exists():
        return None  # most tasks of a busy connection: their command went with another's batch
    with transaction.atomic():
        connection_id = (
            OutboundCommand.objects.filter(pk=command_id)
            .values_list("connection_id", flat=True)
            .first()
        )
        if connection_id is None:
            return None
        # Batches of one connection are formed one at a time: they queue on its row.
        Connection.objects.select_for_update().filter(pk=connection_id).exists()
        now = clock.now()
        command = OutboundCommand.objects.filter(claimable(now), pk=command_id).first()
        if command is None:
            return None
        if command.batch_key:
            # Sent before, with no answer: the same batch again, under the same key.
            resend(command.batch_key, now)
            return command.batch_key, now, False
        batches = OutboundCommand.objects.filter(connection_id=connection_id).exclude(
            batched_at=None
        )
        latest = batches.order_by("-batched_at").values_list("batch_key", "batched_at").first()
        last_went = latest[1] if latest else None
        if latest and last_went > now:  # a batch is waiting to go
            size = batches.filter(batch_key=latest[0]).count()
            if size < batching.max_commands:
                gather(connection_id, latest[0], last_went, batching, first=command.pk)
                return None
            last_went = now  # it is full, so it goes now
        key = f"arbridge-batch-{uuid.uuid4().hex}"
        send_at = now
        if last_went and unbatched(connection_id, now, batching).count() < batching.max_commands:
            send_at = max(now, last_went + dt.timedelta(seconds=batching.spacing_s))
        gather(connection_id, key, send_at, batching, first=command.pk)
        return key, send_at, True


def unbatched(connection_id: int, now: dt.datetime, batching: Batching):
    """Return the connection's due commands that may join a new batch, oldest first."""
    return OutboundCommand.objects.filter(
        claimable(now),
        connection_id=connection_id,
        action__in=batching.actions,
        batch_key="",
    ).order_by("pk")


def gather(
    connection_id: int,
    key: str,
    send_at: dt.datetime,
    batching: Batching,
    first: int | None = None,
) -> None:
    """Claim due commands of the connection into the batch (`first` first), up to its size."""
    now = clock.now()
    room = batching.max_commands - OutboundCommand.objects.filter(batch_key=key).count()
    ids = [first] if first is not None else []
    others = unbatched(connection_id, now, batching).exclude(pk__in=ids)
    ids += list(others.values_list("pk", flat=True)[: max(0, room - len(ids))])
    OutboundCommand.objects.filter(claimable(now), pk__in=ids, batch_key="").update(
        status=Status.IN_FLIGHT,
        locked_until=max(now, send_at) + lease(),
        attempts=F("attempts") + 1,
        batch_key=key,
        batched_at=send_at,
        updated_at=now,
    )


def resend(key: str, now: dt.datetime) -> None:
    """Claim every member of a batch whose answer is still owed; it goes again now."""
    OutboundCommand.objects.filter(
        Q(status=Status.PENDING) | Q(status=Status.IN_FLIGHT, locked_until__lt=now),
        batch_key=key,
    ).update(
        status=Status.IN_FLIGHT,
        locked_until=now + lease(),
        attempts=F("attempts") + 1,
        batched_at=now,
        updated_at=now,
    )


def close_batch(key: str, batching: Batching) -> None:
    """Fill a new batch with what arrived while it waited, and mark it gone from now on."""
    with transaction.atomic():
        connection_id = (
            OutboundCommand.objects.filter(batch_key=key)
            .values_list("connection_id", flat=True)
            .first()
        )
        if connection_id is None:
            return
        Connection.objects.select_for_update().filter(pk=connection_id).exists()
        gather(connection_id, key, clock.now(), batching)
        OutboundCommand.objects.filter(batch_key=key).update(batched_at=clock.now())


def send_batch(key: str, members: list[OutboundCommand]) -> None:
    """Push the batch and record each member's answer; members not claimed here only ride along."""
    mine = [m for m in members if m.status == Status.IN_FLIGHT]
    if not mine:
        return
    if any(m.attempts > m.MAX_ATTEMPTS for m in mine):
        # Only workers that died mid-send leave a batch here: stop trying.
        for member in mine:
            kill(member, f"Abandoned after {member.MAX_ATTEMPTS} attempts that never finished.")
        return
    connection = members[0].connection
    commands = [Command(m.action, m.payload, m.idempotency_key) for m in members]
    try:
        with http_client() as http:
            results = build_connector(connection, http).push_many(commands, key)
    except (ImportError, LookupError) as e:
        leave_batch(mine)  # nothing was sent
        for member in mine:
            kill(member, f"The {connection.get_kind_display()} connector is not available: {e}")
    except PermanentError as e:
        leave_batch(mine)  # the vendor refused the request: nothing was written
        for member in mine:
            kill(member, str(e))
    except RetryableError as e:
        for member in mine:
            retry_later(member, str(e), e.retry_after)
    except Exception as e:
        logger.exception("Delivering outbound batch %s failed", key)
        for member in mine:
            retry_later(member, f"{type(e).__name__}: {e}")
    else:
        record_results(mine, members, results)


def record_results(
    mine: list[OutboundCommand],
    members: list[OutboundCommand],
    results: list[RemoteRef | ConnectorError],
) -> None:
    """Record each claimed member's own answer, as a single push's would be."""
    answered = dict(zip((m.pk for m in members), results, strict=True))
    with transaction.atomic():  # one commit for the batch's answers, not one each
        for member in mine:
            record_result(member, answered[member.pk])


def record_result(member: OutboundCommand, result: RemoteRef | ConnectorError) -> None:
    """Record one member's own answer; one that failed leaves its batch."""
    if not isinstance(result, ConnectorError):
        succeed(member, result.remote_id, result.remote_version)
        return
    leave_batch([member])
    if isinstance(result, RetryableError):
        retry_later(member, str(result), result.retry_after)
    else:
        kill(member, str(result))


def leave_batch(commands: list[OutboundCommand]) -> None:
    """Take commands whose outcome is known out of their batch: a retry is a new request."""
    OutboundCommand.objects.filter(pk__in=[c.pk for c in commands]).update(batch_key="")
    for command in commands:
        command.batch_key = ""
