"""What an entity is to the sandbox, and the checks every entity's body goes through.

Each entity (names.py: Customer, Item, Account, Term; transactions.py:
Invoice, CreditMemo, Payment, Deposit) is an `Entity`: the keys it stores, the
keys QuickBooks computes and ignores on input, what can be queried, and
plain functions for its rules. The store calls them under its lock; they read
the company through `Realm` and never write to it.

A stored entity is its request body, checked and filled in (the "doc"), plus
a few values kept beside it for queries and balances (the record's "fields").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbridge.sandbox.qbo.wire import (
    invalid,
    invalid_reference,
    required,
    unsupported,
)

if TYPE_CHECKING:
    from arbridge.sandbox.qbo.store import Realm, Record

ZERO = Decimal("0.00")
USD = {"value": "USD", "name": "United States Dollar"}

# Keys every entity carries that the service, not the caller, decides.
ENTITY_KEYS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})

Links = dict[int, Decimal]
Postings = tuple[tuple[int, Decimal], ...]


def _no_links(doc: dict) -> Links:
    return {}


def _no_postings(realm: Realm, record: Record) -> Postings:
    return ()


def _no_derived(realm: Realm, record: Record) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Entity:
    """One kind of QuickBooks object, as the sandbox stores and serves it."""

    name: str  # the XSD's element name: "Invoice"
    writable: frozenset[str]  # keys a request may set; stored as given (after checks)
    computed: frozenset[str]  # keys the service fills in; accepted on input and ignored
    queryable: Mapping[str, str]  # field -> "string" | "decimal" | "date" | "boolean" | "ref"
    # Check a create or update body (merged over the old doc for sparse updates)
    # and return the doc to store; given the record's id (None when creating)
    # and the time. Raises Fault.
    prepare: Callable[[Realm, dict, int | None, float], dict]
    # The record's fields (query values and balances) from its doc.
    index: Callable[[dict], dict[str, Any]]
    # Other records this one applies money to: {record id: amount}.
    links: Callable[[dict], Links] = _no_links
    # Amounts this record adds to customers' and accounts' balances.
    postings: Callable[[Realm, Record], Postings] = _no_postings
    # Keys computed when the record is served (balances, linked transactions).
    derived: Callable[[Realm, Record], dict[str, Any]] = _no_derived
    # Balances other records post here, kept across updates.
    balances: tuple[str, ...] = ()
    # Balance = TotalAmt less what payments apply to it (invoices, credit memos).
    open_balance: bool = False
    void: Callable[[dict], dict] | None = None
    deletable: bool = False
    name_field: str | None = None  # unique, case-insensitive; set for name lists
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """Return the URL segment: /v3/company/<realm>/<path>."""
        return self.name.lower()

    @property
    def has_active(self) -> bool:
        return "Active" in self.queryable


# -- checks shared by the entities --------------------------------------------


def check_keys(entity: Entity, body: Mapping[str, Any]) -> None:
    """Refuse keys that are not part of the entity, as QuickBooks does."""
    for key in body:
        if key not in entity.writable and key not in entity.computed and key not in ENTITY_KEYS:
            raise unsupported(key)


def take(body: Mapping[str, Any], entity: Entity) -> dict[str, Any]:
    """Return the writable keys of a body, defaults filled in."""
    doc = {key: value for key, value in entity.defaults.items()}
    doc.update((key, value) for key, value in body.items() if key in entity.writable)
    return doc


def text(
    doc: Mapping[str, Any], key: str, *, needed: bool = False, limit: int = 4000
) -> str | None:
    """Return a string field, checking its type and length."""
    value = doc.get(key)
    if value is None or value == "":
        if needed:
            raise required(key)
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(key, value)
    return value


def flag(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise invalid(key, value)
    return value


def date(doc: Mapping[str, Any], key: str) -> str | None:
    """Return an xs:date field as its ISO text, checking it is a date."""
    value = doc.get(key)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise invalid(key, value) from None


def ref(
    realm: Realm, doc: dict[str, Any], key: str, entity: str, *, needed: bool = False
) -> dict[str, str] | None:
    """Check a *Ref to another entity and fill in its name, as QuickBooks answers it."""
    value = doc.get(key)
    if value is None:
        if needed:
            raise required(key)
        return None
    if isinstance(value, str):
        value = {"value": value}
    if not isinstance(value, dict) or not isinstance(value.get("value"), str | int):
        raise invalid(key, value)
    record = realm.get(entity, value["value"])
    if record is None:
        raise invalid_reference(entity, value["value"], key)
    return {"value": str(record.id), "name": record.fields[realm.name_field(entity)]}


def memo(doc: Mapping[str, Any], key: str) -> dict[str, str] | None:
    """Return a MemoRef ({"value": text}), accepting a bare string too."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = {"value": value}
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise invalid(key, value)
    return {"value": value["value"]}


def line_list(doc: Mapping[str, Any], *, needed: bool) -> list[dict[str, Any]]:
    lines = doc.get("Line")
    if lines is None or lines == []:
        if needed:
            raise required("Line")
        return []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise invalid("Line", lines)
    return lines
