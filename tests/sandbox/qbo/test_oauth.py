"""OAuth 2.0: consent, the code exchange, refresh rotation, revocation, expiry."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from arbridge.sandbox.qbo.app import CLIENT_ID, CLIENT_SECRET
from tests.sandbox.qbo.api import QBO, fault

REDIRECT = "https://arbridge.example/connections/qbo/callback"
CLIENT = (CLIENT_ID, CLIENT_SECRET)


def consent(control, **extra) -> dict[str, str]:
    """Send the browser to the consent screen; return what comes back to the redirect URI."""
    response = control.get(
        "/oauth2/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting openid",
            "state": "xyz-123",
            **extra,
        },
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == REDIRECT
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def token(control, auth=CLIENT, **form):
    return control.post("/oauth2/token", data=form, auth=auth)


@pytest.fixture
def tokens(control, realm):
    back = consent(control, realmId=realm)
    response = token(
        control, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT
    )
    assert response.status_code == 200
    return response.json()


def test_the_code_flow_connects_a_company(sandbox, control, realm):
    back = consent(control, realmId=realm)
    assert back["state"] == "xyz-123"
    assert back["realmId"] == realm

    response = token(
        control, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT
    )

    assert response.status_code == 200
    issued = response.json()
    assert issued["token_type"] == "bearer"
    assert issued["expires_in"] == 3600
    assert issued["x_refresh_token_expires_in"] == 8640000
    qbo = QBO(sandbox, realm, issued["access_token"])
    assert qbo.get(f"companyinfo/{realm}").status_code == 200


def test_consent_without_a_company_picks_the_first(sandbox, control, realm):
    assert consent(control)["realmId"] == realm


def test_a_code_works_once(control, realm):
    code = consent(control, realmId=realm)["code"]
    token(control, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)

    again = token(control, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_the_token_endpoint_wants_the_client_credentials(control, realm):
    code = consent(control, realmId=realm)["code"]

    wrong = token(control, auth=(CLIENT_ID, "guess"), grant_type="authorization_code", code=code)
    missing = control.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code})

    assert wrong.status_code == missing.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_consent_refuses_a_missing_scope(control):
    back = consent(control, scope="openid")

    assert back["error"] == "invalid_scope"
    assert "code" not in back


def test_refreshing_rotates_the_refresh_token_with_a_grace_period(sandbox, control, realm, tokens):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        refreshed = token(
            control, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.status_code == 200
        new = refreshed.json()
        assert new["refresh_token"] != tokens["refresh_token"]
        assert (
            QBO(sandbox, realm, new["access_token"]).get(f"companyinfo/{realm}").status_code == 200
        )

        # Another worker holding the old token, a moment later, still gets through...
        clock.shift(dt.timedelta(seconds=30))
        late = token(control, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert late.status_code == 200

        # ...but not after the grace period.
        clock.shift(dt.timedelta(minutes=5))
        stale = token(control, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert stale.status_code == 400
        assert stale.json()["error"] == "invalid_grant"
        newest = token(
            control, grant_type="refresh_token", refresh_token=late.json()["refresh_token"]
        )
        assert newest.status_code == 200


def test_an_access_token_expires_after_an_hour(sandbox, control, realm):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        issued = sandbox.store.issue_token(realm)
        qbo = QBO(sandbox, realm, issued["access_token"])
        assert qbo.get(f"companyinfo/{realm}").status_code == 200

        clock.shift(dt.timedelta(seconds=3601))
        expired = qbo.get(f"companyinfo/{realm}")

        assert expired.status_code == 401
        assert expired.json()["fault"]["type"] == "AUTHENTICATION"
        assert fault(expired)["code"] == "3200"

        refreshed = token(
            control, grant_type="refresh_token", refresh_token=issued["refresh_token"]
        )
        assert refreshed.status_code == 200
        qbo = QBO(sandbox, realm, refreshed.json()["access_token"])
        assert qbo.get(f"companyinfo/{realm}").status_code == 200


def test_a_token_can_be_minted_that_never_expires(sandbox, realm):
    issued = sandbox.store.issue_token(realm, ttl=None)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=365)):
        assert (
            QBO(sandbox, realm, issued["access_token"]).get(f"companyinfo/{realm}").status_code
            == 200
        )


def test_an_unknown_or_missing_token_is_refused(sandbox, qbo, realm):
    assert QBO(sandbox, realm, "forged").get(f"companyinfo/{realm}").status_code == 401
    qbo.http.headers.pop("Authorization")
    assert qbo.get(f"companyinfo/{realm}").status_code == 401


def test_a_token_is_good_for_its_own_company_only(sandbox, realm):
    other = sandbox.store.add_realm()
    theirs = sandbox.store.issue_token(other)["access_token"]

    response = QBO(sandbox, realm, theirs).get(f"companyinfo/{realm}")

    assert response.status_code == 403


def test_revoking_a_refresh_token_ends_the_grant(sandbox, control, realm, tokens):
    response = control.post("/oauth2/revoke", json={"token": tokens["refresh_token"]}, auth=CLIENT)

    assert response.status_code == 200
    assert (
        QBO(sandbox, realm, tokens["access_token"]).get(f"companyinfo/{realm}").status_code == 401
    )
    refreshed = token(control, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 400
