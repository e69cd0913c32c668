"""Talking to ConnectWise PSA: the codebase, Basic auth with clientId, Link-header paging.

Cloud and on-premise servers are the same API under a site URL; the release
path ("v4_6_release/") is asked of `/login/companyinfo/{company}` once, and
every call then goes to `{site}/{codebase}apis/3.0/...`. Every call carries
`Authorization: Basic base64("{company}+{publicKey}:{privateKey}")`, the
integration's `clientId` header, and an Accept header naming the API version.

Failures map as everywhere (connectors/http.py); a 404 is NotFound so callers
can treat a record that is gone as gone:

    PermanentError
    ├── AuthError        the company, keys or clientId are refused (401, and 403 here)
    ├── MalformedRecord  an answer that is not JSON
    └── NotFound         the record does not exist (404)
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import httpx

from arbridge.connectors.base import AuthError, MalformedRecord, PermanentError
from arbridge.connectors.http import request
from arbridge.connectors.pagination import LinkHeaderPaginator, pages
from arbridge.connectors.ratelimit import Limiter, Limits
from arbridge.connectors.wire import dumps
from arbridge.connectors.wire import loads as parse_answer

API_VERSION = "2025.8"
ACCEPT = f"application/vnd.connectwise.com+json; version={API_VERSION}"
MAX_PAGE_SIZE = 1000
# No official limit is published; a third-party page says 60 a minute (DOMAIN.md, "verify").
# A shared limiter uses that cautious figure until ConnectWise says otherwise.
LIMITS = Limits(per_window=60, window_s=60.0)


class NotFound(PermanentError):
    pass


def authorization(company: str, public_key: str, private_key: str) -> str:
    """Return the Basic credentials of an API member's keys."""
    # Reference: https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide
    token = base64.b64encode(f"{company}+{public_key}:{private_key}".encode()).decode()
    return f"Basic {token}"


class ConnectWiseClient:
    """One ConnectWise company's API, as one API member sees it."""

    def __init__(
        self,
        http: httpx.Client,
        site_url: str,
        *,
        company: str,
        public_key: str,
        private_key: str,
        client_id: str,
        limiter: Limiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.site_url = site_url.rstrip("/")
        self.company = company
        self.headers = {
            "Authorization": authorization(company, public_key, private_key),
            "clientId": client_id,
            "Accept": ACCEPT,
        }
        self.limiter = limiter
        self.limiter_key = f"connectwise:{self.site_url}:{company.lower()}"
        self.sleep = sleep
        self._api_url: str | None = None
        self.last_server_time: dt.datetime | None = None

    @property
    def api_url(self) -> str:
        """Return the company's API root, asking the server for its codebase the first time."""
        if self._api_url is None:
            # Reference: https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide
            # (GET /login/companyinfo/{company} answers {"Codebase": "v4_6_release/", ...})
            response = self._send("GET", f"{self.site_url}/login/companyinfo/{self.company}")
            codebase = str(loads(response.content).get("Codebase") or "").strip("/")
            if not codebase:
                raise PermanentError(f"ConnectWise has no codebase for {self.company!r}")
            self._api_url = f"{self.site_url}/{codebase}/apis/3.0"
        return self._api_url

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = request(
                self.http, method, url, headers=headers, limiter=self.limiter,
                key=self.limiter_key, sleep=self.sleep, **kwargs,
            )  # fmt: skip
        except PermanentError as error:
            if error.status == 404:
                raise NotFound(str(error), status=404) from error
            if error.status == 403:
                raise AuthError(str(error), status=403) from error
            raise
        with suppress(KeyError, TypeError, ValueError):  # a server that sends no Date
            self.last_server_time = email.utils.parsedate_to_datetime(response.headers["Date"])
        return response

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._send(method, f"{self.api_url}/{path}", **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return loads(self.send("GET", path, params=params).content)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        return loads(self.send("POST", path, content=dumps(body), headers=headers).content)

    def delete(self, path: str) -> None:
        self.send("DELETE", path)

    def records(
        self, path: str, *, page_size: int = MAX_PAGE_SIZE, start: int = 1, **params: Any
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield each page of a list as (page number, records), following rel="next".

        Reference: ../shared/specs/connectwise (list_get_parameters: page, pageSize);
        thelazyadministrator.com/2024/06/06/how-the-connectwise-manage-api-handles-pagination-with-powershell
        """
        query = {**params, "page": start, "pageSize": min(page_size, MAX_PAGE_SIZE)}
        first = str(httpx.URL(f"{self.api_url}/{path}", params=query))
        paginator = LinkHeaderPaginator(first)
        for response in pages(paginator, lambda url: self._send("GET", url)):
            rows = loads(response.content)
            if not isinstance(rows, list):
                raise MalformedRecord(f"ConnectWise answered {path} without a list", raw=rows)
            number = int(response.request.url.params.get("page", start))
            yield number, rows

    def ids(self, path: str, **params: Any) -> set[int]:
        """Return the id of every record a list holds, asking for the id field alone."""
        return {
            int(row["id"])
            for _, rows in self.records(path, fields="id", orderBy="id asc", **params)
            for row in rows
        }


def loads(data: bytes) -> Any:
    """Parse ConnectWise JSON with every non-integer number as a Decimal."""
    return parse_answer(data, "ConnectWise")
