"""The sandbox's QuickBooks companies ("realms"), in memory.

One lock guards everything. Each realm numbers its objects from one sequence.
A record keeps its entity as compact JSON text (the "doc") plus the handful of
values queries and balances need (its "fields"); it is rendered to the wire
shape only when served. Keys whose value is the entity's default (an
invoice's "EmailStatus": "NotSet"...) are kept once per store, not once per
record, so a company of 100,000 invoices fits in a few hundred megabytes.
Deleted records stay as tombstones for change data capture.

Writes return the entity as JSON text; listeners hear of every change (the
webhook notifier is one).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from arbridge.sandbox.qbo import query as ql
from arbridge.sandbox.qbo.entities import ZERO, Entity, Links, Postings, check_keys, take
from arbridge.sandbox.qbo.names import NAME_LISTS
from arbridge.sandbox.qbo.oauth import ACCESS_TTL, Authority
from arbridge.sandbox.qbo.transactions import TRANSACTIONS
from arbridge.sandbox.qbo.wire import (
    Fault,
    business,
    company_date,
    dumps,
    duplicate_name,
    loads,
    not_found,
    required,
    stale,
    timestamp,
)

ENTITIES: dict[str, Entity] = {entity.name: entity for entity in (*NAME_LISTS, *TRANSACTIONS)}
BY_PATH: dict[str, Entity] = {entity.path: entity for entity in ENTITIES.values()}

CDC_DAYS = 30
CDC_LIMIT = 1000
REPLAY_LIMIT = 50_000


@dataclass(frozen=True)
class Event:
    """One change, as webhooks report it."""

    realm_id: str
    entity: str
    id: str
    operation: str  # "Create", "Update", "Delete", "Void"
    time: float


class Record:
    """One stored object; slots keep a hundred thousand of them small."""

    __slots__ = (
        "entity",
        "id",
        "token",
        "created",
        "updated",
        "deleted",
        "doc",
        "shared",
        "fields",
        "postings",
    )

    def __init__(self, entity: str, id: int, now: int):
        self.entity = entity
        self.id = id
        self.token = 0
        self.created = now
        self.updated = now
        self.deleted = False
        self.doc = "{}"  # the record's own keys
        self.shared = ""  # its default-valued keys: a JSON fragment shared with other records
        self.fields: dict[str, Any] = {}
        self.postings: Postings = ()

    def body(self) -> str:
        """Return the stored keys, shared and own, as one JSON object."""
        if not self.shared:
            return self.doc
        if self.doc == "{}":
            return f"{{{self.shared}}}"
        return f"{{{self.shared},{self.doc[1:]}"


def _live(record: Record) -> bool:
    return not record.deleted


class Realm:
    """One QuickBooks company: its records, the money linking them, its counters."""

    def __init__(self, id: str, company_name: str, created: float):
        self.id = id
        self.company_name = company_name
        self.created = created
        self.tables: dict[str, dict[int, Record]] = {name: {} for name in ENTITIES}
        self.records: dict[int, Record] = {}
        self.names: dict[str, dict[str, int]] = {name: {} for name in ENTITIES}
        # Money one record applies to another: payment -> invoice or credit memo,
        # deposit -> payment. Kept both ways: from a source and to a target.
        self.links: dict[int, Links] = {}
        self.linked: dict[int, Links] = {}
        self.last_id = 0
        self.last_doc_number = 1000
        self.undeposited_funds: int | None = None
        self.services_account: int | None = None
        self.services_item: int | None = None

    # What entities' rules may ask (see entities.py).

    def get(self, entity: str, id: Any) -> Record | None:
        """Return a live record of an entity by id, or None."""
        try:
            record = self.tables[entity].get(int(id))
        except (TypeError, ValueError):
            return None
        return None if record is None or record.deleted else record

    def document(self, id: int) -> dict[str, Any]:
        """Return a record's stored keys as a dict."""
        return loads(self.records[id].body())

    def name_field(self, entity: str) -> str:
        return ENTITIES[entity].name_field or "Name"

    def check_name(self, entity: str, name: str, id: int | None) -> None:
        """Refuse a name already used by another record of the list."""
        other = self.names[entity].get(name.casefold())
        if other is not None and other != id:
            raise duplicate_name(name, other)

    def today(self, now: float) -> dt.date:
        return company_date(now)

    def next_doc_number(self) -> str:
        return str(self.last_doc_number + 1)

    def saw_doc_number(self, number: str) -> None:
        if number.isdigit():
            self.last_doc_number = max(self.last_doc_number, int(number))

    def applied(self, target: int, *, excluding: int | None = None) -> Decimal:
        """Return what other records apply to a target, leaving one source out."""
        links = self.linked.get(target, {})
        return sum((amount for source, amount in links.items() if source != excluding), ZERO)

    def linked_to(self, target: int) -> Links:
        return self.linked.get(target, {})

    def links_from(self, source: int) -> Links:
        return self.links.get(source, {})


class Store:
    """Every sandbox company, their tokens, and the responses kept for requestid replay."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None):
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.lock = threading.RLock()
        self.realms: dict[str, Realm] = {}
        self.auth = Authority(self.now)
        self.replays: dict[tuple[str, str], tuple[int, str]] = {}
        self.listeners: list[Callable[[Event], None]] = []
        self.fragments: dict[tuple[str, tuple[str, ...]], str] = {}
        self._quiet = False

    def now(self) -> float:
        return self.clock().timestamp()

    # -- companies and tokens -------------------------------------------------

    def add_realm(self, realm_id: str | None = None, company_name: str | None = None) -> str:
        """Create a company with QuickBooks' starting lists; return its realm id."""
        with self.lock:
            number = len(self.realms) + 1
            if realm_id is None:
                while str(9130350000000000 + number) in self.realms:
                    number += 1
                realm_id = str(9130350000000000 + number)
            if realm_id in self.realms:
                raise ValueError(f"realm {realm_id} exists")
            realm = self.realms[realm_id] = Realm(
                realm_id, company_name or f"Sandbox Company_US_{number}", self.now()
            )
            self._quiet = True  # A new company's lists are not news to anyone.
            try:
                self._start_lists(realm)
            finally:
                self._quiet = False
            return realm_id

    def _start_lists(self, realm: Realm) -> None:
        def add(entity: str, body: dict) -> int:
            return self.add(realm.id, entity, body)

        add("Account", {"Name": "Accounts Receivable (A/R)", "AccountType": "Accounts Receivable"})
        realm.undeposited_funds = add(
            "Account",
            {
                "Name": "Undeposited Funds",
                "AccountType": "Other Current Asset",
                "AccountSubType": "UndepositedFunds",
            },
        )
        realm.services_account = add("Account", {"Name": "Services", "AccountType": "Income"})
        add("Account", {"Name": "Uncategorized Income", "AccountType": "Income"})
        realm.services_item = add("Item", {"Name": "Services", "Type": "Service"})
        add("Item", {"Name": "Hours", "Type": "Service"})
        for name, days in (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)):
            add("Term", {"Name": name, "DueDays": days})

    def default_realm(self) -> str:
        """Return the first company, creating one if there is none."""
        with self.lock:
            return next(iter(self.realms), None) or self.add_realm()

    def realm(self, realm_id: str) -> Realm:
        try:
            return self.realms[realm_id]
        except KeyError:
            raise not_found("Company", realm_id) from None

    def issue_token(
        self, realm_id: str, ttl: float | None = ACCESS_TTL, client_id: str | None = None
    ) -> dict:
        """Return tokens for a company without the consent round trip (ttl None: never expire).

        They belong to `client_id`, by default the first client registered, whose
        credentials then refresh them as usual.
        """
        self.realm(realm_id)
        if client_id is None:
            client_id = next(iter(self.auth.clients), "")
        return self.auth.issue(realm_id, client_id, ttl=ttl)

    # -- requestid replay -----------------------------------------------------

    def replayed(self, realm_id: str, request_id: str) -> tuple[int, str] | None:
        return self.replays.get((realm_id, request_id))

    def remember(self, realm_id: str, request_id: str, status: int, body: str) -> None:
        if len(self.replays) >= REPLAY_LIMIT:
            del self.replays[next(iter(self.replays))]
        self.replays[(realm_id, request_id)] = (status, body)

    # -- writes ---------------------------------------------------------------

    def create(self, realm_id: str, entity_name: str, body: dict) -> str:
        """Create an entity from a request body; return it as JSON text."""
        with self.lock:
            id = self.add(realm_id, entity_name, body)
            realm = self.realms[realm_id]
            return self._render(realm, realm.records[id])

    def add(self, realm_id: str, entity_name: str, body: dict) -> int:
        """Create an entity from a request body; return its id (the seed's fast path)."""
        with self.lock:
            realm, entity = self.realm(realm_id), ENTITIES[entity_name]
            check_keys(entity, body)
            now = self.now()
            doc = entity.prepare(realm, take(body, entity), None, now)
            realm.last_id += 1
            record = Record(entity.name, realm.last_id, int(now))
            realm.tables[entity.name][record.id] = realm.records[record.id] = record
            self._save(realm, entity, record, doc, "Create", now)
            return record.id

    def update(self, realm_id: str, entity_name: str, body: dict) -> str:
        """Update an entity (sparse or full) if the caller has its latest SyncToken."""
        with self.lock:
            realm, entity = self.realm(realm_id), ENTITIES[entity_name]
            check_keys(entity, body)
            record = self._current(realm, entity, body)
            now = self.now()
            if body.get("sparse") is True:
                merged = realm.document(record.id)
                merged.update((k, v) for k, v in body.items() if k in entity.writable)
            else:
                merged = take(body, entity)
            doc = entity.prepare(realm, merged, record.id, now)
            self._save(realm, entity, record, doc, "Update", now)
            return self._render(realm, record)

    def void(self, realm_id: str, entity_name: str, body: dict) -> str:
        """Void a transaction: it stays, with its amounts zeroed and its note marked."""
        with self.lock:
            realm, entity = self.realm(realm_id), ENTITIES[entity_name]
            if entity.void is None:
                raise Fault("500", "Unsupported Operation", f"{entity.name} cannot be voided")
            record = self._current(realm, entity, body)
            self._refuse_if_linked(realm, record, "void")
            doc = entity.void(realm.document(record.id))
            now = self.now()
            self._save(realm, entity, record, doc, "Void", now)
            return self._render(realm, record)

    def delete(self, realm_id: str, entity_name: str, body: dict) -> str:
        """Delete a transaction, leaving a tombstone; return the delete response's entity."""
        with self.lock:
            realm, entity = self.realm(realm_id), ENTITIES[entity_name]
            if not entity.deletable:
                raise Fault("500", "Unsupported Operation", f"{entity.name} cannot be deleted")
            record = self._current(realm, entity, body)
            self._refuse_if_linked(realm, record, "delete")
            now = self.now()
            record.deleted = True
            self._save(realm, entity, record, {}, "Delete", now)
            return dumps({"domain": "QBO", "status": "Deleted", "Id": str(record.id)})

    def _current(self, realm: Realm, entity: Entity, body: dict) -> Record:
        """Return the record a write names, if its SyncToken is the latest."""
        if body.get("Id") is None:
            raise required("Id")
        if body.get("SyncToken") is None:
            raise required("SyncToken")
        record = realm.get(entity.name, body["Id"])
        if record is None:
            raise not_found(entity.name, body["Id"])
        if str(body["SyncToken"]) != str(record.token):
            raise stale(entity.name, record.id)
        return record

    def _refuse_if_linked(self, realm: Realm, record: Record, action: str) -> None:
        sources = realm.linked_to(record.id)
        if sources:
            names = ", ".join(f"{realm.records[s].entity} {s}" for s in sorted(sources))
            raise business(f"Cannot {action} {record.entity} {record.id}: {names} is linked to it")

    def _save(
        self, realm: Realm, entity: Entity, record: Record, doc: dict, operation: str, now: float
    ) -> None:
        """Store a record's new doc and settle every balance it touches."""
        if operation != "Create":
            record.token += 1
            record.updated = int(now)
        if entity.name_field:
            realm.names[entity.name].pop(
                str(record.fields.get(entity.name_field, "")).casefold(), None
            )
            if not record.deleted:
                realm.names[entity.name][doc[entity.name_field].casefold()] = record.id
        fields = entity.index(doc) if doc else {}
        for key in entity.balances:
            fields[key] = record.fields.get(key, ZERO)
        record.fields = fields
        own = {k: v for k, v in doc.items() if k not in entity.defaults or entity.defaults[k] != v}
        record.doc = dumps(own)
        record.shared = self._shared(entity, tuple(key for key in doc if key not in own))

        before = realm.links.pop(record.id, {})
        for target in before:
            del realm.linked[target][record.id]
        after = {} if record.deleted else entity.links(doc)
        if after:
            realm.links[record.id] = after
            for target, amount in after.items():
                realm.linked.setdefault(target, {})[record.id] = amount
        self._settle(realm, record)
        self._tell(Event(realm.id, entity.name, str(record.id), operation, now))
        for target in sorted(before.keys() | after.keys()):
            other = realm.records[target]
            other.token += 1  # QuickBooks counts a change of balance as a change.
            other.updated = int(now)
            balance = other.fields.get("Balance")
            self._settle(realm, other)
            if ENTITIES[other.entity].open_balance and other.fields.get("Balance") != balance:
                # And notifies it: a payment applied to an invoice updates the invoice.
                self._tell(Event(realm.id, other.entity, str(other.id), "Update", now))

    def _shared(self, entity: Entity, keys: tuple[str, ...]) -> str:
        """Return the one JSON fragment for these default-valued keys of an entity."""
        fragment = self.fragments.get((entity.name, keys))
        if fragment is None:
            fragment = dumps({key: entity.defaults[key] for key in keys})[1:-1]
            self.fragments[(entity.name, keys)] = fragment
        return fragment

    def _settle(self, realm: Realm, record: Record) -> None:
        """Recompute a record's open balance and move its postings to match."""
        entity = ENTITIES[record.entity]
        if entity.open_balance and not record.deleted:
            applied = realm.applied(record.id)
            total = record.fields["TotalAmt"]
            record.fields["Balance"] = total - applied if applied else total
        postings = () if record.deleted else entity.postings(realm, record)
        for sign, pairs in ((-1, record.postings), (1, postings)):
            for target, amount in pairs:
                other = realm.records[target]
                key = ENTITIES[other.entity].balances[0]
                other.fields[key] += sign * amount
        record.postings = postings

    def _tell(self, event: Event) -> None:
        if not self._quiet:
            for listener in self.listeners:
                listener(event)

    # -- reads ----------------------------------------------------------------

    def read(self, realm_id: str, entity_name: str, id: str) -> str:
        """Return an entity as JSON text."""
        with self.lock:
            realm = self.realm(realm_id)
            record = realm.get(entity_name, id)
            if record is None:
                raise not_found(entity_name, id)
            return self._render(realm, record)

    def document(self, realm_id: str, entity_name: str, id: str) -> dict[str, Any]:
        """Return an entity as a dict, as it is served."""
        return loads(self.read(realm_id, entity_name, id))

    def query(self, realm_id: str, text: str) -> str:
        """Answer a query; return the QueryResponse object as JSON text."""
        parsed = ql.parse(text)
        entity = self._entity_named(parsed.entity)
        tests = [ql.predicate(condition, entity.queryable) for condition in parsed.where]
        named = {ql.resolve(c.field, entity.queryable)[0] for c in parsed.where}
        if entity.has_active and "Active" not in named:
            tests.append(lambda record: record.fields["Active"])
        with self.lock:
            realm = self.realm(realm_id)
            table = realm.tables[entity.name]
            rows: Iterable[Record] = table.values()
            if (floor := ql.id_floor(parsed.where)) is not None:
                ids = list(table)  # ascending: Ids are handed out in order
                rows = map(table.__getitem__, ids[bisect_left(ids, floor) :])
            rows = filter(_live, rows)
            for test in tests:
                rows = filter(test, rows)
            if parsed.count:
                return dumps({"totalCount": sum(1 for _ in rows)})
            first, last = parsed.start - 1, parsed.start - 1 + parsed.max_results
            if parsed.order in ([], [("Id", False)]):
                page = list(islice(rows, first, last))  # Tables are in Id order already.
            else:
                ordered = list(rows)
                ql.order(ordered, parsed.order, entity.queryable)
                page = ordered[first:last]
            items = [self._render(realm, record, parsed.fields) for record in page]
        if not items:
            return "{}"
        return (
            f'{{"{entity.name}":[{",".join(items)}],'
            f'"startPosition":{parsed.start},"maxResults":{len(items)}}}'
        )

    def _entity_named(self, name: str) -> Entity:
        for entity in ENTITIES.values():
            if entity.name.lower() == name.lower():
                return entity
        raise ql.validation_error(f"{name} is not a queryable entity")

    def cdc(self, realm_id: str, entity_names: list[str], since: float) -> str:
        """Return what changed since a time, deletes included: the CDCResponse array."""
        entities = [self._entity_named(name) for name in entity_names]
        if since < self.now() - CDC_DAYS * 86400:
            raise Fault("4001", "Invalid query", f"changedSince must be within {CDC_DAYS} days")
        floor = math.floor(since)
        with self.lock:
            realm = self.realm(realm_id)
            changed = sorted(
                (record.updated, record.id, record)
                for entity in entities
                for record in realm.tables[entity.name].values()
                if record.updated >= floor
            )[:CDC_LIMIT]
            rendered: dict[str, list[str]] = {entity.name: [] for entity in entities}
            for _, _, record in changed:
                rendered[record.entity].append(self._render(realm, record))
        parts = []
        for name, items in rendered.items():
            if not items:
                parts.append("{}")
                continue
            count = len(items)
            parts.append(
                f'{{"{name}":[{",".join(items)}],"startPosition":1,'
                f'"maxResults":{count},"totalCount":{count}}}'
            )
        return f'[{{"QueryResponse":[{",".join(parts)}]}}]'

    def _render(self, realm: Realm, record: Record, only: tuple[str, ...] | None = None) -> str:
        """Return a record in the wire shape, as JSON text."""
        if record.deleted:
            return dumps(
                {
                    "domain": "QBO",
                    "status": "Deleted",
                    "Id": str(record.id),
                    "MetaData": {"LastUpdatedTime": timestamp(record.updated)},
                }
            )
        head = {
            "Id": str(record.id),
            "SyncToken": str(record.token),
            "MetaData": {
                "CreateTime": timestamp(record.created),
                "LastUpdatedTime": timestamp(record.updated),
            },
            "domain": "QBO",
            "sparse": only is not None,
            **ENTITIES[record.entity].derived(realm, record),
        }
        text, body = dumps(head), record.body()
        if body != "{}":
            text = f"{text[:-1]},{body[1:]}"
        if only is None:
            return text
        full = loads(text)
        keep = {"Id", "domain", "sparse", *only}
        return dumps({key: value for key, value in full.items() if key in keep})
