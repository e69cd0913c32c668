"""OAuth 2.0 as Zoho Accounts runs it, per data centre, with a consent that always says yes.

# Reference: https://www.zoho.com/accounts/protocol/oauth/web-server-applications.html
# Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html

- A code lives 2 minutes, works once, and only at the accounts server of
  the data centre it was issued by.
- An access token lives an hour (`expires_in` 3600) and is good only at
  its data centre's API domain (`api_domain` in the token answer).
- A refresh token does not rotate and works until revoked.
- Client credentials come as form fields (client_id, client_secret) or
  HTTP Basic.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

ACCESS_TTL = 3600.0
CODE_TTL = 120.0


class OAuthError(Exception):
    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error}


@dataclass
class Grant:
    client_id: str
    location: str
    organizations: list[str] = field(default_factory=list)
    revoked: bool = False


@dataclass
class Token:
    grant: Grant
    expires_at: float | None


class Authority:
    """Codes, tokens and grants of every data centre."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.clients: dict[str, str] = {}
        self.codes: dict[str, tuple[Grant, str, float]] = {}
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Grant] = {}
        self.refreshes = 0
        self.lock = threading.Lock()

    def register_client(self, client_id: str, client_secret: str) -> None:
        self.clients[client_id] = client_secret

    def check_client(self, client_id: str, client_secret: str) -> None:
        if not client_id or not secrets.compare_digest(
            self.clients.get(client_id, "\0"), client_secret
        ):
            raise OAuthError("invalid_client", 401)

    def authorize(self, client_id: str, redirect_uri: str, grant: Grant) -> str:
        code = f"1000.{secrets.token_hex(16)}"
        with self.lock:
            self.codes[code] = (grant, redirect_uri, self.now() + CODE_TTL)
        return code

    def exchange_code(
        self, client_id: str, code: str, redirect_uri: str, location: str
    ) -> tuple[dict, Grant]:
        with self.lock:
            held = self.codes.pop(code, None)
        if held is None:
            raise OAuthError("invalid_code")
        grant, uri, expires_at = held
        if grant.client_id != client_id or uri != redirect_uri or self.now() > expires_at:
            raise OAuthError("invalid_code")
        if grant.location != location:
            # A code is good only at the accounts server of its own data centre.
            raise OAuthError("invalid_code")
        refresh = f"1000.{secrets.token_hex(16)}"
        with self.lock:
            self.refresh[refresh] = grant
        return {**self.issue(grant), "refresh_token": refresh}, grant

    def refresh_token(self, client_id: str, refresh: str, location: str) -> tuple[dict, Grant]:
        with self.lock:
            grant = self.refresh.get(refresh)
            self.refreshes += 1
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise OAuthError("invalid_code")
        if grant.location != location:
            raise OAuthError("invalid_code")
        return self.issue(grant), grant

    def issue(self, grant: Grant, ttl: float | None = ACCESS_TTL) -> dict:
        token = f"1000.{secrets.token_hex(16)}"
        with self.lock:
            self.access[token] = Token(grant, None if ttl is None else self.now() + ttl)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl or 10**9)}
        return answer

    def grant_of(self, token: str) -> Grant | None:
        with self.lock:
            held = self.access.get(token)
        if held is None or held.grant.revoked:
            return None
        if held.expires_at is not None and self.now() >= held.expires_at:
            return None
        return held.grant

    def revoke(self, token: str) -> None:
        with self.lock:
            grant = self.refresh.get(token) or getattr(self.access.get(token), "grant", None)
        if grant is not None:
            grant.revoked = True

    def expire_access_tokens(self) -> int:
        with self.lock:
            for held in self.access.values():
                held.expires_at = 0.0
            return len(self.access)
