"""The batch endpoint: several writes and queries in one request, each answered on its own.

    POST /v3/company/<realm>/batch
    {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Payment": {...}},
        {"bId": "2", "operation": "delete", "Payment": {"Id": "41", "SyncToken": "0"}},
        {"bId": "3", "Query": "select * from Invoice where Id = '7'"}]}
    -> {"BatchItemResponse": [{"bId": "1", "Payment": {...}},
                              {"bId": "2", "Fault": {"Error": [...], "type": "ValidationFault"}},
                              {"bId": "3", "QueryResponse": {...}}], "time": ...}

Items run one after another, and one item's Fault does not undo the others;
the request as a whole is refused only when it is malformed or holds more
than MAX_ITEMS items. Throttles (limits.py): a batch is one request against
the 500 a minute, and is also counted against the batch limits.
Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch
Shapes: IntuitRestServiceDef.xsd (IntuitBatchRequest, BatchItemRequest, BatchItemResponse).
"""

from __future__ import annotations

from typing import Any

from arbridge.sandbox.qbo.store import ENTITIES, Store
from arbridge.sandbox.qbo.wire import Fault, dumps, invalid, loads, required

# "Recommended maximum number of payloads in a single batch request is 30."
# Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
# The sandbox refuses more outright; Intuit's wording for the refusal is not published.
MAX_ITEMS = 30
ITEM_KEYS = frozenset({"bId", "operation", "optionsData"})
OPERATIONS = ("create", "update", "delete", "void")


def answer(store: Store, realm_id: str, data: bytes) -> str:
    """Carry out a batch request's items in order; return the BatchItemResponse list as JSON."""
    try:
        body = loads(data)
    except ValueError:
        raise invalid("body", "not JSON") from None
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not items:
        raise required("BatchItemRequest")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid("BatchItemRequest", "not a list of items")
    if len(items) > MAX_ITEMS:
        raise Fault(
            "1000",
            "Batch request has too many items",
            f"A batch request holds at most {MAX_ITEMS} items; this one holds {len(items)}",
            element="BatchItemRequest",
        )
    ids = [item.get("bId") for item in items]
    if any(not isinstance(id, str) or not id for id in ids) or len(set(ids)) != len(ids):
        raise invalid("bId", "every item needs a bId of its own")
    with store.lock:  # a batch's items run one after another, none interleaved
        return "[" + ",".join(_item(store, realm_id, item) for item in items) + "]"


def _item(store: Store, realm_id: str, item: dict[str, Any]) -> str:
    """Answer one item: its object, its query's response, or its Fault."""
    bid = dumps(item["bId"])
    try:
        key, text = _carry_out(store, realm_id, item)
    except Fault as fault:
        key, text = "Fault", dumps(fault.body()["Fault"])
    return f'{{"bId":{bid},"{key}":{text}}}'


def _carry_out(store: Store, realm_id: str, item: dict[str, Any]) -> tuple[str, str]:
    if "Query" in item:
        return "QueryResponse", store.query(realm_id, str(item["Query"]))
    names = [key for key in item if key not in ITEM_KEYS]
    if len(names) != 1 or names[0] not in ENTITIES or not isinstance(item[names[0]], dict):
        raise invalid("BatchItemRequest", f"one entity or Query per item, not {names}")
    name, body = names[0], item[names[0]]
    operation = item.get("operation") or ("update" if body.get("Id") is not None else "create")
    if operation not in OPERATIONS:
        raise Fault("500", "Unsupported Operation", f"Operation {operation} is not supported")
    if operation == "delete":
        return name, store.delete(realm_id, name, body)
    if operation == "void":
        return name, store.void(realm_id, name, body)
    if operation == "update":
        return name, store.update(realm_id, name, body)
    if body.get("Id") is not None:
        raise invalid("Id", body["Id"])
    return name, store.create(realm_id, name, body)
