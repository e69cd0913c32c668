"""OAuth 2.0 as Intuit runs it, with the sandbox's consent screen always saying yes.

- An authorization code lives 5 minutes and works once.
- An access token lives an hour (`expires_in` 3600); a refresh token 100 days
  (`x_refresh_token_expires_in`).
- Every refresh returns a new refresh token; the one it replaced keeps working
  for a short grace period (so two workers refreshing at once both succeed),
  then stops.
- Revoking any token of a grant ends the whole grant.
Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

ACCESS_TTL = 3600.0
REFRESH_TTL = 100 * 24 * 3600.0
CODE_TTL = 300.0
SCOPE = "com.intuit.quickbooks.accounting"


class OAuthError(Exception):
    """A refusal from the token endpoint, in RFC 6749's terms."""

    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Grant:
    realm_id: str
    client_id: str
    revoked: bool = False


@dataclass
class Token:
    grant: Grant
    expires_at: float | None  # None: never


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    expires_at: float


class Authority:
    """Codes, access tokens and refresh tokens for the companies in a store."""

    def __init__(self, now: Callable[[], float], *, refresh_grace: float = 120.0):
        self.now = now
        self.refresh_grace = refresh_grace
        self.clients: dict[str, str] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        self.lock = threading.Lock()

    def register_client(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.clients[client_id] = client_secret

    def check_client(self, client_id: str, client_secret: str) -> None:
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise OAuthError("invalid_client", "Client authentication failed", status=401)

    def authorize(self, client_id: str, redirect_uri: str, realm_id: str) -> str:
        """Return a code for a company's consent to a client."""
        with self.lock:
            if client_id not in self.clients:
                raise OAuthError("invalid_client", f"Unknown client {client_id}")
            code = secrets.token_urlsafe(24)
            grant = Grant(realm_id, client_id)
            self.codes[code] = Code(grant, redirect_uri, self.now() + CODE_TTL)
            return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict:
        """Trade a code for the grant's first tokens; a code works once."""
        with self.lock:
            found = self.codes.pop(code, None)
            if found is None or found.expires_at <= self.now():
                raise OAuthError("invalid_grant", "The authorization code is invalid or expired")
            if found.grant.client_id != client_id or found.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant", "The code was issued to another client or URI")
            return self._issue(found.grant, ACCESS_TTL)

    def refresh_tokens(self, client_id: str, refresh_token: str) -> dict:
        """Trade a refresh token for new tokens, rotating the refresh token."""
        with self.lock:
            now = self.now()
            found = self.refresh.get(refresh_token)
            if found is None or found.grant.revoked or found.expires_at <= now:
                raise OAuthError("invalid_grant", "Incorrect or invalid refresh token")
            if found.grant.client_id != client_id:
                raise OAuthError("invalid_grant", "The token was issued to another client")
            found.expires_at = min(found.expires_at, now + self.refresh_grace)
            return self._issue(found.grant, ACCESS_TTL)

    def revoke(self, client_id: str, token: str) -> None:
        """End the grant a token belongs to; unknown tokens are ignored, as RFC 7009 says."""
        with self.lock:
            found = self.refresh.get(token) or self.access.get(token)
            if found is not None and found.grant.client_id == client_id:
                found.grant.revoked = True

    def issue(self, realm_id: str, client_id: str, ttl: float | None = ACCESS_TTL) -> dict:
        """Return tokens for a company without a consent round trip (ttl None: never expire)."""
        with self.lock:
            return self._issue(Grant(realm_id, client_id), ttl)

    def realm_of(self, access_token: str) -> str | None:
        """Return the company an access token is good for, or None if it is not good."""
        grant = self.grant_of(access_token)
        return grant.realm_id if grant else None

    def grant_of(self, access_token: str) -> Grant | None:
        """Return the company and app an access token is good for, or None if it is not good."""
        with self.lock:
            found = self.access.get(access_token)
            if found is None or found.grant.revoked:
                return None
            if found.expires_at is not None and found.expires_at <= self.now():
                return None
            return found.grant

    def expire_access_tokens(self) -> int:
        """Expire every access token now (refresh tokens still work); return how many."""
        with self.lock:
            now = self.now()
            for token in self.access.values():
                token.expires_at = now
            return len(self.access)

    def _issue(self, grant: Grant, ttl: float | None) -> dict:
        now = self.now()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = Token(grant, None if ttl is None else now + ttl)
        self.refresh[refresh] = Token(grant, now + REFRESH_TTL)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(ttl) if ttl is not None else int(REFRESH_TTL),
            "refresh_token": refresh,
            "x_refresh_token_expires_in": int(REFRESH_TTL),
        }
