import base64
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from arbridge.connectors.base import AuthError, RetryableError
from arbridge.connectors.oauth import BearerAuth, InvalidGrant, OAuthApp, TokenManager

APP = OAuthApp(
    client_id="arbridge-client",
    client_secret="s3cret",
    authorize_url="https://appcenter.vendor.test/connect/oauth2",
    token_url="https://oauth.vendor.test/oauth2/v1/tokens/bearer",
    redirect_uri="https://arbridge.test/integrations/qbo/callback",
    scope="com.intuit.quickbooks.accounting",
)
INVOICE_URL = "https://api.vendor.test/v3/company/4620816365/invoice/130"


class Vendor:
    """An OAuth2 vendor: a token endpoint that rotates refresh tokens, and one API route.

    `grace`: a replaced refresh token still works, as QuickBooks Online and Xero
    allow for a while; without it, a refresh token works once.
    """

    def __init__(self, log: list, *, grace: bool = False) -> None:
        self.log = log
        self.grace = grace
        self.serial = 1
        self.codes = {"code-1"}
        self.refresh_tokens = {"refresh-1"}
        self.access_tokens = {"access-1"}
        self.refreshes = 0
        self.token_endpoint_down = False
        self.refusing = False  # refuse every token, as when the app has lost its access
        self.lock = threading.Lock()

    @Request.application
    def __call__(self, request: Request) -> Response:
        if request.path == "/oauth2/v1/tokens/bearer":
            return self.token(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.log.append(("request", bearer))
        if self.refusing or bearer not in self.access_tokens:
            return Response('{"fault": "AuthenticationFailed"}', 401)
        return Response('{"Invoice": {"Id": "130"}}', content_type="application/json")

    def token(self, request: Request) -> Response:
        if self.token_endpoint_down:
            return Response("upstream timeout", 503)
        expected = base64.b64encode(b"arbridge-client:s3cret").decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return Response('{"error": "invalid_client"}', 401, content_type="application/json")
        grant = request.form
        with self.lock:
            if grant["grant_type"] == "authorization_code":
                if grant["code"] not in self.codes or grant["redirect_uri"] != APP.redirect_uri:
                    return self.invalid_grant()
                self.codes.remove(grant["code"])
            elif grant["grant_type"] == "refresh_token":
                if grant["refresh_token"] not in self.refresh_tokens:
                    return self.invalid_grant()
                if not self.grace:
                    self.refresh_tokens.remove(grant["refresh_token"])
                self.refreshes += 1
            self.serial += 1
            access, refresh = f"access-{self.serial}", f"refresh-{self.serial}"
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
        return Response(
            f'{{"access_token": "{access}", "refresh_token": "{refresh}",'
            ' "token_type": "bearer", "expires_in": 3600, "x_refresh_token_expires_in": 8726400}',
            content_type="application/json",
        )

    def invalid_grant(self) -> Response:
        return Response('{"error": "invalid_grant"}', 400, content_type="application/json")

    def revoke(self, access_token: str) -> None:
        self.access_tokens.discard(access_token)


class Store:
    """A token store that logs its saves, and can fail the way a database can."""

    def __init__(self, log: list, token: dict | None = None) -> None:
        self.log = log
        self.token = dict(token or {})
        self.failing = False

    def load(self) -> dict:
        return dict(self.token)

    def save(self, token: dict) -> None:
        if self.failing:
            raise OSError("database is locked")
        self.log.append(("save", token["access_token"]))
        self.token = dict(token)


EXPIRED = {
    "access_token": "access-1",
    "refresh_token": "refresh-1",
    "token_type": "bearer",
    "expires_at": 1_700_000_000,
}


def stored_token(expires_in: float = 3600) -> dict:
    return {
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "token_type": "bearer",
        "expires_at": int(time.time() + expires_in),
    }


def connect(vendor: Vendor, store: Store) -> tuple[httpx.Client, TokenManager]:
    """Build the connection's client, reused for the token endpoint."""
    client = httpx.Client(transport=httpx.WSGITransport(app=vendor))
    tokens = TokenManager(APP, store, client)
    client.auth = BearerAuth(tokens)
    return client, tokens


@pytest.fixture
def log() -> list:
    return []


def test_the_authorization_url_asks_for_a_code_with_a_fresh_state():
    tokens = TokenManager(APP, Store([]), httpx.Client())
    url, state = tokens.authorization_url()
    _, other_state = tokens.authorization_url()

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == APP.authorize_url
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["arbridge-client"],
        "redirect_uri": [APP.redirect_uri],
        "scope": ["com.intuit.quickbooks.accounting"],
        "state": [state],
    }
    assert len(state) >= 30
    assert state != other_state


def test_the_code_in_the_callback_is_exchanged_and_stored(log):
    vendor, store = Vendor(log), Store(log)
    client, tokens = connect(vendor, store)
    tokens.fetch_token(f"{APP.redirect_uri}?code=code-1&state=xyz&realmId=4620816365", state="xyz")

    assert store.token["refresh_token"] == "refresh-2"
    assert client.get(INVOICE_URL).status_code == 200
    assert log == [("save", "access-2"), ("request", "access-2")]


def test_a_callback_with_another_state_is_refused(log):
    vendor, store = Vendor(log), Store(log)
    _, tokens = connect(vendor, store)
    with pytest.raises(AuthError, match="state"):
        tokens.fetch_token(f"{APP.redirect_uri}?code=code-1&state=forged", state="xyz")
    assert vendor.codes == {"code-1"}
    assert store.token == {}


def test_a_refused_consent_is_an_auth_error(log):
    _, tokens = connect(Vendor(log), Store(log))
    with pytest.raises(AuthError, match="access_denied"):
        tokens.fetch_token(f"{APP.redirect_uri}?error=access_denied&state=xyz", state="xyz")


def test_a_fresh_token_is_used_as_stored(log):
    vendor = Vendor(log)
    client, _ = connect(vendor, Store(log, stored_token()))
    assert client.get(INVOICE_URL).status_code == 200
    assert vendor.refreshes == 0
    assert log == [("request", "access-1")]


def test_a_rotated_token_is_saved_before_it_is_used(log):
    vendor, store = Vendor(log), Store(log, stored_token(expires_in=60))
    client, _ = connect(vendor, store)

    assert client.get(INVOICE_URL).status_code == 200
    assert vendor.refreshes == 1
    assert log == [("save", "access-2"), ("request", "access-2")]
    assert store.token["refresh_token"] == "refresh-2"


def test_a_401_refreshes_once_and_sends_again(log):
    vendor, store = Vendor(log), Store(log, stored_token())
    vendor.revoke("access-1")
    client, _ = connect(vendor, store)

    assert client.get(INVOICE_URL).status_code == 200
    assert vendor.refreshes == 1
    assert log == [("request", "access-1"), ("save", "access-2"), ("request", "access-2")]


def test_a_second_401_is_returned_not_refreshed_again(log):
    vendor, store = Vendor(log), Store(log, stored_token())
    vendor.refusing = True
    client, _ = connect(vendor, store)

    response = client.get(INVOICE_URL)
    assert response.status_code == 401
    assert vendor.refreshes == 1


def test_threads_share_one_refresh(log):
    vendor, store = Vendor(log, grace=True), Store(log, EXPIRED)
    client, _ = connect(vendor, store)
    start = threading.Barrier(8)
    statuses = []

    def fetch():
        start.wait()
        statuses.append(client.get(INVOICE_URL).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert vendor.refreshes == 1


def test_a_token_that_could_not_be_stored_is_not_used(log):
    vendor, store = Vendor(log), Store(log, EXPIRED)
    client, _ = connect(vendor, store)
    store.failing = True

    with pytest.raises(RetryableError, match="could not be stored; it was not used"):
        client.get(INVOICE_URL)
    assert log == []
    assert store.token == EXPIRED

    # The store recovers: the next attempt saves the same token, then uses it.
    store.failing = False
    assert client.get(INVOICE_URL).status_code == 200
    assert vendor.refreshes == 1
    assert log == [("save", "access-2"), ("request", "access-2")]


def test_after_a_crash_mid_refresh_the_stored_token_still_works(log):
    vendor, store = Vendor(log, grace=True), Store(log, EXPIRED)
    client, _ = connect(vendor, store)
    store.failing = True
    with pytest.raises(RetryableError):
        client.get(INVOICE_URL)

    # The process dies; a new one starts from what was stored.
    store.failing = False
    client, _ = connect(vendor, store)
    assert client.get(INVOICE_URL).status_code == 200
    assert store.token["refresh_token"] == "refresh-3"


def test_after_a_crash_with_a_strict_vendor_the_failure_is_clear_and_the_store_kept(log):
    vendor, store = Vendor(log), Store(log, EXPIRED)
    client, _ = connect(vendor, store)
    store.failing = True
    with pytest.raises(RetryableError):
        client.get(INVOICE_URL)

    store.failing = False
    client, _ = connect(vendor, store)
    with pytest.raises(InvalidGrant, match="refused the refresh_token"):
        client.get(INVOICE_URL)
    assert store.token == EXPIRED


def test_an_unstored_token_gives_way_to_a_newer_one_from_another_process(log):
    vendor = Vendor(log, grace=True)
    store = Store(log, EXPIRED)
    client, _ = connect(vendor, store)
    store.failing = True
    with pytest.raises(RetryableError):
        client.get(INVOICE_URL)  # the vendor issued access-2, which was not stored

    store.failing = False
    other_client, _ = connect(vendor, store)
    assert other_client.get(INVOICE_URL).status_code == 200  # refreshed to access-3

    assert client.get(INVOICE_URL).status_code == 200
    assert store.token["access_token"] == "access-3"
    assert log[-1] == ("request", "access-3")


def test_a_refresh_token_rotated_by_another_process_is_reloaded(log):
    vendor = Vendor(log)
    shared = Store(log, EXPIRED)
    client, _ = connect(vendor, shared)

    class RacingStore(Store):
        """The other process refreshes just after this one has read the store."""

        def load(self):
            token = shared.load()
            if vendor.refreshes == 0:
                assert client.get(INVOICE_URL).status_code == 200
            return token

        def save(self, token):
            shared.save(token)

    racing_client, _ = connect(vendor, RacingStore(log))
    assert racing_client.get(INVOICE_URL).status_code == 200
    assert vendor.refreshes == 1
    assert log[-1] == ("request", "access-2")
    assert shared.token["refresh_token"] == "refresh-2"


def test_a_revoked_refresh_token_needs_a_person(log):
    vendor, store = Vendor(log), Store(log, EXPIRED)
    vendor.refresh_tokens.clear()
    client, _ = connect(vendor, store)
    with pytest.raises(InvalidGrant) as caught:
        client.get(INVOICE_URL)
    assert isinstance(caught.value, AuthError)
    assert store.token == EXPIRED


def test_a_token_endpoint_outage_is_retryable(log):
    vendor, store = Vendor(log), Store(log, EXPIRED)
    vendor.token_endpoint_down = True
    client, _ = connect(vendor, store)
    with pytest.raises(RetryableError, match="503"):
        client.get(INVOICE_URL)


def test_a_new_authorization_that_could_not_be_stored_is_not_kept(log):
    vendor, store = Vendor(log), Store(log)
    client, tokens = connect(vendor, store)
    store.failing = True
    with pytest.raises(RetryableError, match="could not be stored"):
        tokens.fetch_token(f"{APP.redirect_uri}?code=code-1&state=xyz", state="xyz")

    # The caller never learnt of it (nor stored the realm beside it): connect again.
    store.failing = False
    with pytest.raises(AuthError, match="must be authorized again"):
        client.get(INVOICE_URL)
    assert store.token == {}
    assert log == []
