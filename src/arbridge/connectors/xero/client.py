"""Xero's Accounting API for one organisation (tenant): requests, pages and refusals.

# Reference: https://developer.xero.com/documentation/api/accounting/overview
# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
# Reference: https://developer.xero.com/documentation/guides/idempotent-requests/idempotency
# Reference: https://github.com/XeroAPI/Xero-OpenAPI (xero_accounting.yaml)

The caller's httpx.Client carries the OAuth Bearer token and the tenant's
shared rate limit; this module adds the `xero-tenant-id` header every call
needs, says what to ask and reads the answers. Every call goes through
connectors.http.request (bounded retries, Retry-After). A 429 is a
`RateLimited` naming which of Xero's limits was hit (X-Rate-Limit-Problem:
"minute", "day", "concurrent" or "appminute"): a minute's wait is slept
through, a day's is raised so the job pauses and resumes from its cursor.

Writes (PUT) carry an Idempotency-Key (at most 128 characters): Xero answers
a repeated key with the first answer and does nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import httpx

from arbridge.connectors.base import MalformedRecord, RetryableError
from arbridge.connectors.http import parse_retry_after, request
from arbridge.connectors.wire import dumps, loads

PAGE_SIZE = 100  # what `page=N` answers at most
MAX_IDEMPOTENCY_KEY = 128
ACCEPT_JSON = {"Accept": "application/json"}
# "/Date(1552326816230+0000)/": milliseconds since the epoch, and an offset Xero ignores.
MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


class RateLimited(RetryableError):
    """A 429; `problem` is Xero's X-Rate-Limit-Problem ("minute", "day", ...)."""

    def __init__(self, message: str, *, problem: str, retry_after: float | None) -> None:
        super().__init__(message, status=429, retry_after=retry_after)
        self.problem = problem


class Page(NamedTuple):
    number: int
    records: list[dict[str, Any]]
    last: bool
    time: dt.datetime | None  # the server's clock when it answered


class XeroClient:
    """One organisation's Accounting API."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        tenant_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.api = f"{base_url.rstrip('/')}/api.xro/2.0"
        self.tenant_id = tenant_id
        self.sleep = sleep

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**ACCEPT_JSON, "xero-tenant-id": self.tenant_id, **kwargs.pop("headers", {})}
        return request(
            LimitReader(self.http),  # type: ignore[arg-type]  # a client that reads 429s
            method,
            f"{self.api}/{path}",
            headers=headers,
            sleep=self.sleep,
            **kwargs,
        )

    def get(self, path: str, *, since: str | None = None, **params: Any) -> dict[str, Any]:
        headers = {"If-Modified-Since": since} if since else {}
        return loads(self.send("GET", path, params=params, headers=headers).content, "Xero")

    # -- reading --------------------------------------------------------------

    def page(
        self,
        resource: str,
        number: int,
        *,
        since: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Page:
        """Return one page of a list (at most PAGE_SIZE records), changed since `since`.

        The answer's `pagination.pageCount` says whether more follow; without
        it a short page is the last.
        """
        body = self.get(resource, since=since, page=number, **(params or {}))
        records = body.get(resource) or []
        if not isinstance(records, list):
            raise MalformedRecord(f"Xero's {resource} page holds no list", raw=body)
        count = (body.get("pagination") or {}).get("pageCount")
        last = number >= count if isinstance(count, int) else len(records) < PAGE_SIZE
        return Page(number, records, last, parse_date(body.get("DateTimeUTC")))

    def by_ids(self, resource: str, ids: list[str], **params: Any) -> list[dict[str, Any]]:
        """Return the records of some ids (at most a page's worth), whatever their status."""
        body = self.get(resource, IDs=",".join(ids), **params)
        return list(body.get(resource) or [])

    # -- writing --------------------------------------------------------------

    def put(self, resource: str, body: dict[str, Any], *, key: str) -> list[dict[str, Any]]:
        """Create records; the Idempotency-Key makes the PUT safe to repeat."""
        response = self.send(
            "PUT",
            resource,
            content=dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key(key)},
        )
        return list(loads(response.content, "Xero").get(resource) or [])

    def post(self, path: str, body: dict[str, Any], *, key: str) -> dict[str, Any]:
        """Update a record (POST); with an Idempotency-Key, safe to repeat."""
        response = self.send(
            "POST",
            path,
            idempotent=True,
            content=dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key(key)},
        )
        return loads(response.content, "Xero")


class LimitReader:
    """An httpx client whose 429s raise RateLimited, naming the limit Xero says was hit.

    connectors.http.request sends through it: a short Retry-After is waited
    out there, a long one (the daily limit) raised to the caller.
    """

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        if response.status_code == 429:
            problem = response.headers.get("X-Rate-Limit-Problem", "minute").lower()
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited(
                f"429 Xero's {problem} limit is spent; retry after {retry_after}s",
                problem=problem,
                retry_after=retry_after,
            )
        return response


def idempotency_key(key: str) -> str:
    """Return an Idempotency-Key (at most 128 characters) that is the same for the same key."""
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_IDEMPOTENCY_KEY - 65]}-{digest}"


def parse_date(value: Any) -> dt.datetime | None:
    """Return a Xero timestamp ("/Date(ms+0000)/" or ISO 8601) as an aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    if match := MS_DATE.fullmatch(value.strip()):
        return dt.datetime.fromtimestamp(int(match[1]) / 1000, dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def since_header(moment: dt.datetime) -> str:
    """Return a moment as If-Modified-Since wants it: UTC, ISO 8601, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def id_list(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(id) for id in ids if id))
