"""The sandbox below a mount point, as the demo serves it at /sandbox/qbo/."""

from urllib.parse import parse_qs, urlsplit

import httpx
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from arbridge.sandbox.qbo import create_app
from arbridge.sandbox.qbo.app import CLIENT_ID, CLIENT_SECRET


def test_it_works_below_a_mount_point():
    site = DispatcherMiddleware(Response("the rest of the site"), {"/sandbox/qbo": create_app()})
    browser = httpx.Client(transport=httpx.WSGITransport(app=site), base_url="http://demo.test")

    consent = browser.get(
        "/sandbox/qbo/oauth2/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": "http://demo.test/connections/qbo/callback",
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "s",
        },
    )
    back = parse_qs(urlsplit(consent.headers["Location"]).query)
    token = browser.post(
        "/sandbox/qbo/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": "http://demo.test/connections/qbo/callback",
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    ).json()
    realm = back["realmId"][0]
    response = browser.get(
        f"/sandbox/qbo/v3/company/{realm}/query",
        params={"query": "SELECT * FROM Term"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )

    assert response.status_code == 200
    assert len(response.json()["QueryResponse"]["Term"]) == 4
    assert browser.get("/elsewhere").text == "the rest of the site"
