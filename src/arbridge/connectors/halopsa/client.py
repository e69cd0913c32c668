"""Talking to the Halo API: client-credentials tokens, paged lists, JSON with Decimal amounts.

Failures map as everywhere (connectors/http.py): 429 and 5xx retryable, with
Halo's Retry-After honoured; 401 after a fresh token is an AuthError; other
4xx are permanent, with Halo's plain-text message. A 404 is NotFound, so
callers can treat a record that is gone as gone.

    PermanentError
    ├── AuthError        the API application's id, secret or tenant is refused
    ├── MalformedRecord  an answer that is not JSON
    └── NotFound         the record does not exist (404)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx

from arbridge.connectors.base import AuthError, PermanentError
from arbridge.connectors.http import raise_for_status, request, transport_error
from arbridge.connectors.pagination import PageNumberPaginator, pages
from arbridge.connectors.ratelimit import Limiter, Limits
from arbridge.connectors.wire import dumps
from arbridge.connectors.wire import loads as parse_answer

# Halo's fair-use limit per instance (../shared/DOMAIN.md): 450 requests in any 5 minutes.
LIMITS = Limits(per_window=450, window_s=300.0)
SCOPE = "all"
# Refresh a token this long before Halo says it expires.
TOKEN_MARGIN_S = 60.0


class NotFound(PermanentError):
    pass


class ClientCredentials(httpx.Auth):
    """Send a bearer token from Halo's token endpoint; after a 401, fetch one more and resend."""

    requires_request_body = True  # the request may be sent twice

    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        tenant: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant = tenant
        self.clock = clock
        self.lock = threading.Lock()
        self.token: str | None = None
        self.expires_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.access_token(rejected=token)}"
            yield request

    def access_token(self, rejected: str | None = None) -> str:
        """Return a token to send, fetching a new one near expiry or if `rejected`."""
        with self.lock:
            if self.token and self.token != rejected and self.clock() < self.expires_at:
                return self.token
            self.token, lifetime = self._fetch()
            self.expires_at = self.clock() + max(lifetime - TOKEN_MARGIN_S, 0)
            return self.token

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": SCOPE,
        }
        params = {"tenant": self.tenant} if self.tenant else {}
        # Reference: https://halopsa.com/apidoc/authorisation
        try:
            response = self.http.post(self.token_url, params=params, data=form, auth=None)
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if response.status_code in (400, 401):
            raise AuthError(
                f"Halo refused the API application's credentials: {response.text[:300]}",
                status=response.status_code,
            )
        raise_for_status(response)
        try:
            body = response.json()
            return str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise PermanentError("Halo's token endpoint answered without a token") from None


class HaloClient:
    """One Halo instance's API, as one API application sees it."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        auth: httpx.Auth,
        *,
        limiter: Limiter | None = None,
        limiter_key: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.api_url = f"{base_url.rstrip('/')}/api"
        self.auth = auth
        self.limiter = limiter
        self.limiter_key = limiter_key
        self.sleep = sleep
        self.last_server_time: dt.datetime | None = None

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request to /api/<path>; return the successful response."""
        try:
            response = request(
                self.http,
                method,
                f"{self.api_url}/{path}",
                auth=self.auth,
                limiter=self.limiter,
                key=self.limiter_key,
                sleep=self.sleep,
                **kwargs,
            )
        except PermanentError as error:
            if error.status == 404:
                raise NotFound(str(error), status=404) from error
            raise
        if moment := _server_time(response):
            self.last_server_time = moment
        return response

    def get(self, path: str, **params: Any) -> Any:
        return loads(self.send("GET", path, params=_query(params)).content)

    def post(self, path: str, items: list[dict[str, Any]]) -> Any:
        """POST an array of records, as every Halo write takes; return what Halo answers."""
        headers = {"Content-Type": "application/json"}
        return loads(self.send("POST", path, content=dumps(items), headers=headers).content)

    def delete(self, path: str) -> None:
        self.send("DELETE", path)

    def records(
        self, path: str, key: str, *, page_size: int, start: int = 1, **params: Any
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield each page of a list as (page number, records), from page `start`.

        Halo pages with pageinate/page_size/page_no and answers
        {"record_count": n, "<key>": [...]}.
        Reference: https://github.com/homotechsual/HaloAPI (Private/New-HaloGETRequest.ps1)
        """
        last: list[Any] = []  # the page just fetched, parsed once

        def fetch(page: int) -> httpx.Response:
            query = {**params, "pageinate": True, "page_size": page_size, "page_no": page}
            response = self.send("GET", path, params=_query(query))
            last[:] = [list_of(loads(response.content), key)]
            return response

        paginator = PageNumberPaginator(start, page_size=page_size, records=lambda _: last[0])
        for _ in pages(paginator, fetch):
            yield paginator.current_value, last[0]

    def ids(self, path: str, key: str, **params: Any) -> set[int]:
        """Return the id of every record a list holds, in one request (`idonly`)."""
        body = self.get(path, idonly=True, **params)
        return {int(row["id"]) for row in list_of(body, key)}


def list_of(body: Any, key: str) -> list[dict[str, Any]]:
    """Return the records of a list response; PermanentError if it has none."""
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise PermanentError(f"Halo answered a list without {key!r}")
    return rows


def _query(params: dict[str, Any]) -> dict[str, str]:
    """Return query parameters as Halo reads them: booleans as "true"/"false"."""
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in params.items()
        if value is not None
    }


def _server_time(response: httpx.Response) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None


def loads(data: bytes) -> Any:
    """Parse Halo JSON with every non-integer number as a Decimal."""
    return parse_answer(data, "Halo")
