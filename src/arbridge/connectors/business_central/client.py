"""Business Central's API v2.0 for one company: URLs, OData pages and refusals.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/endpoints-apis-for-dynamics
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-connect-apps
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online

Every URL names the Microsoft Entra tenant and the environment:

    {base}/v2.0/{tenant id}/{environment}/api/v2.0/companies({company id})/{entity set}

The caller's httpx.Client carries the Bearer token and the environment's
shared limits; this module says what to ask and reads the answers. Lists are
OData: `value` holds a page, `@odata.nextLink` the URL of the next (absent on
the last). `Prefer: odata.maxpagesize=N` asks for pages of N. A 429 carries
Retry-After, which connectors.http.request waits out (or raises, if long).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx

from arbridge.connectors.base import MalformedRecord, PermanentError
from arbridge.connectors.http import request
from arbridge.connectors.wire import dumps, loads

API_VERSION = "v2.0"
PAGE_SIZE = 1_000
JSON = {"Accept": "application/json"}


class Page(NamedTuple):
    records: list[dict[str, Any]]
    next_link: str | None
    date: str  # the server's Date header


class Company(NamedTuple):
    """Where one company is: tenant, environment and company id."""

    tenant: str
    environment: str
    company: str

    @classmethod
    def parse(cls, account: str) -> Company:
        """Return a connection's remote account, "tenant/environment/company id"."""
        parts = account.split("/")
        if len(parts) != 3 or not all(parts):
            raise PermanentError(f"not a Business Central company: {account!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return "/".join(self)


def environment_root(base_url: str, tenant: str, environment: str) -> str:
    return f"{base_url.rstrip('/')}/v2.0/{tenant}/{environment}/api/{API_VERSION}"


def literal(value: str) -> str:
    """Return a string as an OData literal: quoted, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class BusinessCentralClient:
    """One company's API v2.0."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        where: Company,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.root = environment_root(base_url, where.tenant, where.environment)
        self.company = f"{self.root}/companies({where.company})"
        self.sleep = sleep

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        if path.startswith("/"):
            return f"{self.root}{path}"
        return f"{self.company}/{path}"

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**JSON, **kwargs.pop("headers", {})}
        return request(
            self.http, method, self.url(path), headers=headers, sleep=self.sleep, **kwargs
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return loads(self.send("GET", path, params=params or None).content, "Business Central")

    def page(self, path: str, params: dict[str, Any] | None = None) -> Page:
        """Return one page of a list; a nextLink is followed as given, with no more params."""
        response = self.send(
            "GET",
            path,
            params=None if path.startswith("http") else params,
            headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"},
        )
        body = loads(response.content, "Business Central")
        records = body.get("value")
        if not isinstance(records, list):
            raise MalformedRecord("Business Central's page holds no value list", raw=body)
        return Page(records, body.get("@odata.nextLink"), response.headers.get("Date", ""))

    def all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return every record of a (small) list, following nextLinks."""
        page = self.page(path, params)
        records = list(page.records)
        while page.next_link:
            page = self.page(page.next_link)
            records += page.records
        return records

    def find(self, path: str, **equal: str) -> list[dict[str, Any]]:
        """Return the records whose fields equal these strings ($filter ... eq ...)."""
        where = " and ".join(f"{name} eq {literal(value)}" for name, value in equal.items())
        return self.all(path, {"$filter": where})

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST (never resent on its own: callers look up what it wrote first)."""
        response = self.send(
            "POST",
            path,
            content=dumps(body or {}),
            headers={"Content-Type": "application/json"},
        )
        return loads(response.content, "Business Central") if response.content else {}

    def patch(self, path: str, body: dict[str, Any], etag: str) -> dict[str, Any]:
        response = self.send(
            "PATCH",
            path,
            idempotent=True,  # the If-Match makes a repeat fail rather than write twice
            content=dumps(body),
            headers={"Content-Type": "application/json", "If-Match": etag or "*"},
        )
        return loads(response.content, "Business Central")

    def delete(self, path: str, etag: str = "*") -> None:
        self.send("DELETE", path, headers={"If-Match": etag or "*"})


def keyed(entity_set: str, id: str) -> str:
    """Return an entity's path: salesInvoices(<id>)."""
    return f"{entity_set}({quote(id, safe='-')})"
