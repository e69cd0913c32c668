"""The request limit and the fault switches."""

from arbridge.sandbox.connectwise import create_app
from tests.sandbox.connectwise.api import CW, control


def test_it_throttles_past_the_limit(clock):
    sandbox = create_app(clock=clock, requests_per_minute=2)
    cw = CW(sandbox)
    cw.get("/company/companies")
    cw.get("/company/companies")

    throttled = cw.api.get("/company/companies")
    clock.advance(seconds=61)
    later = cw.api.get("/company/companies")

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "60"
    assert later.status_code == 200


def test_faults_fail_calls_and_are_counted(sandbox, cw: CW):
    control(sandbox).post("/_sandbox/faults", json={"error_rate": 1.0, "error_kinds": ["503"]})

    assert cw.api.get("/company/companies").status_code == 503
    assert control(sandbox).get("/_sandbox/stats").json()["faults"] == 1


def test_a_timeout_is_answered_after_the_work_is_done(sandbox, cw: CW):
    control(sandbox).post("/_sandbox/faults", json={"error_rate": 1.0, "error_kinds": ["timeout"]})

    response = cw.api.post("/company/companies", json={"name": "Lost Answer Ltd"})

    control(sandbox).post("/_sandbox/faults", json={"error_rate": 0})
    assert response.status_code == 504
    assert [row["name"] for row in cw.get("/company/companies")] == ["Lost Answer Ltd"]


def test_unknown_fault_settings_are_refused(sandbox):
    response = control(sandbox).post("/_sandbox/faults", json={"error_rate": 2})

    assert response.status_code == 400
