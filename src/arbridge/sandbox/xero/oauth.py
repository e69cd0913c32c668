"""OAuth 2.0 as Xero runs it, with the sandbox's consent screen always saying yes.

# Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow
# Reference: https://developer.xero.com/documentation/guides/oauth2/token-types
# Reference: https://developer.xero.com/documentation/guides/oauth2/tenants

- An authorization code lives 5 minutes and works once.
- An access token lives 30 minutes (`expires_in` 1800).
- Every refresh returns a new refresh token; the one it replaced keeps working
  for 30 minutes (so a worker whose save failed can retry), then stops. An
  unused refresh token expires after 60 days.
- A consent connects the app to organisations (tenants): each is a
  connection, listed by GET /connections; a call names the one it is for in
  the `xero-tenant-id` header. Deleting a connection ends it; revoking a
  refresh token ends the grant and every connection of it.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

ACCESS_TTL = 1800.0
REFRESH_TTL = 60 * 24 * 3600.0
REFRESH_GRACE = 1800.0
CODE_TTL = 300.0
REQUIRED_SCOPE = "offline_access"
SCOPE = " ".join(
    (
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.contacts",
        "accounting.settings.read",
    )
)


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
    # tenant id -> connection id
    connections: dict[str, str] = field(default_factory=dict)
    auth_event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    revoked: bool = False


@dataclass
class Token:
    grant: Grant
    expires_at: float | None


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    expires_at: float


class Authority:
    """Codes, access and refresh tokens, and the connections of each grant."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.clients: dict[str, str] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        self.refreshes = 0
        self.lock = threading.Lock()

    def register_client(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.clients[client_id] = client_secret

    def check_client(self, client_id: str, client_secret: str) -> None:
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise OAuthError("invalid_client", "Client authentication failed", status=401)

    def authorize(self, client_id: str, redirect_uri: str, tenants: list[str]) -> str:
        with self.lock:
            grant = Grant(client_id, {t: str(uuid.uuid4()) for t in tenants})
            code = secrets.token_urlsafe(24)
            self.codes[code] = Code(grant, redirect_uri, self.now() + CODE_TTL)
            return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict:
        with self.lock:
            found = self.codes.pop(code, None)
            if found is None or found.expires_at <= self.now():
                raise OAuthError("invalid_grant", "The authorization code is invalid or expired")
            if found.grant.client_id != client_id or found.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant", "The code was issued to another client or URI")
            return self._issue(found.grant, ACCESS_TTL)

    def refresh_tokens(self, client_id: str, refresh_token: str) -> dict:
        with self.lock:
            now = self.now()
            found = self.refresh.get(refresh_token)
            if found is None or found.grant.revoked or (found.expires_at or 0) <= now:
                raise OAuthError("invalid_grant", "The refresh token is invalid or expired")
            if found.grant.client_id != client_id:
                raise OAuthError("invalid_grant", "The token was issued to another client")
            found.expires_at = min(found.expires_at or now, now + REFRESH_GRACE)
            self.refreshes += 1
            return self._issue(found.grant, ACCESS_TTL)

    def revoke(self, client_id: str, token: str) -> None:
        with self.lock:
            found = self.refresh.get(token)
            if found is not None and found.grant.client_id == client_id:
                found.grant.revoked = True

    def issue(self, client_id: str, tenants: list[str], ttl: float | None = ACCESS_TTL) -> dict:
        """Return tokens connected to organisations without a consent round trip."""
        with self.lock:
            return self._issue(Grant(client_id, {t: str(uuid.uuid4()) for t in tenants}), ttl)

    def grant_of(self, access_token: str) -> Grant | None:
        with self.lock:
            found = self.access.get(access_token)
            if found is None or found.grant.revoked:
                return None
            if found.expires_at is not None and found.expires_at <= self.now():
                return None
            return found.grant

    def disconnect(self, grant: Grant, connection_id: str) -> bool:
        with self.lock:
            for tenant, connection in list(grant.connections.items()):
                if connection == connection_id:
                    del grant.connections[tenant]
                    return True
            return False

    def expire_access_tokens(self) -> int:
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
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": int(ttl) if ttl is not None else int(REFRESH_TTL),
            "refresh_token": refresh,
            "scope": SCOPE,
        }
