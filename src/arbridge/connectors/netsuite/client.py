"""NetSuite's REST web services for one account: the record service and SuiteQL.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1540391670.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545222128.html

    GET    /services/rest/record/v1/<type>/<id>?expandSubResources=true
    PUT    /services/rest/record/v1/<type>/eid:<external id>   upsert: 204, Location
    DELETE /services/rest/record/v1/<type>/<id>
    POST   /services/rest/query/v1/suiteql?limit=L&offset=O   (Prefer: transient)
           {"q": "SELECT ..."} -> {"items": [...], "hasMore": bool, "totalResults": n}

Refusals map through connectors.http: 429 (NetSuite's concurrency
governance: more requests at once than the account's limit) and 5xx are
retryable, waiting what Retry-After asks; 401 is an AuthError; other 4xx
are permanent, with NetSuite's `o:errorDetails` detail as the message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx

from arbridge.connectors.base import (
    AuthError,
    MalformedRecord,
    PermanentError,
    RetryableError,
)
from arbridge.connectors.http import parse_retry_after, request
from arbridge.connectors.wire import dumps, loads

RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
PAGE_SIZE = 1000  # SuiteQL's largest `limit`


class Page(NamedTuple):
    items: list[dict[str, Any]]
    more: bool
    time: dt.datetime | None = None  # the server's clock when it answered (Date)


class NetSuiteClient:
    def __init__(
        self, http: httpx.Client, base_url: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.sleep = sleep

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        return request(
            DetailReader(self.http),  # type: ignore[arg-type]  # a client that reads refusals
            method,
            f"{self.base}{path}",
            headers=headers,
            sleep=self.sleep,
            **kwargs,
        )

    def record(self, kind: str, id: str) -> dict[str, Any]:
        """Return one record with its sublists expanded."""
        response = self.send("GET", f"{RECORDS}/{kind}/{id}", params={"expandSubResources": "true"})
        body = loads(response.content, "NetSuite")
        if not isinstance(body, dict):
            raise MalformedRecord(f"NetSuite's {kind} {id} is not an object", raw=body)
        return body

    def query(self, q: str, offset: int = 0, limit: int = PAGE_SIZE) -> Page:
        """Return one page of a SuiteQL query's rows."""
        # A SuiteQL query is read-only: it may be resent after a lost answer.
        response = self.send(
            "POST",
            SUITEQL,
            params={"limit": limit, "offset": offset},
            content=dumps({"q": q}),
            headers={"Content-Type": "application/json", "Prefer": "transient"},
            idempotent=True,
        )
        body = loads(response.content, "NetSuite")
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise MalformedRecord("NetSuite's SuiteQL answer holds no items", raw=body)
        return Page(items, bool(body.get("hasMore")), server_time(response))

    def upsert(self, kind: str, external_id: str, body: dict[str, Any]) -> str:
        """Create or update the record with this external id; return its internal id.

        An upsert by external id is idempotent: sent again after a lost answer,
        it updates the one record the first created.
        """
        response = self.send(
            "PUT",
            f"{RECORDS}/{kind}/eid:{external_id}",
            content=dumps(body),
            headers={"Content-Type": "application/json"},
            idempotent=True,
        )
        location = response.headers.get("Location", "")
        remote_id = location.rstrip("/").rpartition("/")[2]
        if not remote_id or remote_id.startswith("eid:"):
            found = self.record(kind, f"eid:{external_id}")
            remote_id = str(found.get("id") or "")
        if not remote_id:
            raise PermanentError(f"NetSuite did not say which {kind} it wrote")
        return remote_id

    def delete(self, kind: str, id: str) -> None:
        self.send("DELETE", f"{RECORDS}/{kind}/{id}")


class DetailReader:
    """An httpx client whose refusals raise with NetSuite's o:errorDetails as the message."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        status = response.status_code
        if status < 400:
            return response
        message = f"{status} NetSuite: {details(response)}"
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RetryableError(message, status=status, retry_after=retry_after)
        if status == 401:
            raise AuthError(message, status=status)
        raise PermanentError(message, status=status)


def details(response: httpx.Response) -> str:
    """Return what NetSuite said: each error's code and detail, or its title."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    parts = [
        f"{d.get('o:errorCode', '')} {d.get('detail', '')}".strip()
        for d in body.get("o:errorDetails") or []
        if isinstance(d, dict)
    ]
    words = "; ".join(p for p in parts if p) or str(
        body.get("title") or body.get("error_description") or ""
    )
    return words[:500] or response.reason_phrase


def timestamp(moment: dt.datetime) -> str:
    """Return a moment as SuiteQL's TO_TIMESTAMP takes it, in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_time(value: Any) -> dt.datetime | None:
    """Return a NetSuite timestamp (ISO 8601, "Z" or an offset) as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def server_time(response: httpx.Response) -> dt.datetime | None:
    """Return the moment the server answered, from its Date header."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
