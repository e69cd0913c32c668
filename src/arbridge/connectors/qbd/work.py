"""The work of a QuickBooks Desktop connection, one qbXML request at a time.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/query-requests-and-responses
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/iterators

QuickBooks answers one request at a time, and between two of them arbridge
may be another process (each Web Connector call is an HTTP request of its
own), so all the work is plain JSON state and pure steps on it:

    reads   {"since": S, "started": T, "entity": "Invoice", "iterator": I}
            customers, invoices, credit memos, received payments changed since
            S (none on the first pass), each by an iterator of PAGE records,
            then what was deleted since S. The Cursor after each page is the
            state without its iterator: QuickBooks forgets iterators when a
            session ends, so a session cut short reads that entity again from
            S. Applying a change twice changes nothing. The next pass reads
            from T, arbridge's clock at the start of this one less OVERLAP.
    writes  {"command": {...}, "stage": "lookup" | "add" | "delete"}
            a payment or deposit is first looked for by the mark arbridge
            gives it (mapping.mark, mapping.memo), and added only if absent;
            so an add whose answer never came back is found by the next
            session and never made twice. A reversal is a TxnDel; a payment
            QuickBooks no longer has counts as deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from arbridge.connectors.base import (
    Change,
    Command,
    ConnectorError,
    Cursor,
    PermanentError,
    Rejected,
    RemoteRef,
)
from arbridge.connectors.qbd import mapping, qbxml

STREAM = "qbd"
# Read in this order: a record's customer and invoices come before it.
ENTITIES = ("Customer", "Invoice", "CreditMemo", "ReceivePayment", "TxnDeleted", "ListDeleted")
LINES = frozenset({"Invoice"})
PAGE = 500
# The PC's clock may differ from arbridge's by minutes; re-reading is harmless.
OVERLAP = dt.timedelta(minutes=10)
DELETED_TXNS = ("Invoice", "ReceivePayment", "CreditMemo")

Item = Change | Rejected | Cursor


# -- reads ------------------------------------------------------------------------


def reads(cursor: Cursor | None) -> dict[str, Any]:
    """Return the read state a pass resumes from (a full pass with no cursor)."""
    state = dict(cursor.value) if cursor is not None else {}
    entity = state.get("entity") if state.get("entity") in ENTITIES else ENTITIES[0]
    return {
        "since": state.get("since"),
        "started": state.get("started"),
        "entity": entity,
        "iterator": None,
    }


def read_request(state: dict[str, Any], now: dt.datetime) -> str | None:
    """Return the next read's qbXML, or None when the pass is done."""
    if state.get("entity") is None:
        return None
    if state.get("started") is None:
        state["started"] = (now - OVERLAP).isoformat()
    since = parse_time(state.get("since"))
    entity = state["entity"]
    if entity == "TxnDeleted":
        return qbxml.deleted_query(DELETED_TXNS, since)
    if entity == "ListDeleted":
        return qbxml.deleted_query(("Customer",), since, lists=True)
    return qbxml.query(
        entity,
        since=since,
        iterator=state.get("iterator"),
        max_returned=PAGE,
        line_items=entity in LINES,
    )


def read_answer(
    state: dict[str, Any], document: str, known: Callable[[str], Iterable[str]]
) -> list[Item]:
    """Read a query's answer: its changes, then the checkpoint; the state moves on.

    Raises the answer's status error (RetryableError or PermanentError).
    """
    answer = qbxml.parse(document)
    if (error := qbxml.status_error(answer)) is not None:
        raise error
    entity = state["entity"]
    held_credits = list(known("credit")) if entity in ("CreditMemo", "TxnDeleted") else []
    items: list[Item] = []
    for row in answer.rows:
        items += changes(entity, row, held_credits)
    if entity not in ("TxnDeleted", "ListDeleted") and answer.iterator and answer.remaining:
        state["iterator"] = answer.iterator
    else:
        following = ENTITIES.index(entity) + 1
        state["iterator"] = None
        # A first pass has nothing to delete: it stops before the deleted queries.
        last = ENTITIES.index("ReceivePayment") if state.get("since") is None else len(ENTITIES) - 1
        state["entity"] = ENTITIES[following] if following <= last else None
    if state["entity"] is None:
        items.append(Cursor(STREAM, {"since": state["started"]}))
    else:
        items.append(Cursor(STREAM, checkpoint(state)))
    return items


def checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    return {"since": state["since"], "started": state["started"], "entity": state["entity"]}


def changes(entity: str, row: Any, held_credits: list[str]) -> list[Change | Rejected]:
    if entity == "Customer":
        return mapping.customer_changes(row)
    if entity == "Invoice":
        return mapping.invoice_changes(row)
    if entity == "CreditMemo":
        return mapping.credit_changes(row, held_credits)
    if entity == "ReceivePayment":
        return mapping.payment_changes(row)
    return mapping.deleted_changes(row, held_credits)


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


# -- writes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    """Where a connection's payments and deposits go (QuickBooks accounts by full name)."""

    payments_to: str | None  # Undeposited Funds while deposits are on; None: QuickBooks' default
    bank: str | None
    fees: str | None


ACTIONS = frozenset({"create_payment", "delete_payment", "create_deposit"})


def writes(command: Command) -> dict[str, Any]:
    """Return the write state of a command, at its first stage."""
    if command.action not in ACTIONS:
        raise PermanentError(f"QuickBooks Desktop cannot {command.action!r}")
    stage = "delete" if command.action == "delete_payment" else "lookup"
    return {
        "command": {
            "action": command.action,
            "payload": dict(command.payload),
            "key": command.idempotency_key,
        },
        "stage": stage,
    }


def write_request(state: dict[str, Any], accounts: Accounts) -> str:
    """Return the qbXML of the write's current stage."""
    command, stage = state["command"], state["stage"]
    payload, key = command["payload"], command["key"]
    try:
        if command["action"] == "create_payment":
            if stage == "lookup":
                return qbxml.query("ReceivePayment", ref_numbers=[mapping.mark(key)])
            return mapping.receive_payment_add(payload, key, accounts.payments_to)
        if command["action"] == "delete_payment":
            return qbxml.txn_del("ReceivePayment", str(payload["remote_id"]))
        bank = payload.get("deposit_account_id") or accounts.bank
        if not bank:
            raise PermanentError("no QuickBooks bank account is chosen for deposits")
        if stage == "lookup":
            return mapping.deposit_lookup(payload, bank)
        fees = payload.get("fee_account_id") or accounts.fees
        return mapping.deposit_add(payload, key, bank=bank, fee_account=fees)
    except KeyError as e:
        raise PermanentError(f"the {command['action']} command has no {e}") from e


def write_answer(state: dict[str, Any], document: str) -> RemoteRef | ConnectorError | None:
    """Read a write's answer: its result, or None with the state moved to the next stage."""
    command, stage = state["command"], state["stage"]
    key = command["key"]
    answer = qbxml.parse(document)
    if stage == "delete":
        if answer.status == qbxml.NO_SUCH_OBJECT:
            return RemoteRef(str(command["payload"]["remote_id"]))  # deleted before
        if (error := qbxml.status_error(answer)) is not None:
            return error
        return RemoteRef(str(command["payload"]["remote_id"]))
    if (error := qbxml.status_error(answer)) is not None:
        return error
    if stage == "lookup":
        for row in answer.rows:
            if mapping.is_marked(row, key):
                return RemoteRef(qbxml.text(row, "TxnID"), qbxml.text(row, "EditSequence"))
        state["stage"] = "add"
        return None
    if not answer.rows or not qbxml.text(answer.rows[0], "TxnID"):
        return PermanentError(f"QuickBooks answered {answer.name} with no transaction")
    row = answer.rows[0]
    return RemoteRef(qbxml.text(row, "TxnID"), qbxml.text(row, "EditSequence"))
