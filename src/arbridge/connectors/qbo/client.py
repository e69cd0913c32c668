"""QuickBooks Online's v3 accounting API: requests, query pages, CDC and Faults.

The caller's httpx.Client carries the OAuth Bearer token and the company's
shared rate limit (integrations/qbo.py builds it); this module says what to
ask and reads the answers. Every call goes through connectors.http.request
(bounded retries, Retry-After). QuickBooks answers a refusal with a Fault
body naming an error code; two codes mean something to arbridge, on top of
the status mapping in connectors.http:

    PermanentError
    ├── StaleObject   5010: the SyncToken sent is not the latest; re-read and retry
    └── NotFound      610: the object is deleted, or never was

A write is sent with `?requestid=`: QuickBooks answers a repeated id with the
first answer and does nothing more, so a POST whose response was lost is safe
to send again. A batch request is one such POST carrying up to 30 items; each
item's answer is its object or its own Fault, read by `batch_result` into the
same errors.
Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import httpx

from arbridge.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RemoteRef,
    RetryableError,
)
from arbridge.connectors.http import request
from arbridge.connectors.ratelimit import Limiter
from arbridge.connectors.wire import dumps
from arbridge.connectors.wire import parse as loads

MINOR_VERSION = "75"
PAGE_SIZE = 1000  # the most a query answers (MAXRESULTS)
CDC_LIMIT = 1000  # the most objects one change data capture response holds
MAX_REQUEST_ID = 50


class StaleObject(PermanentError):
    """QuickBooks holds a newer version than the SyncToken sent (error 5010)."""


class NotFound(PermanentError):
    """QuickBooks has no such object, or no longer (error 610)."""


FAULT_CODES: dict[str, type[PermanentError]] = {"5010": StaleObject, "610": NotFound}
# Fault types: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
RETRYABLE_FAULTS = frozenset({"SystemFault", "SERVICE"})
AUTH_FAULTS = frozenset({"AuthenticationFault", "AuthorizationFault"})


class Page(NamedTuple):
    """One answer's records, and the server's time when it answered."""

    records: list[dict[str, Any]]
    time: dt.datetime | None


class Changed(NamedTuple):
    """One change data capture answer: objects by entity name, and the server's time."""

    objects: dict[str, list[dict[str, Any]]]
    time: dt.datetime | None


ACCEPT_JSON = {"Accept": "application/json"}


class QuickBooksClient:
    """One company's (realm's) v3 API."""

    def __init__(self, http: httpx.Client, base_url: str, realm_id: str) -> None:
        self.http = http
        self.api = f"{base_url.rstrip('/')}/v3/company/{realm_id}"

    # -- sending --------------------------------------------------------------

    def send(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request to the company's API; raise the ConnectorError a failure means."""
        params = {"minorversion": MINOR_VERSION, **kwargs.pop("params", {})}
        return request(
            FaultReader(self.http),  # type: ignore[arg-type]  # a client that reads Faults
            method,
            f"{self.api}/{path}",
            idempotent=idempotent,
            params=params,
            **kwargs,
        )

    def get(self, path: str, **params: str) -> dict[str, Any]:
        return loads(self.send("GET", path, params=params, headers=ACCEPT_JSON).content)

    # -- reading --------------------------------------------------------------

    def query(self, entity: str, text: str) -> Page:
        """Return the records a query selects."""
        # Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        body = self.get("query", query=text)
        return Page(body.get("QueryResponse", {}).get(entity, []), server_time(body))

    def pages(self, entity: str, *, where: Iterable[str] = (), after: str = "0") -> Iterator[Page]:
        """Yield an entity's records a page at a time, in Id order, from the Id after `after`.

        Pages follow Ids rather than STARTPOSITION: a record deleted while the
        pages are read would shift every later one a place down, and the one
        pushed across a page boundary would be read by neither page.
        """
        while True:
            conditions = " and ".join([*where, f"Id > {quote(after)}"])
            text = (
                f"select * from {entity} where {conditions} "  # noqa: S608 - not SQL
                f"orderby Id startposition 1 maxresults {PAGE_SIZE}"
            )
            page = self.query(entity, text)
            yield page
            if len(page.records) < PAGE_SIZE:
                return
            last = str(page.records[-1]["Id"])
            if id_order(last) <= id_order(after):
                raise PermanentError(f"{entity} pages are not in Id order: {last} after {after}")
            after = last

    def select(self, entity: str, ids: Iterable[str], *, where: Iterable[str] = ()) -> Page:
        """Return the records of some ids (at most a page's worth) in one query."""
        values = ", ".join(quote(id) for id in ids)
        conditions = " and ".join([*where, f"Id in ({values})"])
        return self.query(
            entity,
            f"select * from {entity} where {conditions} maxresults {PAGE_SIZE}",  # noqa: S608
        )

    def cdc(self, entities: Iterable[str], since: dt.datetime) -> Changed:
        """Return the objects of these entities changed since a moment, deletes included."""
        # Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
        body = self.get("cdc", entities=",".join(entities), changedSince=since.isoformat())
        changed: dict[str, list[dict[str, Any]]] = {}
        for response in body.get("CDCResponse", []):
            for group in response.get("QueryResponse", []):
                for name, objects in group.items():
                    if isinstance(objects, list):
                        changed.setdefault(name, []).extend(objects)
        return Changed(changed, server_time(body))

    def read(self, entity: str, id: str) -> dict[str, Any]:
        """Return one object; NotFound if it is deleted."""
        return self.get(f"{entity.lower()}/{id}")[entity]

    def pdf(self, invoice_id: str) -> bytes:
        """Return QuickBooks' own PDF of an invoice."""
        # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#get-an-invoice-as-pdf
        response = self.send(
            "GET", f"invoice/{invoice_id}/pdf", headers={"Accept": "application/pdf"}
        )
        return response.content

    # -- writing --------------------------------------------------------------

    def write(
        self, entity: str, body: dict[str, Any], *, request_id: str, operation: str = ""
    ) -> dict[str, Any]:
        """Create, update or (with an operation) delete an object; return QuickBooks' copy.

        The request id makes the POST safe to repeat, so it is retried like a GET.
        """
        params = {"requestid": request_id_for(request_id)}
        if operation:
            params["operation"] = operation
        response = self.send(
            "POST",
            entity.lower(),
            idempotent=True,
            params=params,
            content=dumps(body),
            headers={**ACCEPT_JSON, "Content-Type": "application/json"},
        )
        return loads(response.content)[entity]

    def batch(
        self,
        items: list[dict[str, Any]],
        *,
        request_id: str,
        limiter: Limiter | None = None,
        key: str = "",
    ) -> dict[str, dict[str, Any]]:
        """Send BatchItemRequests in one request; return each answer by its bId.

        `limiter` holds the batch endpoint's own limit under `key`; the request
        also spends one of the company's requests, like any other.
        """
        # Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch
        response = self.send(
            "POST",
            "batch",
            idempotent=True,
            limiter=limiter,
            key=key,
            params={"requestid": request_id_for(request_id)},
            content=dumps({"BatchItemRequest": items}),
            headers={**ACCEPT_JSON, "Content-Type": "application/json"},
        )
        answers = loads(response.content).get("BatchItemResponse") or []
        return {str(answer.get("bId")): answer for answer in answers if isinstance(answer, dict)}


def batch_result(answer: dict[str, Any] | None, entity: str) -> RemoteRef | ConnectorError:
    """Return what one batch item produced, or the error its Fault means.

    A SystemFault (or the gateway's SERVICE fault) on an item is QuickBooks
    failing to do it, so it may be tried again; an item with no answer at all
    is not, since nothing says whether it was written.
    """
    if answer is None:
        return PermanentError(f"QuickBooks answered nothing for this {entity} in its batch")
    if isinstance(created := answer.get(entity), dict) and created.get("Id") is not None:
        return RemoteRef(str(created["Id"]), str(created.get("SyncToken", "")))
    fault = answer.get("Fault")
    if not isinstance(fault, dict):
        return PermanentError(f"QuickBooks answered this {entity} with neither it nor a Fault")
    errors = [e for e in fault.get("Error") or [] if isinstance(e, dict)]
    words = "; ".join(
        filter(None, (w for e in errors for w in (e.get("Message"), e.get("Detail"))))
    )
    message = f"{fault.get('type', 'Fault')} {words}".strip()
    for error in errors:
        if error_class := FAULT_CODES.get(str(error.get("code", ""))):
            return error_class(message)
    kind = str(fault.get("type", ""))
    if kind in RETRYABLE_FAULTS:
        return RetryableError(message)
    if kind in AUTH_FAULTS:
        return AuthError(message)
    return PermanentError(message)


class FaultReader:
    """An httpx client whose refusals with a Fault code arbridge acts on raise that error.

    connectors.http.request sends through it and maps every other failure by status.
    """

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise_for_fault(response)
        return response


def raise_for_fault(response: httpx.Response) -> None:
    """Raise StaleObject or NotFound if the response's Fault carries their code."""
    try:
        body = loads(response.content)
    except ValueError:
        return
    fault = body.get("Fault") if isinstance(body, dict) else None
    for error in (fault or {}).get("Error", []):
        error_class = FAULT_CODES.get(str(error.get("code", "")))
        if error_class is not None:
            words = "; ".join(filter(None, (error.get("Message"), error.get("Detail"))))
            raise error_class(f"{response.status_code} {words}", status=response.status_code)


# -- the wire format ------------------------------------------------------------


def quote(value: str) -> str:
    """Return a value as a query string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def id_order(id: str) -> tuple[int, str]:
    """Return a sort key putting QuickBooks' numeric Ids in number order."""
    return (int(id), "") if id.isdigit() else (-1, id)


def server_time(body: dict[str, Any]) -> dt.datetime | None:
    """Return the time QuickBooks stamped on a response, if it did."""
    try:
        return dt.datetime.fromisoformat(body["time"])
    except (KeyError, TypeError, ValueError):
        return None


def request_id_for(key: str) -> str:
    """Return a requestid (at most 50 characters) that is the same for the same key."""
    if len(key) <= MAX_REQUEST_ID:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[: MAX_REQUEST_ID - 33]}-{digest}"
