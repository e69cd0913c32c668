"""Who the sandbox lets in: the company's keys in Basic auth, and a clientId."""

from arbridge.sandbox.connectwise.app import API, CLIENT_ID, COMPANY, PRIVATE_KEY, PUBLIC_KEY, basic
from tests.sandbox.connectwise.api import control


def test_it_answers_the_codebase_without_credentials(sandbox):
    response = control(sandbox).get(f"/login/companyinfo/{COMPANY}")

    assert response.status_code == 200
    assert response.json()["Codebase"] == "v4_6_release/"


def test_it_does_not_know_another_company(sandbox):
    assert control(sandbox).get("/login/companyinfo/someoneelse").status_code == 404


def test_it_refuses_wrong_keys(sandbox):
    headers = {"Authorization": basic(COMPANY, PUBLIC_KEY, "guess"), "clientId": CLIENT_ID}

    response = control(sandbox).get(f"{API}/finance/invoices", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"


def test_it_refuses_a_call_without_a_client_id(sandbox):
    headers = {"Authorization": basic(COMPANY, PUBLIC_KEY, PRIVATE_KEY)}

    response = control(sandbox).get(f"{API}/finance/invoices", headers=headers)

    assert response.status_code == 403


def test_it_answers_in_the_versioned_media_type(cw):
    response = cw.api.get("/company/companies")

    assert (
        response.headers["Content-Type"] == "application/vnd.connectwise.com+json; version=2025.8"
    )
