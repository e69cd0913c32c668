"""The sync engine: apply a connector's changes to the ledger, checkpoint by checkpoint.

`run_sync` reads a connection's changes through `connector.pull(cursor)` and
commits them in batches: each `Cursor` the connector yields is stored in the
same transaction as the changes before it, so a run that dies resumes from
its last checkpoint and never leaves half a batch behind. A connection keeps
one SyncCursor per stream; with none stored the connector is asked for a full
sync (`pull(None)`), otherwise once per stored stream. A connector that reads
several streams should checkpoint each of them early in a full sync, so that
one interrupted after its first stream still resumes the others.

`apply_changes` applies one batch: the rules for each entity are in
integrations/apply/, the caches and the exceptions in apply/batch.py. A
change is applied once: one no newer than the version arbridge holds (by
remote update time, else numeric remote version) is ignored, and reapplying
a change changes nothing. A record that cannot be read, or that contradicts
money arbridge holds, becomes an ExceptionItem with its raw payload, and the
batch goes on; a later good version resolves that exception. Nothing here
writes to a source: arbridge's own edits never sync out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import DataError, IntegrityError, transaction

from arbridge.connectors.base import Capabilities, Change, Cursor, Op, Rejected
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import external_payments, registry
from arbridge.integrations.apply import APPLIERS
from arbridge.integrations.apply.batch import (
    CREATED,
    DELETED,
    ERROR,
    UNCHANGED,
    UPDATED,
    Batch,
    Invalid,
    Key,
    Quarantine,
    Unmatched,
    compare,
)
from arbridge.integrations.models import ExceptionItem, SyncCursor, SyncRun
from arbridge.ledger.models import LedgerError

# Changes held before committing without a checkpoint, for a connector slow to give one.
MAX_BATCH = 5000
RANK = {entity: rank for rank, entity in enumerate(APPLIERS)}
COUNTERS = {CREATED: "created", UPDATED: "updated", UNCHANGED: "unchanged", DELETED: "deleted"}

Item = Change | Rejected


def run_sync(run: SyncRun, connector) -> None:
    """Pull the run's connection's changes and apply them, storing each checkpoint."""
    stored = SyncCursor.objects.filter(connection=run.connection).order_by("stream")
    for cursor in [Cursor(c.stream, c.value) for c in stored] or [None]:
        pending: list[Item] = []
        for item in connector.pull(cursor):
            if isinstance(item, Cursor):
                commit(run, connector.capabilities, pending, item)
                pending = []
            else:
                pending.append(item)
                if len(pending) >= MAX_BATCH:
                    commit(run, connector.capabilities, pending, None)
                    pending = []
        if pending:
            commit(run, connector.capabilities, pending, None)


def commit(
    run: SyncRun, capabilities: Capabilities, items: list[Item], cursor: Cursor | None
) -> None:
    """Apply a batch, store the checkpoint after it and count it, in one transaction."""
    with transaction.atomic():
        outcomes = apply_changes(run.connection, items, capabilities, run) if items else []
        if cursor is not None:
            SyncCursor.objects.update_or_create(
                connection=run.connection,
                stream=cursor.stream,
                defaults={
                    "partner_id": run.partner_id,
                    "value": dict(cursor.value),
                    "updated_at": clock.now(),
                },
            )
        counts = Counter(outcomes)
        for outcome, field in COUNTERS.items():
            setattr(run, field, getattr(run, field) + counts[outcome])
        run.errors += counts[ERROR]
        run.heartbeat_at = clock.now()
        run.save(update_fields=[*COUNTERS.values(), "errors", "heartbeat_at"])


def apply_change(
    connection: Connection, change: Item, capabilities: Capabilities | None = None
) -> str:
    """Apply one change; return "created", "updated", "unchanged", "deleted" or "error"."""
    return apply_changes(connection, [change], capabilities)[0]


def apply_changes(
    connection: Connection,
    items: Iterable[Item],
    capabilities: Capabilities | None = None,
    run: SyncRun | None = None,
) -> list[str]:
    """Apply a batch of changes in one transaction; return each one's outcome, in order.

    The batch is applied entity by entity (customers before the invoices that
    name them, invoices before the payments and credits that settle them);
    changes to one record keep their order. "error" means the change was put
    aside as an ExceptionItem.
    """
    items = list(items)
    if capabilities is None:
        capabilities = registry.load(connection.kind).capabilities
    batch = Batch(connection, capabilities, run)
    outcomes: list[str] = [UNCHANGED] * len(items)
    with transaction.atomic():
        changed = {key(item) for item in items}
        batch.load_refs(changed)
        batch.load_ids(named_records(items) - changed)
        # A change naming an invoice later in the batch, or freed by a later change
        # (a payment unlinked before its invoice is voided), gets one more try once
        # everything else is in; its record's later changes wait behind it.
        retry: list[int] = []
        waiting: set[Key] = set()
        for entity, indexes in by_entity(items):
            applier = APPLIERS.get(entity)
            if applier is not None and applier.prefetch is not None:
                applier.prefetch(batch, [key(items[i]) for i in indexes])
            for i in create_new(batch, items, indexes, outcomes):
                if key(items[i]) in waiting or (outcome := apply_one(batch, items[i])) is None:
                    retry.append(i)
                    waiting.add(key(items[i]))
                else:
                    outcomes[i] = outcome
        for i in retry:
            outcomes[i] = apply_one(batch, items[i], final=True)
        batch.resolve_settled()
        external_payments.after_sync(connection)
    return outcomes


def create_new(
    batch: Batch, items: list[Item], indexes: list[int], outcomes: list[str]
) -> list[int]:
    """Create the records new to arbridge in bulk; return the changes left to apply singly.

    A record qualifies only on its first change in the batch, and only if
    arbridge holds no ref for it, so bulk creation changes no order.
    """
    applier = APPLIERS.get(items[indexes[0]].entity)
    if applier is None or applier.create_many is None:
        return indexes
    new, rest, seen = [], [], set()
    for i in indexes:
        item = items[i]
        if (
            isinstance(item, Change)
            and item.op == Op.UPSERT
            and key(item) not in seen
            and batch.ref(*key(item)) is None
        ):
            new.append(i)
        else:
            rest.append(i)
        seen.add(key(item))
    if not new:
        return indexes
    for i, outcome in zip(new, applier.create_many(batch, [items[i] for i in new]), strict=True):
        if outcome is None:
            rest.append(i)
        else:
            outcomes[i] = outcome
            batch.settled[key(items[i])] = outcome != ERROR
    return sorted(rest)


def apply_one(batch: Batch, item: Item, final: bool = False) -> str | None:
    """Apply one change in a savepoint; None: it failed and may succeed on a retry."""
    if isinstance(item, Rejected):
        batch.settled[key(item)] = False
        return batch.quarantine(ExceptionItem.Kind.MALFORMED_RECORD, item, item.reason)
    batch.begin()
    try:
        with transaction.atomic():
            outcome = apply_newer(batch, item)
    except (Unmatched, LedgerError) as e:
        batch.forget()
        if not final:
            return None
        kind = e.kind if isinstance(e, Quarantine) else ExceptionItem.Kind.CONFLICT
        outcome = batch.quarantine(kind, item, str(e))
    except Quarantine as e:
        batch.forget()
        outcome = batch.quarantine(e.kind, item, str(e))
    except (DataError, IntegrityError) as e:
        # A record our checks let through but the database refuses must not
        # stop every later run at the same place.
        batch.forget()
        outcome = batch.quarantine(ExceptionItem.Kind.OTHER, item, f"database refused it: {e}")
    if outcome is None:
        return UNCHANGED  # not newer than what arbridge holds
    batch.settled[key(item)] = outcome != ERROR
    return outcome


def apply_newer(batch: Batch, change: Change) -> str | None:
    """Apply a change unless arbridge holds this version or a newer one (None)."""
    applier = APPLIERS.get(change.entity)
    if applier is None:
        raise Invalid(f"arbridge does not sync {change.entity!r} records")
    ref = batch.ref(change.entity, change.remote_id)
    if ref is not None:
        order = compare(change, ref)
        if order is not None and order <= 0:
            return None
    if change.op == Op.DELETE:
        return applier.delete(batch, change, ref)
    return applier.upsert(batch, change, ref)


def key(item: Item) -> Key:
    return (item.entity, item.remote_id)


def by_entity(items: list[Item]) -> list[tuple[str, list[int]]]:
    """Group the items' indexes by entity, in apply order, keeping order within each."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(item.entity, []).append(i)
    return sorted(groups.items(), key=lambda group: RANK.get(group[0], len(RANK)))


def named_records(items: list[Item]) -> set[Key]:
    """Return every record the batch changes or names, to fetch their refs or ids at once."""
    keys = {key(item) for item in items}
    for item in items:
        record = getattr(item, "record", None)
        if customer := getattr(record, "customer_remote_id", None):
            keys.add(("customer", customer))
        if invoice := getattr(record, "invoice_remote_id", None):
            keys.add(("invoice", invoice))
        for allocation in getattr(record, "allocations", ()):
            keys.add(("invoice", allocation.invoice_remote_id))
    return keys
