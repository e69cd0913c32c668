"""Vendor rate limits: a budget of requests per window and a cap on concurrent ones.

A limiter hands out slots by key. The key names the vendor account whose
budget is spent ("qbo:<realm id>", "autotask:<database>"), not the connection,
so that several connections to one account share one budget, as Autotask's
10,000 requests an hour per database are shared by every integration.

    InProcessLimiter   one process's threads (the embedded default, the demo)
    RedisLimiter       every process on every machine that uses the same Redis

The caller picks one: integrations passes a Redis URL when REDIS_URL is set;
connectors never read settings. A slot that cannot be had within `max_wait`
raises RetryableError, so a job is rescheduled instead of holding a worker for
an hour.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol

import httpx
import redis

from arbridge.connectors.base import RetryableError


@dataclass(frozen=True)
class Limits:
    """At most `per_window` requests in any `window_s` seconds, `concurrency` at once."""

    per_window: int
    window_s: float
    concurrency: int | None = None


class Limiter(Protocol):
    limits: Limits

    def acquire(self, key: str) -> AbstractContextManager[None]:
        """Wait for a slot in the window and a concurrency slot; free the latter on exit."""
        ...


class InProcessLimiter:
    """Limit the threads of one process: a sliding log of send times per key."""

    def __init__(
        self,
        limits: Limits,
        *,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._running: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def acquire(self, key: str) -> Iterator[None]:
        running = self._semaphore(key)
        if running is not None and not running.acquire(timeout=self.max_wait):
            raise RetryableError(f"{self.limits.concurrency} requests to {key} are still running")
        try:
            self._wait_for_window(key)
            yield
        finally:
            if running is not None:
                running.release()

    def _semaphore(self, key: str) -> threading.BoundedSemaphore | None:
        if self.limits.concurrency is None:
            return None
        with self._lock:
            if key not in self._running:
                self._running[key] = threading.BoundedSemaphore(self.limits.concurrency)
            return self._running[key]

    def _wait_for_window(self, key: str) -> None:
        waited = 0.0
        while (wait := self._take_window_slot(key)) > 0:
            if waited + wait > self.max_wait:
                raise RetryableError(
                    f"the rate limit for {key} is spent; the next slot frees in {wait:.1f}s",
                    retry_after=wait,
                )
            self._sleep(wait)
            waited += wait

    def _take_window_slot(self, key: str) -> float:
        """Record a send and return 0, or return the seconds until the window has room."""
        with self._lock:
            now = self._clock()
            sent = self._sent[key]
            while sent and sent[0] <= now - self.limits.window_s:
                sent.popleft()
            if len(sent) < self.limits.per_window:
                sent.append(now)
                return 0.0
            return sent[0] + self.limits.window_s - now


# KEYS[1]: sorted set of send times in the window; KEYS[2]: sorted set of
# running requests scored by lease expiry. One script checks and takes both
# slots, so no process ever holds one while waiting for the other.
ACQUIRE_SCRIPT = """
local now = tonumber(ARGV[1])
if now == nil then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local window, per_window = tonumber(ARGV[2]), tonumber(ARGV[3])
local concurrency, lease, token = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

if concurrency > 0 then
    -- A holder that crashed never releases; its lease runs out instead.
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= concurrency then
        return {'running', '0'}
    end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= per_window then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {'window', tostring(tonumber(oldest[2]) + window - now)}
end

redis.call('ZADD', KEYS[1], now, token)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
if concurrency > 0 then
    redis.call('ZADD', KEYS[2], now + lease, token)
    redis.call('PEXPIRE', KEYS[2], math.ceil(lease * 1000) + 1000)
end
return {'ok', '0'}
"""


class RedisLimiter:
    """Limit every process that shares a Redis: a sliding log and a leased semaphore per key.

    Times come from the Redis server's clock, so machines with skewed clocks
    agree; tests pass `clock`. A concurrency slot is a lease of `lease_s`
    seconds, which must outlast the longest request (the HTTP timeout), so a
    process that dies mid-request frees its slot when the lease runs out.
    """

    def __init__(
        self,
        url: str | redis.Redis,
        limits: Limits,
        *,
        lease_s: float = 180.0,
        max_wait: float = 60.0,
        poll_s: float = 0.05,
        prefix: str = "arbridge:ratelimit",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.redis = redis.Redis.from_url(url) if isinstance(url, str) else url
        self.limits = limits
        self.lease_s = lease_s
        self.max_wait = max_wait
        self.poll_s = poll_s
        self.prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._acquire_script = self.redis.register_script(ACQUIRE_SCRIPT)

    @contextmanager
    def acquire(self, key: str) -> Iterator[None]:
        # The braces hash both keys to one Redis Cluster slot, as a script needs.
        sent_key = f"{self.prefix}:{{{key}}}:sent"
        running_key = f"{self.prefix}:{{{key}}}:running"
        token = uuid.uuid4().hex
        self._take(key, [sent_key, running_key], token)
        try:
            yield
        finally:
            # If Redis is unreachable now, the lease runs out on its own.
            if self.limits.concurrency:
                with suppress(redis.RedisError):
                    self.redis.zrem(running_key, token)

    def _take(self, key: str, keys: list[str], token: str) -> None:
        waited = 0.0
        while True:
            now = "" if self._clock is None else repr(self._clock())
            args = [
                now,
                self.limits.window_s,
                self.limits.per_window,
                self.limits.concurrency or 0,
                self.lease_s,
                token,
            ]
            try:
                verdict, wait = self._acquire_script(keys=keys, args=args)
            except redis.RedisError as exc:
                raise RetryableError(f"the rate limiter is unavailable: {exc}") from exc
            if verdict == b"ok":
                return
            if verdict == b"window":
                wait = float(wait)
                if waited + wait > self.max_wait:
                    raise RetryableError(
                        f"the rate limit for {key} is spent; the next slot frees in {wait:.1f}s",
                        retry_after=wait,
                    )
            else:
                wait = self.poll_s
                if waited + wait > self.max_wait:
                    raise RetryableError(
                        f"{self.limits.concurrency} requests to {key} are still running"
                    )
            self._sleep(wait)
            waited += wait


class RateLimitedTransport(httpx.BaseTransport):
    """Wrap a transport so that every request through it waits for a slot under `key`."""

    def __init__(self, inner: httpx.BaseTransport, limiter: Limiter, key: str) -> None:
        self.inner = inner
        self.limiter = limiter
        self.key = key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with ExitStack() as stack:
            stack.enter_context(self.limiter.acquire(self.key))
            response = self.inner.handle_request(request)
            # The request runs until its body is read: keep the slot until then.
            release = stack.pop_all()
        response.stream = ReleasingStream(response.stream, release.close)
        return response

    def close(self) -> None:
        self.inner.close()


class ReleasingStream(httpx.SyncByteStream):
    """A response body that calls `release` once when it is closed."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ClientTransport(httpx.BaseTransport):
    """Send through another client, so that its auth and its owner's `with` carry ours."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request, stream=True)

    def close(self) -> None:
        pass  # the client is its owner's to close


def limited_client(http: httpx.Client, limiter: Limiter | None, key: str) -> httpx.Client:
    """Return `http` with each request waiting for a slot under `key` (as is, with no limiter)."""
    if limiter is None:
        return http
    transport = RateLimitedTransport(ClientTransport(http), limiter, key)
    return httpx.Client(transport=transport, timeout=http.timeout, headers=http.headers)
