"""A sandbox QuickBooks Desktop company, arbridge's service to it, and a host keeping its sessions.

`MemoryHost` is what the Django side keeps (sessions, cursor, owed writes,
what was applied), held in memory, so the Web Connector's sessions can be
tested without Django; `service_app` serves `QuickBooksDesktop.serve` as
WSGI, which is what the Django view does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import (
    Change,
    Command,
    Config,
    ConnectorError,
    Cursor,
    Op,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.qbd import QuickBooksDesktop
from arbridge.connectors.qbd.connector import hash_password
from arbridge.sandbox.qbd import Company, Processor, WebConnector, create_app

URL = "http://arbridge.test/poll/qbd/"
USERNAME, PASSWORD = "arbridge-harbor", "correct horse battery"


class MemoryHost:
    """One connection's sessions, cursor, owed writes and applied changes, in memory."""

    def __init__(self, clock: Callable, preferences: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.preferences = preferences or {}
        self.credentials = {"username": USERNAME, "password_hash": hash_password(PASSWORD)}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.cursor: Cursor | None = None
        self.commands: dict[str, Command] = {}
        self.results: dict[str, RemoteRef | ConnectorError] = {}
        self.changes: dict[tuple[str, str], Change] = {}
        self.rejected: list[Rejected] = []
        self.errors: list[str] = []
        self.batches = 0

    def build(self) -> QuickBooksDesktop:
        runtime = Runtime(clock=self.clock, known=self.known)
        config = Config(base_url="", credentials=self.credentials, preferences=self.preferences)
        return QuickBooksDesktop(config, httpx.Client(), runtime)

    def known(self, entity: str) -> Iterable[str]:
        return [k for (e, k), c in self.changes.items() if e == entity and c.op == Op.UPSERT]

    def owe(self, command: Command) -> None:
        self.commands[command.idempotency_key] = command

    # -- the Host protocol ------------------------------------------------------

    def open(self, username: str, password: str) -> str | None:
        if username != USERNAME or not QuickBooksDesktop.password_matches(
            password, self.credentials
        ):
            return None
        ticket = secrets.token_hex(16)
        self.sessions[ticket] = {"state": {}, "open": True}
        return ticket

    def connector(self, ticket: str) -> QuickBooksDesktop | None:
        session = self.sessions.get(ticket)
        return self.build() if session and session["open"] else None

    def state(self, ticket: str) -> dict[str, Any]:
        return self.sessions[ticket]["state"]

    def save(self, ticket: str, state: dict[str, Any]) -> None:
        self.sessions[ticket]["state"] = state

    def cursors(self, ticket: str) -> list[Cursor]:
        return [self.cursor] if self.cursor else []

    def owed(self, ticket: str) -> Sequence[Command]:
        return [
            c
            for key, c in self.commands.items()
            if not isinstance(self.results.get(key), (RemoteRef,))
            and not getattr(self.results.get(key), "permanent", False)
        ]

    def apply(self, ticket: str, items: Sequence[Change | Rejected | Cursor]) -> None:
        self.batches += 1
        for item in items:
            if isinstance(item, Cursor):
                self.cursor = item
            elif isinstance(item, Rejected):
                self.rejected.append(item)
            else:
                self.changes[item.entity, item.remote_id] = item

    def written(self, ticket: str, key: str, result: RemoteRef | ConnectorError) -> None:
        self.results[key] = result

    def failed(self, ticket: str, message: str) -> None:
        self.errors.append(message)

    def close(self, ticket: str) -> None:
        if ticket in self.sessions:
            self.sessions[ticket]["open"] = False

    # -- what a test reads ------------------------------------------------------

    def record(self, entity: str, remote_id: str) -> Any:
        change = self.changes.get((entity, remote_id))
        return change.record if change and change.op == Op.UPSERT else None

    def is_deleted(self, entity: str, remote_id: str) -> bool:
        change = self.changes.get((entity, remote_id))
        return change is not None and change.op == Op.DELETE


def service_app(host: MemoryHost):
    """Return arbridge's Web Connector endpoint as a WSGI app over the host."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        status, body = QuickBooksDesktop.serve(environ["wsgi.input"].read(length), host)
        start_response(f"{status} OK", [("Content-Type", "text/xml; charset=utf-8")])
        return [body]

    return app


class Office:
    """The partner's PC: a company file open in QuickBooks, its Web Connector polling arbridge."""

    def __init__(self, clock: Callable, preferences: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.company = Company(clock=clock)
        self.processor = Processor(self.company)
        self.host = MemoryHost(clock, preferences)
        http = httpx.Client(transport=httpx.WSGITransport(app=service_app(self.host)))
        self.web_connector = WebConnector(http, URL, USERNAME, PASSWORD, self.processor)

    def poll(self):
        return self.web_connector.poll()

    def customer(self, name: str, email: str = "") -> str:
        return self.company.add_customer(name, email or f"ap@{name.split()[0].lower()}.example")

    def invoice(self, customer: str, *amounts: str) -> str:
        return self.company.add_invoice(
            customer, [(f"Line {n}", Decimal(a)) for n, a in enumerate(amounts, 1)]
        )


def direct(company: Company, clock: Callable, known=None, **preferences: Any) -> QuickBooksDesktop:
    """Return a connector to the company's request processor over HTTP (the contract's way)."""
    app = create_app(company)
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://qbd.test")
    runtime = Runtime(clock=clock, known=known or (lambda entity: ()), sleep=lambda s: None)
    return QuickBooksDesktop(
        Config(base_url="http://qbd.test/qbxml", preferences=preferences), http, runtime
    )


def payment(invoice: str, customer: str, amount: str, key: str) -> Command:
    return Command(
        "create_payment",
        {
            "payment_id": key,
            "amount": amount,
            "currency": "USD",
            "date": "2026-03-02",
            "method": "card",
            "reference": "Visa 4242",
            "customer_remote_id": customer,
            "allocations": [{"invoice_remote_id": invoice, "amount": amount}],
        },
        key,
    )
