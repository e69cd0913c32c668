"""ConnectWise's `conditions` query language, as far as arbridge and its tests use it.

    conditions=lastUpdated > [2026-03-02T17:00:00Z] and company/id in (3, 4)

Comparisons are `field op value`, joined by `and` / `or` (and binding
tighter) and grouped with parentheses. Operators: = != < <= > >= like
contains in, and `not in`. Values: "strings" in double quotes, [date-times]
in brackets, numbers, true, false, null, and (lists) for in. Nested fields
are written `a/b`. `like` takes `*` as a wildcard.
Reference: https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide
(via github.com/RewstApp/docs.rewst.help; ../shared/DOMAIN.md, "ConnectWise PSA")
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<datetime>\[[^\]]*\])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<paren>[(),])
      | (?P<word>[A-Za-z_][\w/]*)
    )""",
    re.VERBOSE,
)
WORD_OPS = {"like", "contains", "in"}


class ConditionError(ValueError):
    pass


def parse_time(text: str) -> dt.datetime:
    """Return a ConnectWise date-time ("2026-03-02T17:00:00Z") as an aware UTC datetime."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"cannot read the conditions at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.at != len(self.tokens):
            raise ConditionError(f"unexpected {self.tokens[self.at][1]!r}")
        return predicate

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise ConditionError("the conditions end too soon")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value.lower() == word:
            self.at += 1
            return True
        return False

    def disjunction(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else lambda row: any(term(row) for term in terms)

    def conjunction(self) -> Predicate:
        terms = [self.comparison()]
        while self.keyword("and"):
            terms.append(self.comparison())
        return terms[0] if len(terms) == 1 else lambda row: all(term(row) for term in terms)

    def comparison(self) -> Predicate:
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("paren", ")"):
                raise ConditionError("a parenthesis is not closed")
            return inner
        kind, field = self.take()
        if kind != "word":
            raise ConditionError(f"expected a field name, found {field!r}")
        negate = self.keyword("not")
        kind, op = self.take()
        op = op.lower()
        if kind not in ("op", "word") or (kind == "word" and op not in WORD_OPS):
            raise ConditionError(f"unknown operator {op!r}")
        if negate and op != "in":
            raise ConditionError("only `in` may follow `not`")
        value = self.values() if op == "in" else self.value()
        test = _member_of if op == "in" else COMPARE[op]
        if op == "in":
            value = {_key(item) for item in value}  # a set: an id list may hold a thousand
        path = field.split("/")

        def predicate(row: dict[str, Any]) -> bool:
            found = lookup(row, path)
            try:
                result = test(found, value)
            except TypeError:  # a null compared with < or >
                result = False
            return not result if negate else result

        return predicate

    def values(self) -> list[Any]:
        if self.take() != ("paren", "("):
            raise ConditionError("`in` takes a (list)")
        values = [self.value()]
        while self.peek() == ("paren", ","):
            self.take()
            values.append(self.value())
        if self.take() != ("paren", ")"):
            raise ConditionError("a list is not closed")
        return values

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace('\\"', '"')
        if kind == "datetime":
            try:
                return parse_time(text[1:-1])
            except ValueError:
                raise ConditionError(f"{text} is not a date-time") from None
        if kind == "number":
            return Decimal(text)
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise ConditionError(f"expected a value, found {text!r}")


def lookup(row: Any, path: list[str]) -> Any:
    """Return the value at a nested field path, reading date-times as datetimes."""
    if [name.lower() for name in path] == ["lastupdated"]:
        path = ["_info", "lastUpdated"]  # conditions name it bare; records keep it in _info
    for name in path:
        if not isinstance(row, dict):
            return None
        row = next((v for k, v in row.items() if k.lower() == name.lower()), None)
    if name.lower() == "lastupdated" and isinstance(row, str):
        return parse_time(row)
    return row


def _equal(found: Any, value: Any) -> bool:
    if isinstance(found, str) and isinstance(value, str):
        return found.lower() == value.lower()  # ConnectWise compares text without case
    if isinstance(value, Decimal) and isinstance(found, int | float | Decimal):
        return Decimal(str(found)) == value
    return found == value


def _like(found: Any, pattern: Any) -> bool:
    return isinstance(found, str) and fnmatch.fnmatch(found.lower(), str(pattern).lower())


def _key(value: Any) -> Any:
    """Return what `in` compares: text without case, numbers by value."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _member_of(found: Any, keys: set[Any]) -> bool:
    return _key(found) in keys


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "!=": lambda found, value: not _equal(found, value),
    "<": lambda found, value: found < value,
    "<=": lambda found, value: found <= value,
    ">": lambda found, value: found > value,
    ">=": lambda found, value: found >= value,
    "like": _like,
    "contains": lambda found, value: isinstance(found, str) and value.lower() in found.lower(),
}


def parse(text: str | None) -> Predicate:
    """Return a predicate for the conditions; no conditions admit every row."""
    if not text or not text.strip():
        return lambda row: True
    return Parser(text).parse()
