"""Fakes for the edge of the connector framework: the clock, and Redis on db 6."""

import os
import uuid

import httpx
import pytest
import redis


class FakeClock:
    """A monotonic clock that moves only when something sleeps or a test advances it."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_url() -> str:
    # REDIS_URL's server, but always database 6: the connector tests' own.
    server = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
    url = str(httpx.URL(server).copy_with(path="/6"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"these tests need a Redis server, and {url} is unreachable: {exc}")
    return url


@pytest.fixture
def redis_prefix(redis_url):
    """Return a key prefix of this test's own, and delete its keys afterwards."""
    prefix = f"test:ratelimit:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
