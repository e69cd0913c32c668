"""Client-credentials tokens at /auth/token?tenant=, and what the API does without one."""

from tests.sandbox.halopsa.api import Halo, control, token


def test_it_issues_an_hour_long_bearer_token_for_scope_all(sandbox):
    response = token(sandbox)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "all"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_secret_is_refused(sandbox):
    response = token(sandbox, client_secret="guess")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_right_secret_for_another_tenant_is_refused(sandbox):
    response = token(sandbox, tenant="someone-else")

    assert response.status_code == 401


def test_only_client_credentials_and_scope_all_are_granted(sandbox):
    assert token(sandbox, grant_type="password").json()["error"] == "unsupported_grant_type"
    assert token(sandbox, scope="read:tickets").json()["error"] == "invalid_scope"


def test_the_api_refuses_calls_without_a_good_token(sandbox):
    api = control(sandbox)

    assert api.get("/api/Client").status_code == 401
    refused = api.get("/api/Client", headers={"Authorization": "Bearer made-up"})
    assert refused.status_code == 401
    assert "invalid_token" in refused.headers["WWW-Authenticate"]


def test_a_token_stops_working_after_an_hour(sandbox, clock, halo):
    assert halo.request("GET", "Client").status_code == 200

    clock.advance(seconds=3600)

    assert halo.request("GET", "Client").status_code == 401


def test_expiring_tokens_on_purpose_leaves_new_ones_working(sandbox, halo):
    answer = control(sandbox).post("/_sandbox/faults", json={"expire_tokens": True})
    assert answer.json()["expired_tokens"] >= 1

    assert halo.request("GET", "Client").status_code == 401
    assert Halo(sandbox).request("GET", "Client").status_code == 200


def test_a_tenant_sees_only_its_own_records(sandbox, halo):
    halo.client("Bluebird Dental")
    made = control(sandbox).post("/_sandbox/tenants", json={"tenant": "other"}).json()
    other = Halo(sandbox, "other", made["client_id"], made["client_secret"])

    assert other.get("Client")["clients"] == []
    assert other.request("GET", "Client/1").status_code == 404
