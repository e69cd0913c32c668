import threading
import time
from contextlib import ExitStack

import httpx
import pytest

from arbridge.connectors.base import RetryableError
from arbridge.connectors.ratelimit import (
    InProcessLimiter,
    Limits,
    RateLimitedTransport,
    RedisLimiter,
)


def vendor(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"QueryResponse": {}}']


def max_running(limiter, key: str, threads: int = 12) -> int:
    """Run requests on many threads at once and return the most that ran together."""
    running = 0
    most = 0
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work():
        nonlocal running, most
        start.wait()
        with limiter.acquire(key):
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)  # stay inside long enough for others to pile up
            with lock:
                running -= 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return most


# -- in one process ----------------------------------------------------------


def test_the_request_past_the_budget_waits_for_the_oldest_to_leave_the_window(clock):
    limiter = InProcessLimiter(Limits(3, 60), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.acquire("qbo:realm-1"):
            pass
        clock.advance(10)
    assert clock.slept == []

    with limiter.acquire("qbo:realm-1"):
        pass
    # Sent at 0, 10 and 20; the fourth, at 30, waits until the first is 60 s old.
    assert clock.slept == [30]


def test_it_raises_rather_than_waiting_past_max_wait(clock):
    limiter = InProcessLimiter(Limits(2, 3600), clock=clock, sleep=clock.sleep, max_wait=60)
    for _ in range(2):
        with limiter.acquire("autotask:db-1"):
            pass

    with pytest.raises(RetryableError) as caught, limiter.acquire("autotask:db-1"):
        pytest.fail("the request ran over the limit")
    assert caught.value.retry_after == 3600
    assert clock.slept == []


def test_keys_have_separate_budgets(clock):
    limiter = InProcessLimiter(Limits(1, 60), clock=clock, sleep=clock.sleep, max_wait=0)
    with limiter.acquire("qbo:realm-1"):
        pass
    with limiter.acquire("qbo:realm-2"):
        pass
    with pytest.raises(RetryableError), limiter.acquire("qbo:realm-1"):
        pass


def test_no_more_than_the_concurrency_run_at_once():
    limiter = InProcessLimiter(Limits(1000, 60, concurrency=3))
    assert max_running(limiter, "qbo:realm-1") <= 3


def test_a_request_over_the_concurrency_waits_for_a_slot_to_free(clock):
    limiter = InProcessLimiter(Limits(1000, 60, concurrency=2), max_wait=0)
    with ExitStack() as running:
        running.enter_context(limiter.acquire("qbo:realm-1"))
        running.enter_context(limiter.acquire("qbo:realm-1"))
        with (
            pytest.raises(RetryableError, match="2 requests to qbo:realm-1 are still running"),
            limiter.acquire("qbo:realm-1"),
        ):
            pass
    with limiter.acquire("qbo:realm-1"):
        pass


def test_a_failing_request_frees_its_concurrency_slot():
    limiter = InProcessLimiter(Limits(1000, 60, concurrency=1), max_wait=0)
    with pytest.raises(ValueError), limiter.acquire("qbo:realm-1"):
        raise ValueError
    with limiter.acquire("qbo:realm-1"):
        pass


# -- shared through Redis ----------------------------------------------------


def test_two_limiters_on_one_redis_key_share_one_budget(redis_url, redis_prefix, clock):
    limits = Limits(3, 60)
    one = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, max_wait=0)
    other = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, max_wait=0)

    for limiter in (one, other, one):
        with limiter.acquire("autotask:db-1"):
            pass
    with pytest.raises(RetryableError) as caught, other.acquire("autotask:db-1"):
        pass
    assert caught.value.retry_after == pytest.approx(60)

    with other.acquire("autotask:db-2"):
        pass


def test_redis_waits_for_the_oldest_to_leave_the_window(redis_url, redis_prefix, clock):
    limiter = RedisLimiter(
        redis_url, Limits(3, 60), prefix=redis_prefix, clock=clock, sleep=clock.sleep
    )
    for _ in range(3):
        with limiter.acquire("qbo:realm-1"):
            pass
        clock.advance(10)

    with limiter.acquire("qbo:realm-1"):
        pass
    assert clock.slept == [pytest.approx(30)]


def test_two_limiters_on_one_redis_key_share_the_concurrency(redis_url, redis_prefix, clock):
    limits = Limits(500, 60, concurrency=2)
    one = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, max_wait=0)
    other = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, max_wait=0)

    with ExitStack() as running:
        running.enter_context(one.acquire("qbo:realm-1"))
        running.enter_context(one.acquire("qbo:realm-1"))
        with pytest.raises(RetryableError, match="still running"), other.acquire("qbo:realm-1"):
            pass
    with other.acquire("qbo:realm-1"):
        pass


def test_a_crashed_holders_slot_expires_with_its_lease(redis_url, redis_prefix, clock):
    limits = Limits(500, 60, concurrency=1)
    crashed = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, lease_s=120)
    # Entered and never left: the process died mid-request. (Keep a reference, or
    # the garbage collector would close the generator and free the slot.)
    held = crashed.acquire("qbo:realm-1")
    held.__enter__()

    survivor = RedisLimiter(redis_url, limits, prefix=redis_prefix, clock=clock, max_wait=0)
    clock.advance(119)
    with pytest.raises(RetryableError), survivor.acquire("qbo:realm-1"):
        pass
    clock.advance(2)
    with survivor.acquire("qbo:realm-1"):
        pass
    del held


def test_redis_holds_the_concurrency_across_threads(redis_url, redis_prefix):
    # The Redis server's own clock, as in production.
    limiter = RedisLimiter(
        redis_url, Limits(1000, 60, concurrency=2), prefix=redis_prefix, poll_s=0.005
    )
    assert max_running(limiter, "qbo:realm-1") <= 2


def test_an_unreachable_redis_is_a_retryable_error():
    limiter = RedisLimiter("redis://127.0.0.1:1/6", Limits(10, 60))
    with (
        pytest.raises(RetryableError, match="the rate limiter is unavailable"),
        limiter.acquire("qbo:realm-1"),
    ):
        pass


# -- the transport -----------------------------------------------------------


def test_clients_on_one_key_share_the_budget_transparently(clock):
    # Two connections to one Autotask database.
    limiter = InProcessLimiter(Limits(2, 3600), clock=clock, sleep=clock.sleep, max_wait=7200)
    first, second = (
        httpx.Client(transport=RateLimitedTransport(httpx.WSGITransport(app=vendor), limiter, key))
        for key in ("autotask:db-1", "autotask:db-1")
    )
    assert first.get("https://vendor.test/v1.0/Companies").status_code == 200
    assert second.get("https://vendor.test/v1.0/Companies").status_code == 200
    assert clock.slept == []

    assert first.get("https://vendor.test/v1.0/Companies").status_code == 200
    assert clock.slept == [3600]


def test_the_transport_holds_the_slot_until_the_body_is_read():
    limiter = InProcessLimiter(Limits(100, 60, concurrency=1), max_wait=0)
    transport = RateLimitedTransport(httpx.WSGITransport(app=vendor), limiter, "qbo:realm-1")
    client = httpx.Client(transport=transport)

    with client.stream("GET", "https://vendor.test/v3/company/1/query") as response:
        with pytest.raises(RetryableError):
            client.get("https://vendor.test/v3/company/1/query")
        response.read()
    assert client.get("https://vendor.test/v3/company/1/query").status_code == 200


def test_the_transport_frees_the_slot_when_the_vendor_is_unreachable():
    def unreachable(request):
        raise httpx.ConnectError("connection refused", request=request)

    limiter = InProcessLimiter(Limits(100, 60, concurrency=1), max_wait=0)
    transport = RateLimitedTransport(httpx.MockTransport(unreachable), limiter, "qbo:realm-1")
    client = httpx.Client(transport=transport)
    for _ in range(2):
        with pytest.raises(httpx.ConnectError):
            client.get("https://vendor.test/v3/company/1/query")
