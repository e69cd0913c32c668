"""One transaction's worth of changes from one connection, and what applying them needs.

A Batch caches the ExternalRefs (and, for the busy entities, the local rows) of
every record the batch names, so that applying a thousand changes costs a few
queries, not a few thousand. The appliers raise these to put a change aside:

    Quarantine            the change becomes an ExceptionItem; the run goes on
    ├── Invalid           fails our validation (malformed_record)
    ├── Duplicate         another invoice has its number (duplicate_number)
    └── Unmatched         names an invoice not synced yet (unmatched); retried
                          once at the end of the batch

A LedgerError (the source contradicts money arbridge holds) becomes a conflict,
also after one retry at the end of the batch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Model

from arbridge.connectors.base import Capabilities, Change, Op, Rejected
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.core.money import quantize
from arbridge.integrations.apply.insert import insert
from arbridge.integrations.models import ExceptionItem, ExternalRef, SyncRun
from arbridge.integrations.registry import display_name
from arbridge.ledger.models import Customer

CREATED, UPDATED, UNCHANGED, DELETED, ERROR = "created", "updated", "unchanged", "deleted", "error"

# SQLite builds older than 3.32 refuse more than 999 parameters in one statement.
CHUNK = 900

# Kinds of exception a later good version of the same record settles by itself.
SELF_RESOLVING = (
    ExceptionItem.Kind.MALFORMED_RECORD,
    ExceptionItem.Kind.CONFLICT,
    ExceptionItem.Kind.UNMATCHED,
    ExceptionItem.Kind.DUPLICATE_NUMBER,
)

Key = tuple[str, str]  # (entity, remote id)


class Quarantine(Exception):
    kind: str = ExceptionItem.Kind.OTHER


class Invalid(Quarantine):
    kind = ExceptionItem.Kind.MALFORMED_RECORD


class Duplicate(Quarantine):
    kind = ExceptionItem.Kind.DUPLICATE_NUMBER


class Unmatched(Quarantine):
    kind = ExceptionItem.Kind.UNMATCHED


def chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def compare(change: Change, ref: ExternalRef) -> int | None:
    """Return -1, 0 or 1 as the change is older than, as old as, or newer than the ref.

    The remote update time decides; without one on both sides, the remote
    versions compared as numbers when both are digits. None: cannot tell.
    """
    ours, theirs = ref.remote_updated_at, change.remote_updated_at
    if ours is not None and theirs is not None and ours != theirs:
        return -1 if theirs < ours else 1
    mine, other = ref.remote_version, change.remote_version
    if mine.isdigit() and other.isdigit() and int(mine) != int(other):
        return -1 if int(other) < int(mine) else 1
    if mine and mine == other:
        return 0
    if ours is not None and ours == theirs and not (mine or other):
        return 0
    return None


def verbatim(raw: Any) -> str:
    """Return the vendor payload as text, as close to how it arrived as we have it."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, default=str)


# -- validation: what our columns hold, checked the same way on SQLite and PostgreSQL


def text(value: str, name: str, max_length: int | None = None, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid(f"{name} is empty")
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters")
    return value


def email(value: str) -> str:
    value = text(value, "email", 254)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise Invalid(f"{value!r} is not an email address") from None
    return value


def currency_code(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise Invalid(f"{value!r} is not a currency code")
    return value


def money(value: Decimal, currency: str, name: str, signed: bool = False) -> Decimal:
    """Return an amount quantized to the currency; refuse what our columns cannot hold."""
    try:
        amount = quantize(value, currency)
    except (InvalidOperation, TypeError):
        raise Invalid(f"{name} {value} is not an amount") from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 12:
        raise Invalid(f"{name} {value} is out of range")
    if amount < 0 and not signed:
        raise Invalid(f"{name} {value} is negative")
    return amount


def decimal4(value: Decimal, name: str) -> Decimal:
    """Return a quantity or unit price at the four places its column keeps."""
    try:
        number = Decimal(value).quantize(Decimal("0.0001"))
    except (InvalidOperation, TypeError):
        raise Invalid(f"{name} {value} is not a number") from None
    if abs(number) >= Decimal(10) ** 10:
        raise Invalid(f"{name} {value} is out of range")
    return number


def assign(row: Model, values: dict) -> list[str]:
    """Set the values that differ on the row; return the names of those fields."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


def record_of(change: Change, record_type: type) -> Any:
    if not isinstance(change.record, record_type):
        raise Invalid(f"a {change.entity} change must carry a {record_type.__name__}")
    return change.record


class Batch:
    """The connection, its capabilities and caches for one transaction of changes."""

    def __init__(
        self, connection: Connection, capabilities: Capabilities, run: SyncRun | None = None
    ) -> None:
        self.connection = connection
        self.partner_id = connection.partner_id
        self.capabilities = capabilities
        self.run = run
        self.vendor = display_name(connection.kind)
        self.now = clock.now()
        self._refs: dict[Key, ExternalRef | None] = {}
        # Local ids of records only named (load_ids); a ref in _refs overrides them.
        self._ids: dict[Key, int] = {}
        self._rows: dict[Key, Model] = {}
        self._touched: set[Key] = set()
        # Remote ids whose refs link_many created and ref() has not read back yet.
        self._linked: dict[str, set[str]] = defaultdict(set)
        self._unknown_customer_id: int | None = None
        # Prefetched invoice lines, each list taken (popped) by the change that uses it.
        self.invoice_lines: dict[int, list[tuple]] = {}
        # Whether each record's last change in the batch applied cleanly (it settles
        # the record's open exceptions) or was put aside.
        self.settled: dict[Key, bool] = {}

    # -- refs ------------------------------------------------------------------

    def load_refs(self, keys: Iterable[Key]) -> None:
        """Fetch the refs of many records at once, one query per entity and chunk."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for entity, remote_id in keys:
            if (entity, remote_id) not in self._refs:
                wanted[entity].add(remote_id)
        for entity, remote_ids in wanted.items():
            for chunk in chunks(sorted(remote_ids)):
                for remote_id in chunk:
                    self._refs[entity, remote_id] = None
                refs = ExternalRef.objects.filter(
                    connection=self.connection, entity=entity, remote_id__in=chunk
                )
                for ref in refs:
                    self._refs[entity, ref.remote_id] = ref

    def load_ids(self, keys: Iterable[Key]) -> None:
        """Fetch the local ids of records the batch only names, without building their refs."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for key in keys:
            if key not in self._refs and key not in self._ids:
                wanted[key[0]].add(key[1])
        for entity, remote_ids in wanted.items():
            for chunk in chunks(sorted(remote_ids)):
                found = dict(
                    ExternalRef.objects.filter(
                        connection=self.connection, entity=entity, remote_id__in=chunk
                    ).values_list("remote_id", "local_id")
                )
                for remote_id in chunk:
                    if remote_id in found:
                        self._ids[entity, remote_id] = found[remote_id]
                    else:
                        self._refs[entity, remote_id] = None

    def local_id(self, entity: str, remote_id: str) -> int | None:
        """Return the local id a record's ref points at, or None if it has none."""
        key = (entity, remote_id)
        if key not in self._refs and key in self._ids:
            return self._ids[key]
        ref = self.ref(entity, remote_id)
        return None if ref is None else ref.local_id

    def ref(self, entity: str, remote_id: str) -> ExternalRef | None:
        key = (entity, remote_id)
        self._touched.add(key)
        if key not in self._refs:
            if remote_id in self._linked[entity]:
                # Asked for one made by link_many (a new customer's contacts are):
                # fetch all of them at once rather than one by one.
                self.load_refs((entity, linked) for linked in self._linked.pop(entity))
            else:
                self._refs[key] = ExternalRef.objects.filter(
                    connection=self.connection, entity=entity, remote_id=remote_id
                ).first()
        return self._refs[key]

    def link(
        self, entity: str, remote_id: str, local_id: int, change: Change | None = None
    ) -> ExternalRef:
        """Point the record's ref at a local row, creating the ref if need be."""
        ref = self.ref(entity, remote_id)
        if ref is None:
            ref = ExternalRef(
                partner_id=self.partner_id,
                connection=self.connection,
                entity=entity,
                remote_id=remote_id,
                local_id=local_id,
            )
            if change is not None:
                self._stamp_fields(ref, change)
            ref.updated_at = self.now
            ref.save()
            self._refs[entity, remote_id] = ref
        else:
            ref.local_id = local_id
            if change is not None:
                self.stamp(ref, change)
            else:
                ref.save(update_fields=["local_id"])
        return ref

    def link_many(self, entity: str, pairs: list[tuple[Change, int]]) -> None:
        """Create the refs of many new rows in one statement."""
        rows = []
        for change, local_id in pairs:
            rows.append(
                {
                    "partner_id": self.partner_id,
                    "connection_id": self.connection.pk,
                    "entity": entity,
                    "remote_id": change.remote_id,
                    "local_id": local_id,
                    "remote_version": change.remote_version,
                    "remote_updated_at": change.remote_updated_at,
                    "updated_at": self.now,
                }
            )
            # Read again if needed: rarer than building every ref as a model here.
            self._refs.pop((entity, change.remote_id), None)
            self._linked[entity].add(change.remote_id)
        insert(ExternalRef, rows)

    def _stamp_fields(self, ref: ExternalRef, change: Change, deleted: bool | None = None) -> None:
        # A change without a version keeps the one we hold: it still orders later ones.
        ref.remote_version = change.remote_version or ref.remote_version
        ref.remote_updated_at = change.remote_updated_at or ref.remote_updated_at
        if deleted is None:
            deleted = change.op == Op.DELETE
        ref.deleted_at = (ref.deleted_at or self.now) if deleted else None

    def stamp(self, ref: ExternalRef, change: Change, deleted: bool | None = None) -> None:
        """Record on the ref which version of the record arbridge now holds.

        The ref of a record gone from arbridge stays, marked deleted, so that an
        older version arriving late is recognised and ignored.
        """
        self._stamp_fields(ref, change, deleted)
        ref.updated_at = self.now
        ref.save(
            update_fields=[
                "local_id",
                "remote_version",
                "remote_updated_at",
                "deleted_at",
                "updated_at",
            ]
        )

    # -- local rows ------------------------------------------------------------

    def prefetch(self, model: type[Model], keys: Iterable[Key]) -> dict[int, Model]:
        """Fetch the local rows of the records' refs at once; return them by id."""
        ids = {}
        for key in keys:
            if (ref := self._refs.get(key)) is not None:
                ids[ref.local_id] = key
        rows: dict[int, Model] = {}
        for chunk in chunks(sorted(ids)):
            rows.update(model.objects.for_partner(self.partner_id).in_bulk(chunk))
        for local_id, row in rows.items():
            self._rows[ids[local_id]] = row
        return rows

    def row(self, model: type[Model], ref: ExternalRef | None) -> Any:
        """Return the local row a ref points at, or None if there is none (any more)."""
        if ref is None:
            return None
        key = (ref.entity, ref.remote_id)
        self._touched.add(key)
        row = self._rows.get(key)
        if row is None or row.pk != ref.local_id:
            row = model.objects.for_partner(self.partner_id).filter(pk=ref.local_id).first()
            if row is not None:
                self._rows[key] = row
        return row

    def forget(self) -> None:
        """Drop what the change being undone touched; it is read again when needed."""
        for key in self._touched:
            self._refs.pop(key, None)
            self._rows.pop(key, None)
        self._touched.clear()
        self._unknown_customer_id = None

    def begin(self) -> None:
        self._touched.clear()

    # -- records a change names ------------------------------------------------

    def customer_id(self, remote_id: str | None) -> int:
        """Return the local customer for a remote id, the unknown customer for None.

        A customer not synced yet gets a placeholder under its remote id; the
        customer's own change, whenever it arrives, fills it in through the ref.
        """
        if remote_id is None:
            if self._unknown_customer_id is None:
                self._unknown_customer_id = Customer.objects.unknown_for_connection(
                    self.connection
                ).pk
            return self._unknown_customer_id
        local_id = self.local_id("customer", remote_id)
        if local_id is not None:
            return local_id
        placeholder = Customer.objects.create(
            partner_id=self.partner_id,
            name=f"{self.vendor} customer {remote_id}",
            created_at=self.now,
            updated_at=self.now,
        )
        self.link("customer", remote_id, placeholder.pk)
        return placeholder.pk

    def invoice_id(self, remote_id: str) -> int:
        local_id = self.local_id("invoice", remote_id)
        if local_id is None:
            raise Unmatched(f"it names invoice {remote_id}, which has not been synced")
        return local_id

    # -- exceptions ------------------------------------------------------------

    def quarantine(self, kind: str, item: Change | Rejected, reason: str) -> str:
        """Open (or refresh) the exception a person sees for this record; return ERROR."""
        ref = self.ref(item.entity, item.remote_id)
        fields = {
            "title": self._title(kind, item),
            "reason": reason,
            "raw_payload": verbatim(item.raw),
            "local_id": ref.local_id if ref is not None else None,
            "sync_run": self.run,
        }
        open_item = ExceptionItem.objects.filter(
            connection=self.connection,
            status=ExceptionItem.Status.OPEN,
            kind=kind,
            entity=item.entity,
            remote_id=item.remote_id,
        ).first()
        if open_item is None:
            ExceptionItem.objects.create(
                partner_id=self.partner_id,
                connection=self.connection,
                kind=kind,
                entity=item.entity,
                remote_id=item.remote_id,
                created_at=self.now,
                **fields,
            )
        else:
            for name, value in fields.items():
                setattr(open_item, name, value)
            open_item.save(update_fields=list(fields))
        return ERROR

    def _title(self, kind: str, item: Change | Rejected) -> str:
        what = f"{item.entity.capitalize()} {item.remote_id} from {self.vendor}"
        titles = {
            ExceptionItem.Kind.MALFORMED_RECORD: f"{what} could not be read",
            ExceptionItem.Kind.CONFLICT: f"{what} conflicts with arbridge's records",
            ExceptionItem.Kind.UNMATCHED: f"{what} names a record arbridge does not have",
            ExceptionItem.Kind.DUPLICATE_NUMBER: f"{what} has the number of another invoice",
        }
        return titles.get(kind, what)[:255]

    def resolve_settled(self) -> None:
        """Resolve the open exceptions of records whose last change applied cleanly."""
        good = {key for key, ok in self.settled.items() if ok}
        if not good:
            return
        open_items = ExceptionItem.objects.filter(
            connection=self.connection, status=ExceptionItem.Status.OPEN, kind__in=SELF_RESOLVING
        )
        if not open_items.exists():
            return
        ids = []
        for chunk in chunks(sorted({remote_id for _, remote_id in good})):
            for pk, entity, remote_id in open_items.filter(remote_id__in=chunk).values_list(
                "pk", "entity", "remote_id"
            ):
                if (entity, remote_id) in good:
                    ids.append(pk)
        if ids:
            ExceptionItem.objects.filter(pk__in=ids).update(
                status=ExceptionItem.Status.RESOLVED, resolved_at=self.now
            )
