"""Zoho Books API v3 for one organization: requests, pages, rate limits and refusals.

# Reference: https://www.zoho.com/books/api/v3/introduction/
# Reference: https://www.zoho.com/books/api/v3/introduction/#api-call-limit
# Reference: https://www.zoho.com/books/api/v3/introduction/#pagination
# Reference: https://www.zoho.com/books/api/v3/introduction/#errors

The caller's httpx.Client carries the OAuth token and the organization's
shared limits; this module adds the `organization_id` every call names,
reads Zoho's envelope (`code` 0 and `message` "success", the records under
the resource's name, `page_context.has_more_page`) and maps its refusals
through connectors.http: 429 and 5xx retryable, 401 an AuthError, other
4xx permanent.

A 429 is a `RateLimited` saying which of Zoho's limits was spent: 100
requests a minute per organization (waited out here), or the plan's daily
allowance (1,000 on Free to 10,000 on Premium and above: raised, so the job
stops after its last checkpoint and resumes when the day's window frees).
Zoho's documentation names no Retry-After, so where none is sent a minute
is assumed for the minute and an hour for the day (verify).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx

from arbridge.connectors.base import MalformedRecord, PermanentError, RetryableError
from arbridge.connectors.http import parse_retry_after, request
from arbridge.connectors.wire import dumps, loads

PER_PAGE = 200  # Zoho's maximum `per_page`
API_PATH = "/books/v3"
MINUTE_RETRY_S = 60.0
DAY_RETRY_S = 3600.0


class RateLimited(RetryableError):
    """A 429; `problem` is "minute" or "day"."""

    def __init__(self, message: str, *, problem: str, retry_after: float) -> None:
        super().__init__(message, status=429, retry_after=retry_after)
        self.problem = problem


class Page(NamedTuple):
    number: int
    records: list[dict[str, Any]]
    last: bool
    time: dt.datetime | None  # the server's clock when it answered (its Date header)


class ZohoClient:
    """One organization's Books API at its data centre's API domain."""

    def __init__(
        self,
        http: httpx.Client,
        api_domain: str,
        organization_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.api = f"{api_domain.rstrip('/')}{API_PATH}"
        self.organization_id = organization_id
        self.sleep = sleep

    def send(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any):
        params = dict(params or {})
        if self.organization_id:
            params["organization_id"] = self.organization_id
        return request(
            LimitReader(self.http),  # type: ignore[arg-type]  # a client that reads 429s
            method,
            f"{self.api}/{path}",
            params=params,
            headers={"Accept": "application/json", **kwargs.pop("headers", {})},
            sleep=self.sleep,
            **kwargs,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], httpx.Response]:
        response = self.send(method, path, **kwargs)
        body = loads(response.content, "Zoho Books")
        if not isinstance(body, dict):
            raise MalformedRecord(
                "Zoho Books answered with something other than an object", raw=body
            )
        if body.get("code", 0) != 0:
            raise PermanentError(f"Zoho Books refused: {body.get('message')}", status=200)
        return body, response

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params=params)[0]

    def page(self, resource: str, number: int, params: dict[str, Any]) -> Page:
        """Return one page of a list (at most PER_PAGE records) and whether it is the last."""
        body, response = self.call(
            "GET", resource, params={**params, "page": number, "per_page": PER_PAGE}
        )
        records = body.get(resource)
        if not isinstance(records, list):
            raise MalformedRecord(f"Zoho Books' {resource} page holds no list", raw=body)
        more = (body.get("page_context") or {}).get("has_more_page")
        last = not more if isinstance(more, bool) else len(records) < PER_PAGE
        return Page(number, records, last, server_time(response))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record: sent once, never again on a lost answer (Zoho takes no key)."""
        return self.call(
            "POST",
            path,
            content=dumps(body),
            headers={"Content-Type": "application/json"},
            idempotent=False,
        )[0]

    def delete(self, path: str) -> dict[str, Any]:
        return self.call("DELETE", path)[0]


class LimitReader:
    """An httpx client whose 429s raise RateLimited, naming the limit Zoho says was spent."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        if response.status_code == 429:
            problem = limit_spent(response)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = DAY_RETRY_S if problem == "day" else MINUTE_RETRY_S
            raise RateLimited(
                f"429 Zoho Books' {problem} limit is spent; retry after {retry_after:.0f}s",
                problem=problem,
                retry_after=retry_after,
            )
        return response


def limit_spent(response: httpx.Response) -> str:
    """Return "day" when a 429 says the daily allowance is spent, else "minute"."""
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = response.text
    return "day" if "day" in message.lower() else "minute"


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


def parse_time(value: Any) -> dt.datetime | None:
    """Return a Zoho timestamp ("2013-11-18T02:02:51+0800") as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def since_param(moment: dt.datetime) -> str:
    """Return a moment as `last_modified_time` takes it: 2026-03-02T17:00:00+0000."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
