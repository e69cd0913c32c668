"""One Autotask database in memory: companies, contacts, invoices and billing items.

Records are dicts with the spec's field names (CompanyModel, InvoiceModel;
ContactModel and BillingItemModel are not in the transcription, so their
fields follow the vendor's Contacts and BillingItems entity pages). A
billing item is one line of the invoice its `invoiceID` names. Amounts are
Decimal. Ids count up from 1 per entity, and query results come back in id
order, which is what lets a reader resume a long query from the last id it saw.

Filters are the JSON query language of POST .../query:
{"op": "gte", "field": "id", "value": 10}, or {"op": "and"|"or", "items": [...]};
a query's top-level list is ANDed.
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/API_Calls/REST_Basic_Query_Calls.htm
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/API_Calls/REST_Advanced_Query_Features.htm
Reference (Contacts fields): https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/ContactsEntity.htm
Reference (BillingItems fields): https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/BillingItemsEntity.htm
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

ENTITIES = ("companies", "contacts", "invoices", "billingitems")
# The fields a PATCH of an invoice may change; the rest are written by Autotask's billing.
INVOICE_WRITABLE = frozenset({"paidDate", "comments", "webServiceDate", "invoiceEditorTemplateID"})


class QueryError(ValueError):
    """A filter the API refuses (answered 500 with {"errors": [...]}, as Autotask does)."""


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class Store:
    """The records of one Autotask database (its "ci"), and who may call its API."""

    def __init__(
        self, database: int = 29683354, clock: Callable[[], dt.datetime] = now_utc
    ) -> None:
        self.database = database
        self.clock = clock
        self.lock = threading.Lock()
        self.records: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.next_id = dict.fromkeys(ENTITIES, 1)
        # UserName -> (Secret, ApiIntegrationCode) of each API user.
        self.users: dict[str, tuple[str, str]] = {}

    def add_user(self, username: str, secret: str, integration_code: str) -> None:
        self.users[username.lower()] = (secret, integration_code)

    def is_user(self, username: str, secret: str, integration_code: str) -> bool:
        return self.users.get(username.lower()) == (secret, integration_code)

    def create(self, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Save a new record and return it; `id` and the create stamps are the store's."""
        with self.lock:
            record_id = self.next_id[entity]
            self.next_id[entity] += 1
            record = {**defaults(entity, self.clock()), **fields, "id": record_id}
            self.records[entity][record_id] = record
            return dict(record)

    def update(self, entity: str, record_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change the named fields of a record; KeyError if there is none."""
        with self.lock:
            record = self.records[entity][record_id]
            record.update({k: v for k, v in fields.items() if k != "id"})
            stamp = {"companies": "lastTrackedModifiedDateTime", "contacts": "lastModifiedDate"}
            if entity in stamp:
                record[stamp[entity]] = iso(self.clock())
            return dict(record)

    def delete(self, entity: str, record_id: int) -> None:
        """Remove a record, as a person does in Autotask's own screens."""
        with self.lock:
            del self.records[entity][record_id]

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None:
        with self.lock:
            record = self.records[entity].get(record_id)
            return dict(record) if record is not None else None

    def query(
        self, entity: str, filters: list[dict[str, Any]], *, after: int = 0, limit: int = 500
    ) -> tuple[list[dict[str, Any]], bool]:
        """Return up to `limit` matching records with ids above `after`, and whether more match."""
        found: list[dict[str, Any]] = []
        with self.lock:
            records = self.records[entity]
            ids = list(records)  # in id order: ids count up and records are kept as made
            for record_id in ids[bisect.bisect_right(ids, after) :]:
                record = records[record_id]
                if all(matches(record, f) for f in filters):
                    if len(found) == limit:
                        return found, True
                    found.append(dict(record))
        return found, False

    def count(self, entity: str, filters: list[dict[str, Any]]) -> int:
        with self.lock:
            return sum(all(matches(r, f) for f in filters) for r in self.records[entity].values())


def defaults(entity: str, now: dt.datetime) -> dict[str, Any]:
    """Return what Autotask fills in on a new record."""
    stamp = iso(now)
    if entity == "companies":
        return {"companyName": "", "isActive": True, "companyType": 1, "phone": "",
                "createDate": stamp, "lastTrackedModifiedDateTime": stamp}  # fmt: skip
    if entity == "contacts":
        return {"companyID": None, "firstName": "", "lastName": "", "emailAddress": "",
                "phone": "", "isActive": 1, "primaryContact": False,
                "createDate": stamp, "lastModifiedDate": stamp}  # fmt: skip
    if entity == "billingitems":
        return {"companyID": None, "invoiceID": None, "itemName": "", "description": "",
                "quantity": Decimal(1), "rate": Decimal("0.00"), "extendedPrice": Decimal("0.00"),
                "taxDollars": Decimal("0.00"), "totalAmount": Decimal("0.00"), "itemDate": stamp,
                "billingItemType": 1, "nonBillable": False, "postedDate": stamp,
                "sortOrderID": None}  # fmt: skip
    return {"companyID": None, "invoiceNumber": "", "invoiceTotal": Decimal("0.00"),
            "totalTaxValue": Decimal("0.00"), "invoiceDateTime": stamp, "dueDate": stamp,
            "createDateTime": stamp, "isVoided": False, "paidDate": None, "comments": "",
            "paymentTerm": None, "invoiceStatus": 1}  # fmt: skip


# -- filters ------------------------------------------------------------------------


OPERATORS = frozenset({"and", "or", "eq", "noteq", "gt", "gte", "lt", "lte", "beginswith",
                       "endswith", "contains", "exist", "notexist", "in", "notin"})  # fmt: skip


def validate(filters: Any) -> None:
    """Refuse a filter list with an unknown operator or a condition without a field."""
    if not isinstance(filters, list) or not filters:
        raise QueryError("a query needs at least one filter")
    for condition in filters:
        op = str(condition.get("op", "")).lower() if isinstance(condition, dict) else ""
        if op not in OPERATORS:
            raise QueryError(f"unknown filter operator {op or condition!r}")
        if op in ("and", "or"):
            validate(condition.get("items"))
        elif not isinstance(condition.get("field"), str):
            raise QueryError("a filter names a field")


def matches(record: dict[str, Any], condition: dict[str, Any]) -> bool:
    """Return True if a record passes one filter condition; QueryError if it is malformed."""
    if not isinstance(condition, dict):
        raise QueryError("a filter is an object")
    op = str(condition.get("op", "")).lower()
    if op in ("and", "or"):
        items = condition.get("items") or []
        results = (matches(record, item) for item in items)
        return all(results) if op == "and" else any(results)
    field = field_of(record, condition.get("field"))
    value = record.get(field) if field else None
    wanted = condition.get("value")
    if op == "exist":
        return value not in (None, "")
    if op == "notexist":
        return value in (None, "")
    if op in ("in", "notin"):
        if not isinstance(wanted, list):
            raise QueryError(f"{op} takes a list of values")
        inside = any(equal(value, item) for item in wanted)
        return inside if op == "in" else not inside
    if op == "eq":
        return equal(value, wanted)
    if op == "noteq":
        return not equal(value, wanted)
    if op in ("gt", "gte", "lt", "lte"):
        if value is None:
            return False
        left, right = comparable(value, wanted)
        return {"gt": left > right, "gte": left >= right, "lt": left < right,
                "lte": left <= right}[op]  # fmt: skip
    if op in ("beginswith", "endswith", "contains"):
        text, part = str(value or "").lower(), str(wanted or "").lower()
        return {"beginswith": text.startswith(part), "endswith": text.endswith(part),
                "contains": part in text}[op]  # fmt: skip
    raise QueryError(f"unknown filter operator {condition.get('op')!r}")


def field_of(record: dict[str, Any], name: Any) -> str:
    """Return the record's spelling of a field name; Autotask's are case-insensitive."""
    if not isinstance(name, str) or not name:
        raise QueryError("a filter names a field")
    for field in record:
        if field.lower() == name.lower():
            return field
    raise QueryError(f"no field {name!r}")


def equal(value: Any, wanted: Any) -> bool:
    if value is None or wanted is None:
        return value is wanted
    left, right = comparable(value, wanted)
    return left == right


def comparable(value: Any, wanted: Any) -> tuple[Any, Any]:
    """Return the two sides of a comparison as the same type."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return bool(value), str(wanted).lower() in ("true", "1")
    if isinstance(value, int | Decimal):
        try:
            return Decimal(str(value)), Decimal(str(wanted))
        except ArithmeticError:
            raise QueryError(f"{wanted!r} is not a number") from None
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            return parse_time(value), parse_time(str(wanted))
        except ValueError:
            raise QueryError(f"{wanted!r} is not a date") from None
    return str(value).lower(), str(wanted).lower()


def parse_time(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
