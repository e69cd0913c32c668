"""Throttles (500 a minute, 10 at once, per company) and the fault switches."""

import datetime as dt
import threading

import time_machine

from tests.sandbox.qbo.api import connect, fault


def test_more_than_500_requests_a_minute_are_throttled(sandbox, qbo, realm):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        statuses = [qbo.get(f"companyinfo/{realm}").status_code for _ in range(500)]
        throttled = qbo.get(f"companyinfo/{realm}")

        assert set(statuses) == {200}
        assert throttled.status_code == 429
        assert fault(throttled)["code"] == "3001"

        # Another company has its own allowance.
        other = sandbox.store.add_realm()
        theirs = connect(sandbox, other)
        assert theirs.get(f"companyinfo/{other}").status_code == 200

        clock.shift(dt.timedelta(seconds=61))
        assert qbo.get(f"companyinfo/{realm}").status_code == 200

    stats = sandbox.limiter.report()["realms"]
    assert stats[realm]["requests"] == 502
    assert stats[realm]["throttled"] == 1


def test_more_than_10_requests_at_once_are_throttled(control, sandbox, qbo, realm):
    # Each request is held a second, so twelve sent together overlap.
    control.post("/_sandbox/faults", json={"latency_ms": 1000})
    statuses = []
    start = threading.Barrier(12)

    def call():
        start.wait()
        statuses.append(qbo.get(f"companyinfo/{realm}").status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses.count(200) == 10
    assert statuses.count(429) == 2


def test_injected_errors_fail_calls_without_doing_them(control, qbo):
    control.post("/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["500"]})

    response = qbo.post("customer", {"DisplayName": "Cedar Dental"})

    assert response.status_code == 500
    assert response.json()["Fault"]["type"] == "SystemFault"
    control.post("/_sandbox/faults", json={})
    assert "Customer" not in qbo.query("SELECT * FROM Customer")


def test_injected_faults_follow_the_seed(control, qbo, realm):
    settings = {"error_rate": 0.5, "error_kinds": ["429", "503"], "seed": 7}

    def run() -> list[int]:
        control.post("/_sandbox/faults", json=settings)
        return [qbo.get(f"companyinfo/{realm}").status_code for _ in range(20)]

    first, second = run(), run()

    assert first == second
    assert {200, 429, 503} == set(first)


def test_a_timeout_carries_out_the_write_but_loses_the_answer(control, qbo):
    control.post(
        "/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["timeout"], "timeout_ms": 10}
    )

    lost = qbo.post("customer", {"DisplayName": "Cedar Dental"}, requestid="c-1")
    control.post("/_sandbox/faults", json={})
    retried = qbo.post("customer", {"DisplayName": "Cedar Dental"}, requestid="c-1")

    assert lost.status_code == 504
    assert retried.status_code == 200
    assert len(qbo.query("SELECT * FROM Customer")["Customer"]) == 1


def test_expiring_tokens_makes_calls_fail_until_refreshed(control, qbo, realm):
    answer = control.post("/_sandbox/faults", json={"expire_tokens": True}).json()

    assert answer["expired_tokens"] >= 1
    assert qbo.get(f"companyinfo/{realm}").status_code == 401


def test_the_control_api_refuses_nonsense(control):
    assert control.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert control.post("/_sandbox/faults", json={"error_kinds": ["418"]}).status_code == 400
    assert control.post("/_sandbox/faults", json={"chaos": True}).status_code == 400


def test_stats_count_requests_and_throttles_per_company(control, qbo, realm):
    control.post("/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["429"]})
    qbo.get(f"companyinfo/{realm}")
    control.post("/_sandbox/faults", json={})
    qbo.get(f"companyinfo/{realm}")

    stats = control.get("/_sandbox/stats").json()

    assert stats["realms"][realm] == {"requests": 2, "throttled": 1, "faults": 1, "in_flight": 0}
