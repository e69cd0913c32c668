"""Talking to Autotask's REST API: the zone, the three auth headers, queries paged by 500.

Every call goes to the zone that serves the API user, found once with
ZoneInformation?user= and kept in the connection's credentials. Failures map
as everywhere (connectors/http.py): 429 (the database's hourly threshold) and
5xx retryable, 401 an AuthError, other 4xx permanent with Autotask's
{"errors": [...]}. An id Autotask does not hold answers {"item": null}.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import MalformedRecord, PermanentError
from arbridge.connectors.http import request
from arbridge.connectors.pagination import BodyLinkPaginator, pages
from arbridge.connectors.ratelimit import Limiter, Limits

# Every integration on one database shares 10,000 requests in any hour (../shared/DOMAIN.md).
# Reference: https://www.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm
LIMITS = Limits(per_window=10_000, window_s=3600.0, concurrency=3)
ZONE_HOST = "https://webservices.autotask.net"
PAGE_SIZE = 500


@dataclass(frozen=True)
class Zone:
    """Where an API user's database is served: the REST base URL and the database id (ci)."""

    url: str
    database: str


def loads(response: httpx.Response) -> Any:
    """Parse Autotask JSON with every number with a point as a Decimal."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise MalformedRecord("Autotask answered with something that is not JSON") from None


def discover_zone(http: httpx.Client, username: str, host: str = ZONE_HOST) -> Zone:
    """Ask Autotask which zone serves a user."""
    # Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/General_Topics/REST_Zones.htm
    response = request(
        http, "GET", f"{host.rstrip('/')}/atservicesrest/v1.0/ZoneInformation",
        params={"user": username},
    )  # fmt: skip
    body = loads(response)
    if not isinstance(body, dict) or not body.get("url"):
        raise PermanentError(f"Autotask knows no zone for {username!r}")
    return Zone(str(body["url"]).rstrip("/") + "/", str(body.get("ci", "")))


class AutotaskClient:
    """One database's REST API, as one API user sees it."""

    def __init__(
        self,
        http: httpx.Client,
        zone_url: str,
        headers: dict[str, str],
        *,
        limiter: Limiter | None = None,
        limiter_key: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.api_url = f"{zone_url.rstrip('/')}/V1.0"
        self.headers = headers
        self.limiter = limiter
        self.limiter_key = limiter_key
        self.sleep = sleep

    def send(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request with the auth headers; return the parsed answer."""
        response = request(
            self.http, method, url, headers=self.headers, limiter=self.limiter,
            key=self.limiter_key, sleep=self.sleep, **kwargs,
        )  # fmt: skip
        return loads(response)

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None:
        """Return one record, or None if Autotask holds none with that id."""
        # Reference: spec, GET /V1.0/Invoices/{id} (ItemQueryResultModel)
        body = self.send("GET", f"{self.api_url}/{entity}/{record_id}")
        return body.get("item") if isinstance(body, dict) else None

    def patch(self, entity: str, fields: dict[str, Any]) -> None:
        # Reference: spec, PATCH /V1.0/Invoices (InvoiceModel; only the named fields change)
        self.send("PATCH", f"{self.api_url}/{entity}", json=fields, idempotent=True)

    def query(
        self, entity: str, filters: list[dict[str, Any]], fields: tuple[str, ...] = ()
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of records matching the filters, following nextPageUrl.

        `fields`, if given, are the only ones asked for (IncludeFields; id among them).
        """
        # Reference: spec, POST /V1.0/Invoices/query (QueryModel -> QueryActionResult, PagingModel)
        first = f"{self.api_url}/{entity}/query"
        body: dict[str, Any] = {"MaxRecords": PAGE_SIZE, "filter": filters}
        if fields:
            body["IncludeFields"] = list(fields)
        last: list[Any] = []

        def fetch(url: str) -> httpx.Response:
            if url == first:
                # A query only reads, so resending it is safe.
                response = request(
                    self.http, "POST", url, json=body, headers=self.headers,
                    limiter=self.limiter, key=self.limiter_key, sleep=self.sleep,
                    idempotent=True,
                )  # fmt: skip
            else:
                response = request(
                    self.http, "GET", url, headers=self.headers, limiter=self.limiter,
                    key=self.limiter_key, sleep=self.sleep,
                )  # fmt: skip
            answer = loads(response)
            if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
                raise MalformedRecord(f"Autotask answered a {entity} query without items")
            last[:] = [answer["items"]]
            return response

        for _ in pages(BodyLinkPaginator(first, "pageDetails.nextPageUrl"), fetch):
            yield last[0]
