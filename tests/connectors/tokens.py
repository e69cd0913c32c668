"""Where connector tests keep an OAuth2 connection's tokens: in memory, every one kept in order."""

from typing import Any


class MemoryTokenStore:
    """A token store (connectors.oauth.TokenStore) that keeps every token it was given."""

    def __init__(self) -> None:
        self.token: dict[str, Any] = {}
        self.saved: list[dict[str, Any]] = []

    def load(self) -> dict[str, Any]:
        return dict(self.token)

    def save(self, token: dict[str, Any]) -> None:
        self.token = dict(token)
        self.saved.append(dict(token))
