"""The subset of QuickBooks' query language the sandbox answers.

    SELECT * | COUNT(*) | Field, ... FROM Entity
      [WHERE Field op value [AND ...]]      op: = < > <= >= IN (...) LIKE '%x%'
      [ORDERBY Field [ASC|DESC], ...]
      [STARTPOSITION n] [MAXRESULTS n]

As in QuickBooks there is no OR and no JOIN, keywords and field names are
case-insensitive, MAXRESULTS is at most 1,000, and name lists (customers,
items, accounts, terms) answer only active rows unless the query names Active.
Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from arbridge.sandbox.qbo.wire import Fault, parse_timestamp

if TYPE_CHECKING:
    from arbridge.sandbox.qbo.store import Record

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100

# Fields every entity can be filtered and ordered by; the rest come from entities.py.
META_FIELDS = {
    "Id": "id",
    "MetaData.CreateTime": "datetime",
    "MetaData.LastUpdatedTime": "datetime",
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: tuple[Any, ...]


@dataclass
class Query:
    entity: str
    fields: tuple[str, ...] | None = None  # None: SELECT *
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def parse_error(detail: str) -> Fault:
    return Fault("4000", "Error parsing query", f"QueryParserError: {detail}")


def validation_error(detail: str) -> Fault:
    return Fault("4001", "Invalid query", f"QueryValidationError: {detail}")


class _Tokens:
    def __init__(self, text: str):
        self.items: list[tuple[str, str, int]] = []
        position = 0
        text = text.rstrip().rstrip(";")
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise parse_error(f"Encountered {text[position : position + 10]!r} at {position}")
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise parse_error("Encountered end of query")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        """Consume and return the next token if it is one of these keywords."""
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.index += 1
            return token[1].upper()
        return None

    def expect(self, value: str) -> None:
        kind, text, position = self.next()
        if text.upper() != value:
            raise parse_error(f"Encountered {text!r} at {position}, expected {value}")

    def word(self) -> str:
        kind, text, position = self.next()
        if kind != "word":
            raise parse_error(f"Encountered {text!r} at {position}, expected a name")
        return text

    def integer(self) -> int:
        kind, text, position = self.next()
        if kind != "number" or not text.isdigit():
            raise parse_error(f"Encountered {text!r} at {position}, expected a number")
        return int(text)

    def literal(self) -> Any:
        kind, text, position = self.next()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return text
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise parse_error(f"Encountered {text!r} at {position}, expected a value")


def parse(text: str) -> Query:
    """Parse a query; raise a Fault for anything outside the subset."""
    tokens = _Tokens(text)
    tokens.expect("SELECT")
    count = False
    fields: list[str] | None = []
    if tokens.peek() and tokens.peek()[1] == "*":
        tokens.next()
        fields = None
    elif tokens.keyword("COUNT"):
        for part in ("(", "*", ")"):
            tokens.expect(part)
        count, fields = True, None
    else:
        fields.append(tokens.word())
        while tokens.peek() and tokens.peek()[1] == ",":
            tokens.next()
            fields.append(tokens.word())
    tokens.expect("FROM")
    query = Query(entity=tokens.word(), fields=tuple(fields) if fields else None, count=count)

    if tokens.keyword("WHERE"):
        query.where.append(_condition(tokens))
        while tokens.keyword("AND"):
            query.where.append(_condition(tokens))
        if tokens.keyword("OR"):
            raise parse_error("OR is not supported")
    if tokens.keyword("ORDERBY", "ORDER"):
        if tokens.peek() and tokens.peek()[1].upper() == "BY":
            tokens.next()
        while True:
            name = tokens.word()
            descending = tokens.keyword("ASC", "DESC") == "DESC"
            query.order.append((name, descending))
            if not (tokens.peek() and tokens.peek()[1] == ","):
                break
            tokens.next()
    if tokens.keyword("STARTPOSITION"):
        query.start = max(tokens.integer(), 1)
    if tokens.keyword("MAXRESULTS"):
        query.max_results = min(tokens.integer(), MAX_RESULTS)
    if tokens.peek():
        kind, text, position = tokens.peek()
        raise parse_error(f"Encountered {text!r} at {position}")
    return query


def _condition(tokens: _Tokens) -> Condition:
    name = tokens.word()
    if tokens.keyword("IN"):
        tokens.expect("(")
        values = [tokens.literal()]
        while tokens.peek() and tokens.peek()[1] == ",":
            tokens.next()
            values.append(tokens.literal())
        tokens.expect(")")
        return Condition(name, "IN", tuple(values))
    if tokens.keyword("LIKE"):
        return Condition(name, "LIKE", (tokens.literal(),))
    kind, op, position = tokens.next()
    if kind != "op" or op == "!=":
        raise parse_error(f"Encountered {op!r} at {position}, expected an operator")
    return Condition(name, op, (tokens.literal(),))


# -- evaluation ---------------------------------------------------------------

# Fields kept on the record itself rather than in its fields dict; never missing.
_ATTRIBUTES = {"Id": "id", "MetaData.CreateTime": "created", "MetaData.LastUpdatedTime": "updated"}
_COMPARE = {
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _coerce(value: Any, type: str, field: str) -> Any:
    """Return a query literal as the type the field's values have."""
    try:
        if type == "id":
            return int(value)
        if type == "decimal":
            return Decimal(str(value))
        if type == "datetime":
            return int(parse_timestamp(str(value)))
        if type == "boolean":
            if isinstance(value, bool):
                return value
            return {"true": True, "false": False}[str(value).lower()]
    except (ValueError, KeyError, InvalidOperation):
        raise validation_error(f"{value!r} is not a valid value for {field}") from None
    return str(value)


def resolve(name: str, queryable: Mapping[str, str]) -> tuple[str, str]:
    """Return a field's canonical name and type, whatever its case."""
    for known, type in (*META_FIELDS.items(), *queryable.items()):
        if known.lower() == name.lower():
            return known, type
    raise validation_error(f"property '{name}' is not queryable")


def predicate(condition: Condition, queryable: Mapping[str, str]) -> Callable[[Record], bool]:
    """Return a test of one WHERE condition against a record."""
    # Queries scan whole tables, so each test is one small closure over C-level calls.
    field, type = resolve(condition.field, queryable)
    if field in _ATTRIBUTES:
        get = operator.attrgetter(_ATTRIBUTES[field])
    else:
        get = operator.itemgetter(field)  # of record.fields, where every field has a key
    if condition.op == "LIKE":
        if type not in ("string", "ref"):
            raise validation_error(f"LIKE is not supported on {field}")
        pattern = ".*".join(re.escape(part) for part in str(condition.values[0]).split("%"))
        match = re.compile(pattern, re.IGNORECASE | re.DOTALL).fullmatch
        return lambda record: (value := get(record.fields)) is not None and bool(match(value))
    values = [_coerce(value, type, field) for value in condition.values]
    choices = set(values)
    if field in _ATTRIBUTES:
        if condition.op == "IN":
            return lambda record: get(record) in choices
        compare, wanted = _COMPARE[condition.op], values[0]
        return lambda record: compare(get(record), wanted)
    if condition.op == "IN":
        return lambda record: get(record.fields) in choices
    compare, wanted = _COMPARE[condition.op], values[0]
    return lambda record: (value := get(record.fields)) is not None and compare(value, wanted)


def id_floor(where: list[Condition]) -> int | None:
    """Return the least Id the conditions let through, if they bound it from below.

    Pages read by `Id > last` then skip straight to their first row rather than
    testing every row before it.
    """
    floors = []
    for condition in where:
        if condition.field.lower() != "id" or condition.op not in (">", ">="):
            continue
        try:
            value = int(condition.values[0])
        except (TypeError, ValueError):
            continue  # the predicate refuses it
        floors.append(value + 1 if condition.op == ">" else value)
    return max(floors, default=None)


def order(
    records: list[Record], order: list[tuple[str, bool]], queryable: Mapping[str, str]
) -> None:
    """Sort records (given in Id order) in place by ORDERBY fields; missing values first."""
    for name, descending in reversed(order):  # Stable sorts, last key first.
        field = resolve(name, queryable)[0]
        if field in _ATTRIBUTES:
            records.sort(key=operator.attrgetter(_ATTRIBUTES[field]), reverse=descending)
        else:
            get = operator.itemgetter(field)
            records.sort(
                key=lambda record: ((value := get(record.fields)) is not None, value),
                reverse=descending,
            )
