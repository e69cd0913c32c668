"""What a sandbox's demo module offers the demo, the same for every kind (framework-free).

A kind's `arbridge.sandbox.<kind>.demo` declares MOUNT and `sandbox()` (the
web server mounts it) and, for the demo partner to hold a connection of the
kind:

- `seed_demo(request: DemoRequest) -> DemoAccount`: fill the sandbox's demo
  account once per process and return what connects arbridge to it;
- `ROLE`: the demo connection's role ("primary", "secondary", "tertiary"),
  absent for a connection without one;
- `shared_invoices()`, for an accounting system: invoices of its demo account
  that the PSAs bill too (same number, total and currency), handed to every
  other kind's `seed_demo` in `DemoRequest.shared`.

A kind without `seed_demo` is mounted for a person to connect, and nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SharedInvoice:
    """An invoice one demo account holds that another bills too."""

    customer: str
    number: str
    issued: dt.date
    due: dt.date
    total: Decimal
    currency: str


@dataclass(frozen=True)
class DemoRequest:
    base_url: str  # where arbridge reaches this sandbox: the server's address and MOUNT
    client_id: str = ""  # the OAuth2 app arbridge runs as, for an OAuth2 kind
    shared: tuple[SharedInvoice, ...] = ()


@dataclass(frozen=True)
class DemoAccount:
    account: str  # the vendor's id for the account: the connection's remote account
    token: dict[str, Any] | None = None  # an OAuth2 kind's tokens, issued to `client_id`
    credentials: dict[str, Any] = field(default_factory=dict)  # a credentials kind's
    printed: tuple[tuple[str, str], ...] = ()  # (label, value) lines the demo prints
