"""qbXML 7.0: the requests arbridge sends QuickBooks Desktop, and reading its answers.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop
# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBSDK_ProGuide.pdf
# Reference: ../shared/specs/qbd/qbxmlops70.xml (the operations and their elements)

A message is one request (`<QBXMLMsgsRq onError="stopOnError">` with one
`...Rq`), so each answer is about one thing. An answer's status is read in
one place (`status_error`):

    statusCode 0                 ok
    statusCode 1                 a query found nothing: ok, no rows
    3100 (name in use), 3120 (no such object) ... permanent: a person must look
    3180 (could not save), 3200 (edit sequence out of date), 3170/3175/3176
                                 (record or list in use)   retryable
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

from arbridge.connectors.base import (
    ConnectorError,
    MalformedRecord,
    PermanentError,
    RetryableError,
)

VERSION = "7.0"
# A query found no matching objects: not an error.
NOT_FOUND_IN_QUERY = 1
NO_SUCH_OBJECT = 3120
NAME_IN_USE = 3100
EDIT_SEQUENCE = 3200
# Worth asking again in a later request or session: a record someone has open,
# a save that failed, an edit sequence another user moved on.
RETRYABLE = frozenset({3170, 3175, 3176, 3180, EDIT_SEQUENCE})

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


# -- building requests ----------------------------------------------------------


def message(request: etree._Element) -> str:
    """Return a qbXML document holding one request."""
    root = etree.Element("QBXML")
    msgs = etree.SubElement(root, "QBXMLMsgsRq", onError="stopOnError")
    msgs.append(request)
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{VERSION}"?>\n{body}'


def element(tag: str, *children: etree._Element | None, text: Any = None, **attrs: str):
    """Return an element with text or children; None children are left out."""
    node = etree.Element(tag, **{k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = text if isinstance(text, str) else format_value(text)
    for child in children:
        if child is not None:
            node.append(child)
    return node


def ref(tag: str, full_name: str | None = None, list_id: str | None = None):
    """Return an `...Ref` by ListID or FullName (None when neither is given)."""
    if list_id:
        return element(tag, element("ListID", text=list_id))
    if full_name:
        return element(tag, element("FullName", text=full_name))
    return None


def format_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def query(
    entity: str,
    *,
    since: dt.datetime | None = None,
    iterator: str | None = None,
    max_returned: int = 0,
    line_items: bool = False,
    ids: Iterable[str] = (),
    ref_numbers: Iterable[str] = (),
    request_id: str | None = None,
) -> str:
    """Return an `<Entity>QueryRq`: by ids, by RefNumber, or changed since, by iterator.

    A list (Customer) filters with FromModifiedDate directly; a transaction
    with ModifiedDateRangeFilter. The first page starts an iterator
    (`iterator="Start"`), later pages continue it by its id.
    """
    # Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/query-requests-and-responses
    is_list = entity == "Customer"
    attrs: dict[str, str | None] = {"requestID": request_id}
    if max_returned:
        attrs["iterator"] = "Continue" if iterator else "Start"
        attrs["iteratorID"] = iterator
    children: list[etree._Element | None] = []
    ids, ref_numbers = list(ids), list(ref_numbers)
    if ids:
        children += [element("ListID" if is_list else "TxnID", text=i) for i in ids]
    elif ref_numbers:
        children += [element("RefNumber", text=n) for n in ref_numbers]
    else:
        if max_returned:
            children.append(element("MaxReturned", text=max_returned))
        if is_list:
            children.append(element("ActiveStatus", text="All"))
            if since is not None:
                children.append(element("FromModifiedDate", text=since))
        elif since is not None:
            children.append(
                element("ModifiedDateRangeFilter", element("FromModifiedDate", text=since))
            )
    if line_items:
        children.append(element("IncludeLineItems", text=True))
    return message(element(f"{entity}QueryRq", *children, **attrs))


def deleted_query(types: Iterable[str], since: dt.datetime | None, *, lists: bool = False) -> str:
    """Return a TxnDeletedQueryRq (or ListDeletedQueryRq) for what was deleted since."""
    # Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/txndeletedquery
    kind = "List" if lists else "Txn"
    children = [element(f"{kind}DelType", text=t) for t in types]
    if since is not None:
        children.append(element("DeletedDateRangeFilter", element("FromDeletedDate", text=since)))
    return message(element(f"{kind}DeletedQueryRq", *children))


def txn_del(txn_type: str, txn_id: str) -> str:
    # Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/txndel
    return message(
        element("TxnDelRq", element("TxnDelType", text=txn_type), element("TxnID", text=txn_id))
    )


# -- reading answers ------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One `...Rs`: its status, its rows, and where its iterator stands."""

    name: str  # "InvoiceQueryRs"
    status: int
    severity: str
    message: str
    rows: tuple[etree._Element, ...]
    iterator: str | None = None
    remaining: int = 0

    @property
    def ok(self) -> bool:
        return self.status in (0, NOT_FOUND_IN_QUERY) or self.severity.lower() == "warn"


def parse(document: str | bytes) -> Answer:
    """Read the one answer of a qbXML response; MalformedRecord if it is not qbXML."""
    try:
        root = etree.fromstring(
            document.encode() if isinstance(document, str) else document, _PARSER
        )
    except etree.XMLSyntaxError as e:
        raise MalformedRecord(f"QuickBooks answered with something that is not XML: {e}") from e
    answers = root.find("QBXMLMsgsRs")
    if root.tag != "QBXML" or answers is None or len(answers) == 0:
        raise MalformedRecord("QuickBooks answered with no qbXML response", raw=document)
    answer = answers[0]
    status = int(answer.get("statusCode", "0"))
    return Answer(
        name=answer.tag,
        status=status,
        severity=answer.get("statusSeverity", "Info"),
        message=answer.get("statusMessage", ""),
        rows=tuple(answer),
        iterator=answer.get("iteratorID"),
        remaining=int(answer.get("iteratorRemainingCount", "0") or 0),
    )


def status_error(answer: Answer) -> ConnectorError | None:
    """Return the error an answer's status means, or None when it is fine."""
    if answer.ok:
        return None
    text = f"QuickBooks {answer.name} status {answer.status}: {answer.message}"
    if answer.status in RETRYABLE:
        return RetryableError(text, status=answer.status)
    return PermanentError(text, status=answer.status)


def text(node: etree._Element | None, path: str, default: str = "") -> str:
    if node is None:
        return default
    found = node.findtext(path)
    return default if found is None else found.strip()


def amount(node: etree._Element, path: str) -> Decimal:
    value = text(node, path)
    return Decimal(value) if value else Decimal("0")


def date(node: etree._Element, path: str) -> dt.date | None:
    value = text(node, path)
    return dt.date.fromisoformat(value[:10]) if value else None


def timestamp(node: etree._Element, path: str) -> dt.datetime | None:
    value = text(node, path)
    return dt.datetime.fromisoformat(value) if value else None


def each(node: etree._Element, tag: str) -> Iterator[etree._Element]:
    yield from node.iterfind(tag)
