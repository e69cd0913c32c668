"""The Microsoft identity platform as the sandbox runs it: codes, tokens, one tenant each.

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens

- An authorization code lives 10 minutes and works once.
- An access token lives an hour (`expires_in` 3599) and is for one tenant
  (its `tid`): a call to another tenant's URL is refused.
- A refresh returns a new refresh token; the one it replaced keeps working
  (Microsoft does not revoke it) until its own 90 days run out.
- The consent screen always says yes; `?tenant=` picks whose, as a person
  signing in with that tenant's account would.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from arbridge.sandbox.business_central.store import Store
from arbridge.sandbox.common.wire import dumps

JSON = "application/json; charset=utf-8"

ACCESS_TTL = 3599.0
REFRESH_TTL = 90 * 24 * 3600.0
CODE_TTL = 600.0


class OAuthError(Exception):
    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Grant:
    client_id: str
    tenant: str
    expires_at: float | None


class Authority:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.clients: dict[str, str] = {}
        self.codes: dict[str, tuple[Grant, str, float]] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.refreshes = 0
        self.lock = threading.Lock()

    def register_client(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.clients[client_id] = client_secret

    def check_client(self, client_id: str, client_secret: str) -> None:
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise OAuthError("invalid_client", "AADSTS7000215: Invalid client secret", 401)

    def authorize(self, client_id: str, tenant: str, redirect_uri: str) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = (Grant(client_id, tenant, None), redirect_uri, self.now() + CODE_TTL)
            return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict:
        with self.lock:
            found = self.codes.pop(code, None)
            if found is None or found[2] <= self.now():
                raise OAuthError("invalid_grant", "AADSTS70008: The code has expired")
            grant, uri, _ = found
            if grant.client_id != client_id or uri != redirect_uri:
                raise OAuthError("invalid_grant", "AADSTS50148: The code was issued elsewhere")
            return self._issue(client_id, grant.tenant, ACCESS_TTL)

    def refresh_tokens(self, client_id: str, token: str) -> dict:
        with self.lock:
            found = self.refresh.get(token)
            if found is None or (found.expires_at or 0) <= self.now():
                raise OAuthError("invalid_grant", "AADSTS700082: The refresh token has expired")
            if found.client_id != client_id:
                raise OAuthError("invalid_grant", "AADSTS700024: Issued to another client")
            self.refreshes += 1
            return self._issue(client_id, found.tenant, ACCESS_TTL)

    def issue(self, client_id: str, tenant: str, ttl: float | None = ACCESS_TTL) -> dict:
        """Return tokens for a tenant without a consent round trip (ttl None: never expire)."""
        with self.lock:
            return self._issue(client_id, tenant, ttl)

    def tenant_of(self, access_token: str) -> str | None:
        with self.lock:
            found = self.access.get(access_token)
            if found is None:
                return None
            if found.expires_at is not None and found.expires_at <= self.now():
                return None
            return found.tenant

    def expire_access_tokens(self) -> int:
        with self.lock:
            for grant in self.access.values():
                grant.expires_at = self.now()
            return len(self.access)

    def _issue(self, client_id: str, tenant: str, ttl: float | None) -> dict:
        now = self.now()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = Grant(client_id, tenant, None if ttl is None else now + ttl)
        self.refresh[refresh] = Grant(client_id, tenant, now + REFRESH_TTL)
        return {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": int(ttl) if ttl is not None else int(REFRESH_TTL),
            "refresh_token": refresh,
            "scope": "https://api.businesscentral.dynamics.com/Financials.ReadWrite.All",
            "tenant_id": tenant,
        }


# -- the endpoints -------------------------------------------------------------


def authorize(auth: Authority, store: Store, request: Request, tenant: str) -> Response:
    """Consent at once, for the tenant asked (?tenant=) or the path's, else the first."""
    args = request.args
    redirect_uri, client_id = args.get("redirect_uri"), args.get("client_id", "")
    if not redirect_uri or client_id not in auth.clients:
        return Response("AADSTS700016: unknown application or missing redirect_uri", status=400)
    answer: dict[str, str] = {}
    if args.get("response_type") != "code":
        answer["error"] = "unsupported_response_type"
    else:
        wanted = args.get("tenant") or (tenant if tenant not in ("common", "organizations") else "")
        known = [t for t, _ in store.environments]
        if not wanted:
            wanted = known[0] if known else store.add_company()[0]
        elif wanted not in known:
            store.add_company(wanted)
        answer["code"] = auth.authorize(client_id, wanted, redirect_uri)
    if "state" in args:
        answer["state"] = args["state"]
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, (parts.query, urlencode(answer))))
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def token(auth: Authority, request: Request) -> Response:
    """Exchange a code or a refresh token; the client by HTTP Basic or in the form."""
    try:
        basic = request.authorization
        form = request.form
        if basic is not None and basic.type == "basic":
            client_id, secret = basic.username or "", basic.password or ""
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth.check_client(client_id, secret)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            issued = auth.exchange_code(
                client_id, form.get("code", ""), form.get("redirect_uri", "")
            )
        elif grant == "refresh_token":
            issued = auth.refresh_tokens(client_id, form.get("refresh_token", ""))
        else:
            raise OAuthError("unsupported_grant_type", f"AADSTS70003: {grant} is not supported")
    except OAuthError as error:
        return Response(dumps(error.body()), status=error.status, content_type=JSON)
    return Response(dumps(issued), content_type=JSON, headers={"Cache-Control": "no-store"})
