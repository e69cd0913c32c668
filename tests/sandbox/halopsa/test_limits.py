"""Halo's 450 requests in 5 minutes, and the faults the sandbox fails calls with."""

import pytest

from arbridge.sandbox.halopsa import create_app
from tests.sandbox.halopsa.api import Halo, control, token


def test_the_451st_request_in_five_minutes_is_refused_until_the_first_leaves(halo, clock):
    for _ in range(450):
        assert halo.request("GET", "Client").status_code == 200

    refused = halo.request("GET", "Client")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "300"
    clock.advance(seconds=300)
    assert halo.request("GET", "Client").status_code == 200


def test_the_window_slides(clock):
    sandbox = create_app(clock=clock, webhook_interval=None, requests_per_window=2)
    halo = Halo(sandbox)
    halo.request("GET", "Client")
    clock.advance(seconds=100)
    halo.request("GET", "Client")

    assert halo.request("GET", "Client").headers["Retry-After"] == "200"
    clock.advance(seconds=200)
    assert halo.request("GET", "Client").status_code == 200


def test_tokens_do_not_count_against_the_limit(clock):
    sandbox = create_app(clock=clock, webhook_interval=None, requests_per_window=1)
    for _ in range(3):
        assert token(sandbox).status_code == 200

    assert Halo(sandbox).request("GET", "Client").status_code == 200


def test_each_tenant_has_its_own_limit(clock):
    sandbox = create_app(clock=clock, webhook_interval=None, requests_per_window=1)
    made = control(sandbox).post("/_sandbox/tenants", json={"tenant": "other"}).json()
    Halo(sandbox).request("GET", "Client")

    other = Halo(sandbox, "other", made["client_id"], made["client_secret"])

    assert other.request("GET", "Client").status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("429", 429)])
def test_faults_fail_calls_as_switched_on(sandbox, halo, kind, status):
    control(sandbox).post("/_sandbox/faults", json={"error_rate": 1, "error_kinds": [kind]})

    response = halo.send("Client", {"name": "Bluebird Dental"})

    assert response.status_code == status
    control(sandbox).post("/_sandbox/faults", json={})
    assert halo.get("Client")["clients"] == []  # the failed call did nothing


def test_a_timeout_fault_does_the_work_then_answers_504(sandbox, halo):
    control(sandbox).post(
        "/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["timeout"], "timeout_ms": 0}
    )

    assert halo.send("Client", {"name": "Bluebird Dental"}).status_code == 504
    control(sandbox).post("/_sandbox/faults", json={})
    assert [c["name"] for c in halo.get("Client")["clients"]] == ["Bluebird Dental"]


def test_seeded_faults_fall_the_same_way_each_time(sandbox, halo):
    def run() -> list[int]:
        control(sandbox).post("/_sandbox/faults", json={"error_rate": 0.5, "seed": 7})
        return [halo.request("GET", "Client").status_code for _ in range(20)]

    first = run()

    assert set(first) == {200, 500}
    assert run() == first


def test_wrong_fault_settings_are_refused(sandbox):
    api = control(sandbox)

    assert api.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert api.post("/_sandbox/faults", json={"error_kinds": ["404"]}).status_code == 400
    assert api.post("/_sandbox/faults", json={"surprise": 1}).status_code == 400


def test_stats_count_requests_throttles_and_faults(clock):
    sandbox = create_app(clock=clock, webhook_interval=None, requests_per_window=2)
    halo = Halo(sandbox)
    for _ in range(3):
        halo.request("GET", "Client")

    stats = control(sandbox).get("/_sandbox/stats").json()

    assert stats["tenants"]["sandbox"] == {"requests": 3, "throttled": 1, "faults": 0}
    assert stats["limit"] == {"requests": 2, "window_seconds": 300.0}
