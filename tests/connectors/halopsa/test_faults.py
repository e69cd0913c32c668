"""Halo failing: its rate limit, outages, expired tokens, wrong credentials."""

import httpx
import pytest

from arbridge.connectors.base import AuthError, Config, Cursor, RetryableError
from arbridge.connectors.halopsa import HaloPSA
from arbridge.sandbox.halopsa import create_app
from arbridge.sandbox.halopsa.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.halopsa.conftest import Sleeps, connect
from tests.sandbox.halopsa.api import ROOT, control


def read_all(connector) -> list:
    return [item for item in connector.pull(None) if not isinstance(item, Cursor)]


def test_past_the_limit_the_pull_stops_for_the_job_to_be_rescheduled(clock):
    sandbox = create_app(clock=clock, webhook_interval=None, requests_per_window=2)
    connector = connect(sandbox)

    with pytest.raises(RetryableError) as caught:
        read_all(connector)

    # Halo asks for the rest of its five minutes: too long to hold a worker for.
    assert caught.value.status == 429
    assert caught.value.retry_after == 300


def test_a_short_throttle_is_waited_out(sandbox, halo, sleeps):
    halo.client("Bluebird Dental")
    clean = read_all(connect(sandbox))
    control(sandbox).post(
        "/_sandbox/faults", json={"error_rate": 0.3, "error_kinds": ["429"], "seed": 3}
    )

    throttled = read_all(connect(sandbox, sleeps))

    assert sleeps.waits  # it was throttled, waited, and carried on
    assert [(c.entity, c.remote_id) for c in throttled] == [(c.entity, c.remote_id) for c in clean]


def test_outages_and_timeouts_are_retried(sandbox, halo):
    for number in range(3):
        halo.invoice(halo.client(f"Client {number}"))
    clean = read_all(connect(sandbox))
    faults = {
        "error_rate": 0.3,
        "error_kinds": ["500", "503", "timeout"],
        "timeout_ms": 0,
        "seed": 5,
    }
    control(sandbox).post("/_sandbox/faults", json=faults)
    sleeps = Sleeps()
    connector = connect(sandbox, sleeps)
    connector.page_size = 1  # more pages, more calls to fail

    flaky = read_all(connector)

    assert sleeps.waits
    assert [c.record for c in flaky] == [c.record for c in clean]


def test_an_expired_token_is_replaced_without_the_caller_noticing(sandbox, connector, halo):
    halo.client("Bluebird Dental")
    read_all(connector)
    control(sandbox).post("/_sandbox/faults", json={"expire_tokens": True})

    assert len(read_all(connector)) == 1


def test_a_token_near_its_hour_is_replaced_before_it_runs_out(sandbox, connector, clock):
    connector.detect_version()
    clock.advance(seconds=3590)

    connector.detect_version()  # the old token still had 10 s; it is not sent

    stats = control(sandbox).get("/_sandbox/stats").json()
    assert stats["tenants"]["sandbox"]["requests"] == 2


@pytest.mark.parametrize(
    ("tenant", "secret"), [("sandbox", "not-it"), ("someone-else", CLIENT_SECRET)]
)
def test_wrong_credentials_are_an_auth_error(sandbox, tenant, secret):
    config = Config(
        base_url=ROOT,
        credentials={"client_id": CLIENT_ID, "client_secret": secret},
        remote_account=tenant,
    )
    connector = HaloPSA(config, httpx.Client(transport=httpx.WSGITransport(app=sandbox)))

    with pytest.raises(AuthError):
        connector.detect_version()
