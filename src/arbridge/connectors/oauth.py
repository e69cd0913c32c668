"""OAuth2 for authorization-code apps (QuickBooks Online, Xero): consent, tokens, refresh.

The token lives in the caller's `TokenStore` (integrations keeps it encrypted
in Connection.credentials). Vendors rotate refresh tokens, and a rotated one
that is lost loses the connection. So the rule here is: a token from the
vendor is saved before its access token is handed to anyone. If saving a
refreshed token fails, it is not used; it is kept in memory and saved on the
next attempt, unless another process has refreshed meanwhile. The store keeps
the last token it saved either way.

Refreshes happen within `margin_s` of expiry or after a 401, one at a time in
a process. Between processes nothing is locked: a refresh refused because
another process rotated the refresh token first reloads the store and tries
once more.

    AuthError        authorization refused or gone: a person must reconnect
    └── InvalidGrant the vendor refused a code or refresh token
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from arbridge.connectors.base import AuthError, PermanentError, RetryableError
from arbridge.connectors.http import raise_for_status, transport_error, vendor_message


class InvalidGrant(AuthError):
    pass


class TokenStore(Protocol):
    def load(self) -> dict[str, Any]:
        """Return the last saved token, or {} if there is none."""
        ...

    def save(self, token: dict[str, Any]) -> None:
        """Store a token durably before returning; raise if it could not be stored."""
        ...


@dataclass(frozen=True)
class OAuthApp:
    """An app registered with a vendor: who we are and where its endpoints are."""

    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    redirect_uri: str
    scope: str = ""
    # How the token endpoint wants the client credentials: Authlib's names.
    auth_method: str = "client_secret_basic"


class TokenManager:
    """Hand out a connection's access token, refreshing and storing it as needed.

    `http` is the client for the token endpoint. Token requests are sent with
    `auth=None`, so the connection's own client may be reused.
    """

    def __init__(
        self,
        app: OAuthApp,
        store: TokenStore,
        http: httpx.Client,
        *,
        margin_s: float = 300.0,
    ) -> None:
        self.app = app
        self.store = store
        self.http = http
        self.margin_s = margin_s
        self._client_auth = ClientAuth(app.client_id, app.client_secret, app.auth_method)
        self._lock = threading.Lock()
        self._token: dict[str, Any] | None = None
        # A token the vendor issued that the store refused: (token, refresh token it replaces).
        self._unsaved: tuple[dict[str, Any], str | None] | None = None

    def authorization_url(self, state: str | None = None) -> tuple[str, str]:
        """Return the vendor's consent URL and the state to check in its callback."""
        state = state or generate_token(30)
        url = prepare_grant_uri(
            self.app.authorize_url,
            self.app.client_id,
            "code",
            redirect_uri=self.app.redirect_uri,
            scope=self.app.scope or None,
            state=state,
        )
        return url, state

    def fetch_token(self, callback_url: str, *, state: str) -> dict[str, Any]:
        """Exchange the code in the vendor's redirect for a token, and store it.

        Vendor extras in the callback (QuickBooks' realmId) are the caller's to read.
        """
        params = httpx.URL(callback_url).params
        if "error" in params:
            raise AuthError(f"authorization was refused: {params['error']}")
        if not hmac.compare_digest(params.get("state", ""), state):
            raise AuthError("the callback's state is not the one sent; the code is refused")
        if not params.get("code"):
            raise AuthError("the callback carries no authorization code")
        with self._lock:
            token = self._request_token(
                "authorization_code", code=params["code"], redirect_uri=self.app.redirect_uri
            )
            self._save(token, replacing=None)
        return token

    def access_token(self, rejected: str | None = None) -> str:
        """Return an access token to send, refreshing it near expiry or if `rejected`."""
        with self._lock:
            if self._unsaved is not None:
                self._save_unsaved(*self._unsaved)
            if self._token is not None and self._is_usable(self._token, rejected):
                return self._token["access_token"]
            # Another process may have refreshed already; the store has the newest.
            self._token = self.store.load()
            if self._is_usable(self._token, rejected):
                return self._token["access_token"]
            return self._refresh(self._token, rejected)["access_token"]

    def _is_usable(self, token: dict[str, Any], rejected: str | None) -> bool:
        access_token = token.get("access_token")
        if not access_token or access_token == rejected:
            return False
        return not OAuth2Token.from_dict(dict(token)).is_expired(leeway=self.margin_s)

    def _refresh(self, token: dict[str, Any], rejected: str | None) -> dict[str, Any]:
        used = token.get("refresh_token")
        if not used:
            raise AuthError("there is no refresh token; the connection must be authorized again")
        try:
            new = self._request_token("refresh_token", refresh_token=used)
        except InvalidGrant:
            latest = self.store.load()
            if latest.get("refresh_token") in (None, used):
                raise
            # Another process rotated the refresh token after we loaded ours.
            self._token = latest
            if self._is_usable(latest, rejected):
                return latest
            used = latest["refresh_token"]
            new = self._request_token("refresh_token", refresh_token=used)
        # A vendor that does not rotate may leave the refresh token out.
        new.setdefault("refresh_token", used)
        self._save(new, replacing=used)
        return new

    def _save(self, token: dict[str, Any], *, replacing: str | None) -> None:
        """Store a token, or keep a refreshed one to store on the next attempt."""
        try:
            self.store.save(dict(token))
        except Exception as exc:
            # A refresh cannot be repeated safely, so its result is kept; a code
            # exchange can, by the person connecting again.
            self._unsaved = (token, replacing) if replacing is not None else None
            raise RetryableError(
                "the vendor issued a new token that could not be stored; it was not used"
            ) from exc
        self._unsaved = None
        self._token = token

    def _save_unsaved(self, token: dict[str, Any], replacing: str | None) -> None:
        latest = self.store.load()
        if latest.get("refresh_token") != replacing:
            # Another process refreshed since: its token is newer than ours.
            self._unsaved = None
            self._token = latest
            return
        self._save(token, replacing=replacing)

    def _request_token(self, grant_type: str, **params: str) -> dict[str, Any]:
        body = prepare_token_request(grant_type, **params)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url, headers, body = self._client_auth.prepare("POST", self.app.token_url, headers, body)
        # Reference: https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.3 (and 6, refresh)
        try:
            response = self.http.post(url, content=body, headers=headers, auth=None)
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if response.status_code == 400 and _oauth_error(response) == "invalid_grant":
            raise InvalidGrant(f"the vendor refused the {grant_type}: {vendor_message(response)}")
        raise_for_status(response)
        try:
            token = response.json()
        except ValueError:
            token = None
        if not isinstance(token, dict) or not token.get("access_token"):
            raise PermanentError("the token endpoint answered without an access token")
        # OAuth2Token turns expires_in into an absolute expires_at.
        return dict(OAuth2Token(token))


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


class BearerAuth(httpx.Auth):
    """Send the manager's access token; after a 401, refresh once and send again."""

    requires_request_body = True  # the request may be sent twice

    def __init__(self, tokens: TokenManager, scheme: str = "Bearer") -> None:
        self.tokens = tokens
        self.scheme = scheme

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        access_token = self.tokens.access_token()
        request.headers["Authorization"] = f"{self.scheme} {access_token}"
        response = yield request
        if response.status_code == 401:
            access_token = self.tokens.access_token(rejected=access_token)
            request.headers["Authorization"] = f"{self.scheme} {access_token}"
            yield request
