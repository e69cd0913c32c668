"""FreshBooks' accounting API for one account: requests, pages, times and refusals.

# Reference: https://www.freshbooks.com/api/start
# Reference: https://www.freshbooks.com/api/parameters (paging, search[updated_min], include[])
# Reference: https://www.freshbooks.com/api/errors
# Reference: ../shared/specs/freshbooks/freshbooks-openapi.ballerina-community.yaml

Every list is `/accounting/account/<account id>/<resource>` and answers
{"response": {"result": {"<plural>": [...], "page", "pages", "per_page",
"total"}}}, at most 100 a page. The caller's httpx.Client carries the
Bearer token and the account's shared rate limit; every call goes through
connectors.http.request (bounded retries; a 429's Retry-After waited out,
or raised when it is long, so the job resumes from its checkpoint).

FreshBooks writes its accounting times ("updated") as "YYYY-MM-DD HH:MM:SS"
in US Eastern time, and `search[updated_min]` takes them the same way; this
module turns them into aware UTC datetimes and back.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx

from arbridge.connectors.base import MalformedRecord, PermanentError
from arbridge.connectors.http import request
from arbridge.connectors.wire import dumps, loads

PAGE_SIZE = 100  # per_page's upper bound
EASTERN = ZoneInfo("America/New_York")
STAMP = "%Y-%m-%d %H:%M:%S"
ACCEPT_JSON = {"Accept": "application/json"}
# resource -> (path under the account, the key of one record, the key of a list)
RESOURCES: dict[str, tuple[str, str, str]] = {
    "clients": ("users/clients", "client", "clients"),
    "invoices": ("invoices/invoices", "invoice", "invoices"),
    "payments": ("payments/payments", "payment", "payments"),
}


class Page(NamedTuple):
    number: int
    records: list[dict[str, Any]]
    last: bool
    time: dt.datetime | None  # the server's clock when it answered (its Date header)


class FreshBooksClient:
    """One FreshBooks account's accounting API (and its webhook callbacks)."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        account_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.root = base_url.rstrip("/")
        self.account_id = account_id
        self.sleep = sleep

    def url(self, resource: str, id: str | None = None) -> str:
        path = RESOURCES[resource][0]
        url = f"{self.root}/accounting/account/{self.account_id}/{path}"
        return f"{url}/{id}" if id is not None else url

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**ACCEPT_JSON, **kwargs.pop("headers", {})}
        if "json" in kwargs:
            kwargs["content"] = dumps(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"
        reader = ErrorReader(self.http)
        return request(reader, method, url, headers=headers, sleep=self.sleep, **kwargs)  # type: ignore[arg-type]

    def result(self, response: httpx.Response) -> dict[str, Any]:
        body = loads(response.content, "FreshBooks")
        try:
            result = body["response"]["result"]
        except (KeyError, TypeError):
            raise MalformedRecord("FreshBooks answered without a result", raw=body) from None
        if not isinstance(result, dict):
            raise MalformedRecord("FreshBooks' result is not an object", raw=body)
        return result

    # -- reading --------------------------------------------------------------

    def page(
        self,
        resource: str,
        number: int,
        *,
        since: dt.datetime | None = None,
        search: dict[str, str] | None = None,
        include: Iterable[str] = (),
    ) -> Page:
        """Return one page (at most PAGE_SIZE records), changed since `since` if given."""
        params: list[tuple[str, str | int]] = [("page", number), ("per_page", PAGE_SIZE)]
        if since is not None:
            params.append(("search[updated_min]", stamp(since)))
        params += [(f"search[{name}]", value) for name, value in (search or {}).items()]
        params += [("include[]", name) for name in include]
        response = self.send("GET", self.url(resource), params=params)
        result = self.result(response)
        records = result.get(RESOURCES[resource][2])
        if not isinstance(records, list):
            raise MalformedRecord(f"FreshBooks' {resource} page holds no list", raw=result)
        pages = result.get("pages")
        last = number >= pages if isinstance(pages, int) else len(records) < PAGE_SIZE
        return Page(number, records, last, server_time(response))

    def one(self, resource: str, id: str, *, include: Iterable[str] = ()) -> dict[str, Any] | None:
        """Return one record by id, whatever its vis_state; None if FreshBooks has none."""
        params = [("include[]", name) for name in include]
        try:
            response = self.send("GET", self.url(resource, id), params=params)
        except PermanentError as e:
            if e.status == 404:
                return None
            raise
        return self.result(response).get(RESOURCES[resource][1])

    # -- writing --------------------------------------------------------------

    def create(self, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST a new record. FreshBooks has no idempotency key: the caller looks up first."""
        key = RESOURCES[resource][1]
        response = self.send("POST", self.url(resource), json={key: fields})
        return self._record(response, key)

    def update(self, resource: str, id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT fields of a record (vis_state 1 deletes it); the same PUT again changes nothing."""
        key = RESOURCES[resource][1]
        response = self.send("PUT", self.url(resource, id), json={key: fields})
        return self._record(response, key)

    def _record(self, response: httpx.Response, key: str) -> dict[str, Any]:
        record = self.result(response).get(key)
        if not isinstance(record, dict):
            raise PermanentError(f"FreshBooks did not answer with the {key}")
        return record

    # -- webhook callbacks ----------------------------------------------------
    # Reference: https://www.freshbooks.com/api/webhooks

    def callbacks_url(self, id: str | None = None) -> str:
        url = f"{self.root}/events/account/{self.account_id}/events/callbacks"
        return f"{url}/{id}" if id is not None else url

    def callbacks(self) -> list[dict[str, Any]]:
        found, number = [], 1
        while True:
            response = self.send(
                "GET", self.callbacks_url(), params={"page": number, "per_page": PAGE_SIZE}
            )
            result = self.result(response)
            found += list(result.get("callbacks") or [])
            if number >= int(result.get("pages") or 1):
                return found
            number += 1

    def create_callback(self, event: str, uri: str) -> dict[str, Any]:
        response = self.send(
            "POST", self.callbacks_url(), json={"callback": {"event": event, "uri": uri}}
        )
        return self._record(response, "callback")

    def verify_callback(self, id: str, verifier: str) -> dict[str, Any]:
        response = self.send(
            "PUT", self.callbacks_url(id), json={"callback": {"verifier": verifier}}
        )
        return self._record(response, "callback")


class ErrorReader:
    """An httpx client whose refusals (4xx but 401 and 429) raise PermanentError in
    FreshBooks' own words: {"response": {"errors": [{"message", "field", "errno"}]}}.

    connectors.http.request sends through it and maps the rest (401, 429, 5xx) as usual.
    """

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        status = response.status_code
        if 400 <= status < 500 and status not in (401, 429):
            raise PermanentError(f"{status} FreshBooks: {refusal(response)}", status=status)
        return response


def refusal(response: httpx.Response) -> str:
    """Return what FreshBooks said about a refused request, or its reason phrase."""
    try:
        errors = response.json()["response"]["errors"]
        words = "; ".join(
            f"{e['message']} ({e['field']})" if e.get("field") else str(e["message"])
            for e in errors
        )
    except (ValueError, KeyError, TypeError):
        words = ""
    return words[:500] or response.reason_phrase


def stamp(moment: dt.datetime) -> str:
    """Return a moment as FreshBooks writes it: US Eastern, to the second."""
    return moment.astimezone(EASTERN).strftime(STAMP)


def parse_stamp(value: Any) -> dt.datetime | None:
    """Return a FreshBooks "YYYY-MM-DD HH:MM:SS" (US Eastern) as an aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.strptime(value.strip()[:19], STAMP)
    except ValueError:
        return None
    return moment.replace(tzinfo=EASTERN).astimezone(dt.UTC)


def server_time(response: httpx.Response) -> dt.datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return None
