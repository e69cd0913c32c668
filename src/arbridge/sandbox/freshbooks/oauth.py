"""OAuth 2.0 as FreshBooks runs it, with the sandbox's consent screen always saying yes.

# Reference: https://www.freshbooks.com/api/authentication

- An authorization code lives 10 minutes and works once.
- An access token lives 12 hours (`expires_in` 43200).
- A refresh token works once: the refresh answers with the next one and the
  used one is refused from then on (invalid_grant), so a client that loses
  the new one has lost the grant.
- A consent reaches the businesses of the user who gave it; each business
  is one account id, listed by /auth/api/v1/users/me.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

ACCESS_TTL = 43_200.0
CODE_TTL = 600.0


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
    client_id: str
    accounts: tuple[str, ...]
    revoked: bool = False


@dataclass
class Token:
    grant: Grant
    expires_at: float | None


class Authority:
    """Codes, access tokens and single-use refresh tokens, and the accounts of each grant."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.clients: dict[str, str] = {}
        self.codes: dict[str, tuple[Grant, str, float]] = {}
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Grant] = {}
        self.refreshes = 0
        self.lock = threading.Lock()

    def register_client(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.clients[client_id] = client_secret

    def check_client(self, client_id: str, client_secret: str) -> None:
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise OAuthError("invalid_client", "Client authentication failed", status=401)

    def authorize(self, client_id: str, redirect_uri: str, accounts: list[str]) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            grant = Grant(client_id, tuple(accounts))
            self.codes[code] = (grant, redirect_uri, self.now() + CODE_TTL)
            return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict:
        with self.lock:
            found = self.codes.pop(code, None)
            if found is None or found[2] <= self.now():
                raise OAuthError("invalid_grant", "The authorization code is invalid or expired")
            grant, uri, _ = found
            if grant.client_id != client_id or uri != redirect_uri:
                raise OAuthError("invalid_grant", "The code was issued to another client or URI")
            return self._issue(grant, ACCESS_TTL)

    def refresh_tokens(self, client_id: str, refresh_token: str) -> dict:
        """Spend a refresh token (once) for a new access token and the next refresh token."""
        with self.lock:
            grant = self.refresh.pop(refresh_token, None)
            if grant is None or grant.revoked:
                raise OAuthError("invalid_grant", "The refresh token is invalid or was used")
            if grant.client_id != client_id:
                raise OAuthError("invalid_grant", "The token was issued to another client")
            self.refreshes += 1
            return self._issue(grant, ACCESS_TTL)

    def revoke(self, client_id: str, token: str) -> None:
        with self.lock:
            grant = self.refresh.get(token)
            access = self.access.get(token)
            for found in (grant, access.grant if access else None):
                if found is not None and found.client_id == client_id:
                    found.revoked = True

    def issue(self, client_id: str, accounts: list[str], ttl: float | None = ACCESS_TTL) -> dict:
        """Return tokens reaching some accounts without a consent round trip."""
        with self.lock:
            return self._issue(Grant(client_id, tuple(accounts)), ttl)

    def grant_of(self, access_token: str) -> Grant | None:
        with self.lock:
            found = self.access.get(access_token)
            if found is None or found.grant.revoked:
                return None
            if found.expires_at is not None and found.expires_at <= self.now():
                return None
            return found.grant

    def expire_access_tokens(self) -> int:
        with self.lock:
            now = self.now()
            for token in self.access.values():
                token.expires_at = now
            return len(self.access)

    def _issue(self, grant: Grant, ttl: float | None) -> dict:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = Token(grant, None if ttl is None else self.now() + ttl)
        self.refresh[refresh] = grant
        return {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": int(ttl) if ttl is not None else 10 * 365 * 86_400,
            "refresh_token": refresh,
            "scope": "user:profile:read user:clients:read user:invoices:read "
            "user:payments:read user:payments:write",
            "created_at": int(self.now()),
        }
