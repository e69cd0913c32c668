"""Connectors whose vendor calls arbridge for its work (Capabilities.polled).

Some vendors cannot be called: a program on the customer's PC polls
arbridge instead, asks for requests, runs them and posts the answers back
(QuickBooks Desktop's Web Connector). arbridge then serves the vendor's
protocol at `/poll/<kind>/`, and reads and writes happen during those
sessions rather than in jobs: the outbox leaves such a connection's commands
pending for its next session, and no sync is scheduled for it.

The connector class does the protocol (framework-free), `serve(body, host)`;
the host (Django, in arbridge.polling) keeps what lasts between calls. A
session is named by a ticket the host issued when the vendor's program
authenticated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from arbridge.connectors.base import Change, Command, ConnectorError, Cursor, Rejected, RemoteRef


class Host(Protocol):
    """What the Django side keeps for a polled connector's sessions."""

    def open(self, username: str, password: str) -> str | None:
        """Return a new session's ticket if the username and password are a connection's."""
        ...

    def connector(self, ticket: str) -> Any | None:
        """Return the session's connection's connector, or None for an unknown or ended ticket."""
        ...

    def state(self, ticket: str) -> dict[str, Any]:
        """Return the session's work state as last saved ({} at first)."""
        ...

    def save(self, ticket: str, state: dict[str, Any]) -> None: ...

    def cursors(self, ticket: str) -> list[Cursor]:
        """Return the connection's stored read cursors (none before its first full pass)."""
        ...

    def owed(self, ticket: str) -> Sequence[Command]:
        """Return the writes the connection is owed now, oldest first."""
        ...

    def apply(self, ticket: str, items: Sequence[Change | Rejected | Cursor]) -> None:
        """Apply a batch of changes and store the checkpoint that ends it, in one transaction."""
        ...

    def written(self, ticket: str, key: str, result: RemoteRef | ConnectorError) -> None:
        """Record an owed write's outcome: done, to retry in a later session, or dead."""
        ...

    def failed(self, ticket: str, message: str) -> None:
        """Record what went wrong in the session, for the dashboard's last error."""
        ...

    def close(self, ticket: str) -> None:
        """End the session."""
        ...


class Polled(Protocol):
    """A connector class with Capabilities.polled."""

    @classmethod
    def serve(cls, body: bytes, host: Host) -> tuple[int, bytes]:
        """Answer one call of the vendor's program: (HTTP status, body)."""
        ...

    @staticmethod
    def password_matches(password: str, credentials: dict[str, Any]) -> bool:
        """Return True if the password is the one the connection's stored credentials hash."""
        ...

    @classmethod
    def setup_file(cls, *, url: str, username: str, name: str, minutes: int, ids: str) -> bytes:
        """Return the file a person installs in the vendor's program to make it poll `url`."""
        ...
