"""HTTP for connectors: the one place that maps vendor failures, and bounded retries.

Every connector sends through `request()` (or maps failures itself with
`raise_for_status()` and `transport_error()`), so a failure means the same
thing whichever vendor it came from:

    httpx.TransportError (timeouts, resets)  -> RetryableError
    httpx.UnsupportedProtocol, InvalidURL    -> PermanentError (a bad base URL stays bad)
    429, 5xx                                 -> RetryableError, retry_after from Retry-After
    401                                      -> AuthError
    other 4xx                                -> PermanentError, with the vendor's message
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import httpx

from arbridge.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RetryableError,
)
from arbridge.connectors.ratelimit import Limiter

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Failures after which the vendor cannot have acted on the request, so even a
# POST without an idempotency key may be sent again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The keys, compared in lower case, under which vendors put their error text:
# QuickBooks {"Fault": {"Error": [{"Message", "Detail"}]}}, Xero {"Message",
# "Elements": [{"ValidationErrors": [...]}]}, ConnectWise {"message", "errors"},
# Autotask {"errors": [...]}, OAuth {"error", "error_description"}, RFC 9457.
MESSAGE_KEYS = frozenset(
    {
        "fault",
        "error",
        "errors",
        "message",
        "detail",
        "title",
        "error_description",
        "elements",
        "validationerrors",
    }
)
MAX_MESSAGE_CHARS = 500

DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for, or None if it says nothing usable."""
    # Reference: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    if not value:
        return None
    value = value.strip()
    if DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def vendor_message(response: httpx.Response) -> str:
    """Return the vendor's own words about a failed request, or its reason phrase."""
    try:
        body = response.json()
    except ValueError:
        words = response.text.strip()
    else:
        words = "; ".join(dict.fromkeys(_messages(body)))
    return words[:MAX_MESSAGE_CHARS] or response.reason_phrase


def _messages(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, list):
        for item in value:
            yield from _messages(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key.lower() in MESSAGE_KEYS:
                yield from _messages(item)


def raise_for_status(response: httpx.Response) -> None:
    """Raise the ConnectorError a failed response means; do nothing for a success."""
    status = response.status_code
    if status < 400:
        return
    message = f"{status} {response.reason_phrase}: {vendor_message(response)}"
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableError(message, status=status, retry_after=retry_after)
    if status == 401:
        raise AuthError(message, status=status)
    raise PermanentError(message, status=status)


def transport_error(exc: httpx.TransportError | httpx.InvalidURL) -> ConnectorError:
    """Return the ConnectorError for a request that got no response."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return PermanentError(f"cannot reach the vendor: {exc}")
    return RetryableError(f"no response from the vendor: {exc!r}")


def was_not_sent(error: RetryableError) -> bool:
    """Return True if the vendor surely did not act on the request that failed."""
    return error.status == 429 or isinstance(error.__cause__, NOT_SENT)


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Return a random wait before retry number `attempt` (1, 2, ...): full jitter."""
    # Jitter keeps many workers throttled at the same moment from retrying in step.
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def request(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    limiter: Limiter | None = None,
    key: str = "",
    retries: int = 3,
    max_delay: float = 60.0,
    idempotent: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request and return its successful response, retrying what may be retried.

    Retryable failures are tried again up to `retries` times, waiting at least
    what Retry-After asks. A wait longer than `max_delay` is not slept through
    here: the error is raised so the job can be rescheduled instead of holding a
    worker. A request that is not idempotent (POST, PATCH, unless the caller
    says its idempotency key makes it so) is resent only when the vendor surely
    did not act on it.
    """
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    attempt = 0
    while True:
        try:
            with limiter.acquire(key) if limiter else nullcontext():
                try:
                    response = client.request(method, url, **kwargs)
                except (httpx.TransportError, httpx.InvalidURL) as exc:
                    raise transport_error(exc) from exc
            raise_for_status(response)
            return response
        except RetryableError as error:
            attempt += 1
            if attempt > retries or not (idempotent or was_not_sent(error)):
                raise
            if error.retry_after is None:
                delay = backoff(attempt)
            elif error.retry_after <= max_delay:
                # A little jitter, so workers throttled together do not return together.
                delay = error.retry_after + random.uniform(0, 1)
            else:
                raise
            sleep(delay)
