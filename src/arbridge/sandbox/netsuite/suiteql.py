"""The little SuiteQL the sandbox answers: one table, AND-ed conditions, one order.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156257770590.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157108952762.html

    SELECT <columns> FROM <table>
      [WHERE <condition> [AND <condition>]...]  [ORDER BY <column>]
    condition: <column> = '<text>' | <column> >= TO_TIMESTAMP('<text>', 'YYYY-MM-DD HH24:MI:SS')

Anything else is refused, as NetSuite refuses a query it cannot parse, with
400 and INVALID_SEARCH. Names are case-insensitive, as in NetSuite.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

QUERY = re.compile(
    r"^\s*SELECT\s+(?P<columns>[\w\s,]+?)\s+FROM\s+(?P<table>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>\w+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
EQUALS = re.compile(r"^(?P<column>\w+)\s*=\s*'(?P<value>[^']*)'$")
SINCE = re.compile(
    r"^(?P<column>\w+)\s*>=\s*TO_TIMESTAMP\(\s*'(?P<value>[^']*)'\s*,"
    r"\s*'YYYY-MM-DD HH24:MI:SS'\s*\)$",
    re.IGNORECASE,
)


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    columns: tuple[str, ...]
    table: str
    equals: tuple[tuple[str, str], ...]
    since: tuple[tuple[str, dt.datetime], ...]
    order: str | None

    def matches(self, row: dict[str, object]) -> bool:
        for column, value in self.equals:
            if str(row.get(column, "")) != value:
                return False
        for column, moment in self.since:
            stamp = row.get(column)
            if not isinstance(stamp, dt.datetime) or stamp < moment:
                return False
        return True


def parse(text: str) -> Query:
    found = QUERY.match(text or "")
    if not found:
        raise QueryError(f"Invalid search query: {text!r}")
    columns = tuple(c.strip().lower() for c in found["columns"].split(","))
    equals, since = [], []
    where = found["where"]
    for condition in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE) if where else []:
        condition = condition.strip()
        if match := EQUALS.match(condition):
            equals.append((match["column"].lower(), match["value"]))
        elif match := SINCE.match(condition):
            try:
                moment = dt.datetime.strptime(match["value"], "%Y-%m-%d %H:%M:%S")
            except ValueError:
                raise QueryError(f"Invalid timestamp: {match['value']!r}") from None
            since.append((match["column"].lower(), moment.replace(tzinfo=dt.UTC)))
        else:
            raise QueryError(f"Invalid search condition: {condition!r}")
    order = found["order"].lower() if found["order"] else None
    return Query(columns, found["table"].lower(), tuple(equals), tuple(since), order)
