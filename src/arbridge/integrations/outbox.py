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
command's own answer is recorded as a single push's would be, all in one
transaction; one whose outcome is known leaves its batch, so that a retry of
it is a new request.

A batch is formed by the claim itself: a worker takes what of the connection
is due now, up to the batch size, and sends it. It is due when it is full,
or when nothing went to the connection for the connector's spacing;
otherwise the connection is woken at the end of the spacing (a timer, not a
waiting worker), and what arrived meanwhile goes then. Commands that arrive
while a batch is in flight form the next one. So a lone payment goes out at
once, and batching happens only when commands pile up.

A command's payload may name the local row it writes, as `entity` (an
ExternalRef entity) and `local_id`; its remote id is then stored as an
ExternalRef when the write succeeds. A delete's payload says `deletes` and
names the removed record's `remote_id`; its ExternalRef is marked deleted.
"""

import datetime as dt
import logging
import operator
import uuid
from functools import reduce
from typing import NamedTuple

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
from arbridge.core.models import Connection
from arbridge.integrations import signals
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.integrations.registry import is_polled, load

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

    A command its connector batches goes in a batch (deliver_batches).
    """
    due = (
        OutboundCommand.objects.filter(claimable(clock.now()), pk=command_id)
        .values_list("action", "connection_id", "connection__kind")
        .first()
    )
    if due is None:
        return None  # not due, or taken: most tasks of a busy connection, whose batch went
    action, connection_id, kind = due
    if is_polled(kind):
        return None  # the vendor's next session takes it (connectors/polled.py)
    batching = connector_batching(kind)
    if batching and action in batching.actions:
        return deliver_batches(connection_id, batching, command_id)
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
    succeed_all([(command, RemoteRef(remote_id, remote_version))])


def succeed_all(answers: list[tuple[OutboundCommand, RemoteRef]]) -> None:
    """Mark commands done and link the rows they wrote, in one transaction and few queries."""
    now = clock.now()
    links, deletes = [], []
    for command, ref in answers:
        command.status, command.remote_id, command.last_error = Status.DONE, ref.remote_id, ""
        command.locked_until, command.updated_at = None, now
        entity, local_id = command.payload.get("entity"), command.payload.get("local_id")
        if command.payload.get("deletes"):
            # A delete keeps the link to what it removed, marked deleted there.
            remote_id = command.payload.get("remote_id", ref.remote_id)
            deletes.append(
                Q(connection_id=command.connection_id, entity=entity, remote_id=remote_id)
            )
        elif ref.remote_id and entity in ExternalRef.Entity.values and local_id is not None:
            links.append(
                ExternalRef(
                    partner_id=command.partner_id,
                    connection_id=command.connection_id,
                    entity=entity,
                    remote_id=ref.remote_id,
                    local_id=local_id,
                    remote_version=ref.remote_version,
                    updated_at=now,
                )
            )
    with transaction.atomic():
        # Whatever another worker decided meanwhile, the write happened: done wins.
        OutboundCommand.objects.bulk_update(
            [command for command, _ in answers],
            ["status", "remote_id", "last_error", "locked_until", "updated_at"],
        )
        if deletes:
            ExternalRef.objects.filter(reduce(operator.or_, deletes)).update(
                deleted_at=now, updated_at=now
            )
        ExternalRef.objects.bulk_create(
            links,
            update_conflicts=True,
            unique_fields=["connection", "entity", "remote_id"],
            update_fields=["partner", "local_id", "remote_version", "updated_at"],
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
        # The sweeper would find it too; the schedule makes it prompt.
        signals.deliver(command.pk, eta=next_attempt_at)


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
    signals.on_commit(signals.delivery_due, command_id=command.pk, eta=None)


# -- batches --------------------------------------------------------------------


def connector_batching(kind: str) -> Batching | None:
    """Return how a kind's connector batches its writes, or None if it sends each alone."""
    try:
        return load(kind).capabilities.batching
    except (ImportError, LookupError, AttributeError):
        return None  # deliver() records why the connector is not available


def deliver_due_batches(connection_id: int) -> None:
    """Send what of the connection has become due (the job a wake-up enqueues)."""
    kind = Connection.objects.filter(pk=connection_id).values_list("kind", flat=True).first()
    if kind and (batching := connector_batching(kind)):
        deliver_batches(connection_id, batching)


def deliver_batches(
    connection_id: int, batching: Batching, command_id: int | None = None
) -> OutboundCommand | None:
    """Send the connection's due batches one after another; have it woken for the rest.

    Return the command `command_id` if it went in a batch sent here, else None.
    A worker never waits for a batch to fill: what is not due yet goes when
    the connection is woken, or with the batch that the command filling it forms.
    """
    sent = None
    while True:
        batch = next_batch(connection_id, batching)
        if batch is None:
            return sent
        if isinstance(batch, dt.datetime):
            signals.batches_due.send(sender=None, connection_id=connection_id, when=batch)
            return sent
        members = list(
            OutboundCommand.objects.select_related("connection")
            .filter(batch_key=batch)
            .order_by("pk")
        )
        send_batch(batch, members)
        sent = next((m for m in members if m.pk == command_id), sent)


class Due(NamedTuple):
    """A connection's batch that may go now: one to send again as it was, or a new one."""

    resend: str  # the key of a batch sent before with no answer, or ""
    pending: list[int]  # else, the commands of a new batch, oldest first


def next_batch(connection_id: int, batching: Batching) -> str | dt.datetime | None:
    """Claim the connection's next due batch and return its key.

    Return when the next batch will be due if what is pending must wait for
    the spacing, or None if nothing is pending.
    """
    # A look without the lock first: most arrivals find nothing due, and need
    # not queue for the database's write lock to learn it.
    if not isinstance(found := look(connection_id, batching, clock.now()), Due):
        return found
    with transaction.atomic():
        # Batches of one connection are formed one at a time: they queue on its row.
        Connection.objects.select_for_update().filter(pk=connection_id).exists()
        now = clock.now()
        if not isinstance(found := look(connection_id, batching, now), Due):
            return found
        if found.resend:
            resend(found.resend, now)
            return found.resend
        key = f"arbridge-batch-{uuid.uuid4().hex}"
        OutboundCommand.objects.filter(claimable(now), pk__in=found.pending, batch_key="").update(
            status=Status.IN_FLIGHT,
            locked_until=now + lease(),
            attempts=F("attempts") + 1,
            batch_key=key,
            batched_at=now,
            updated_at=now,
        )
        return key


def look(connection_id: int, batching: Batching, now: dt.datetime) -> Due | dt.datetime | None:
    """Return the connection's batch that may go now, else when one may, or None if none is owed.

    A batch sent before with no answer goes first, at once. A new one goes
    when it is full, or when none went for the spacing.
    """
    commands = OutboundCommand.objects.filter(claimable(now), connection_id=connection_id)
    if owed := commands.exclude(batch_key="").values_list("batch_key", flat=True).first():
        return Due(owed, [])
    pending = list(
        commands.filter(action__in=batching.actions, batch_key="")
        .order_by("pk")
        .values_list("pk", flat=True)[: batching.max_commands]
    )
    if not pending:
        return None
    if len(pending) < batching.max_commands:
        last_went = (
            OutboundCommand.objects.filter(connection_id=connection_id)
            .exclude(batched_at=None)
            .order_by("-batched_at")
            .values_list("batched_at", flat=True)
            .first()
        )
        if last_went and (due_at := last_went + dt.timedelta(seconds=batching.spacing_s)) > now:
            return due_at
    return Due("", pending)


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
    """Record each claimed member's own answer, as a single push's would be, in one commit."""
    answered = dict(zip((m.pk for m in members), results, strict=True))
    succeeded = [(m, r) for m in mine if isinstance(r := answered[m.pk], RemoteRef)]
    failed = [(m, r) for m in mine if isinstance(r := answered[m.pk], ConnectorError)]
    with transaction.atomic():
        succeed_all(succeeded)
        if failed:
            # Their outcome is known: a retry is a new request.
            leave_batch([m for m, _ in failed])
        for member, error in failed:
            if isinstance(error, RetryableError):
                retry_later(member, str(error), error.retry_after)
            else:
                kill(member, str(error))


def leave_batch(commands: list[OutboundCommand]) -> None:
    """Take commands whose outcome is known out of their batch: a retry is a new request."""
    OutboundCommand.objects.filter(pk__in=[c.pk for c in commands]).update(batch_key="")
    for command in commands:
        command.batch_key = ""
