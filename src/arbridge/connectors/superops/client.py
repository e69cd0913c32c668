"""Talking to the SuperOps GraphQL API: one POST per operation, paged lists, Decimal amounts.

Every call is a POST of {"query", "variables"} to the data centre's /msp
endpoint with the API token as a bearer and the customer's subdomain in the
`CustomerSubDomain` header. Failures map as everywhere (connectors/http.py):
429 and 5xx retryable with Retry-After honoured, 401 an AuthError. GraphQL
answers 200 with an `errors` list for a refused operation: a "not found" one
is NotFound, any other a PermanentError.

# Reference: https://developer.superops.com/msp/#section/Introduction
# Reference: https://developer.superops.com/msp/#section/Authentication
# Reference: https://developer.superops.com/msp/#section/Rate-limits
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from arbridge.connectors.base import AuthError, MalformedRecord, PermanentError
from arbridge.connectors.http import request
from arbridge.connectors.ratelimit import Limiter, Limits
from arbridge.connectors.wire import dumps
from arbridge.connectors.wire import loads as parse_answer

US_ENDPOINT = "https://api.superops.ai/msp"
EU_ENDPOINT = "https://euapi.superops.ai/msp"
# SuperOps' documented API limit: 800 requests a minute per customer (subdomain).
LIMITS = Limits(per_window=800, window_s=60.0)


class NotFound(PermanentError):
    pass


class SuperOpsClient:
    """One SuperOps customer's API, as one API token sees it."""

    def __init__(
        self,
        http: httpx.Client,
        endpoint: str,
        token: str,
        subdomain: str,
        *,
        limiter: Limiter | None = None,
        sleep: Callable[[float], None],
    ) -> None:
        self.http = http
        self.endpoint = endpoint
        self.headers = {
            "Authorization": f"Bearer {token}",
            "CustomerSubDomain": subdomain,
            "Content-Type": "application/json",
        }
        self.limiter = limiter
        self.key = f"superops:{subdomain}"
        self.sleep = sleep

    def query(self, document: str, variables: Mapping[str, Any], *, write: bool = False) -> Any:
        """Send one operation; return its `data`. A read is retried, a write only if unsent."""
        response = request(
            self.http, "POST", self.endpoint,
            limiter=self.limiter, key=self.key, sleep=self.sleep, idempotent=not write,
            content=dumps({"query": document, "variables": dict(variables)}),
            headers=self.headers,
        )  # fmt: skip
        body = parse_answer(response.content, "SuperOps")
        if not isinstance(body, dict):
            raise MalformedRecord("SuperOps answered something other than a GraphQL response")
        if errors := body.get("errors"):
            message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            codes = {
                str((e.get("extensions") or {}).get("code", "")).upper()
                for e in errors
                if isinstance(e, dict)
            }
            if "UNAUTHENTICATED" in codes:
                raise AuthError(f"SuperOps refused the API token: {message}")
            if "NOT_FOUND" in codes or "not found" in message.lower():
                raise NotFound(f"SuperOps: {message}", status=404)
            raise PermanentError(f"SuperOps refused the operation: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise MalformedRecord("SuperOps answered without data")
        return data

    def pages(
        self,
        document: str,
        field: str,
        key: str,
        *,
        page: int = 1,
        page_size: int,
        condition: Mapping[str, Any] | None = None,
        sort: str | None = None,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (page number, rows) of a list from `page` until listInfo.hasMore is false."""
        while True:
            list_info: dict[str, Any] = {"page": page, "pageSize": page_size}
            if condition:
                list_info["condition"] = dict(condition)
            if sort:
                list_info["sort"] = [{"attribute": sort, "order": "ASC"}]
            answer = self.query(document, {"input": list_info}).get(field)
            if not isinstance(answer, dict) or not isinstance(answer.get(key), list):
                raise MalformedRecord(f"SuperOps answered {field} without {key!r}")
            yield page, answer[key]
            if not (answer.get("listInfo") or {}).get("hasMore"):
                return
            page += 1
