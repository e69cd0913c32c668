"""The demo's QuickBooks Desktop: a company file and a Web Connector polling the demo server.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/get-started/get-started-with-quickbooks-web-connector

Framework-free. The demo server mounts `sandbox()` at MOUNT (its qbXML
request processor and control API). `seed_demo(url)`
seeds the company once per process and starts the demo PC's Web Connector,
which polls arbridge's Web Connector URL every `minutes` on a thread, as the
real one does from the partner's PC. The demo connection is connected with
`credentials()` (its username as the remote account, the password's hash).
"""

from __future__ import annotations

import secrets
import threading
from functools import cache

import httpx

from arbridge.sandbox.qbd.app import QuickBooksDesktopSandbox, create_app
from arbridge.sandbox.qbd.company import Company
from arbridge.sandbox.qbd.seed import seed
from arbridge.sandbox.qbd.webconnector import WebConnector

MOUNT = "/sandbox/qbd"
# The demo PC's Web Connector user; its password is new at every start (never in the repo).
USERNAME = "arbridge-demo"
PASSWORD = secrets.token_urlsafe(18)
CUSTOMERS, INVOICES = 10, 30
RNG_SEED = 20261207
COMPANY = Company(name="Harbor IT Services (QuickBooks Desktop sandbox)")


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> QuickBooksDesktopSandbox:
    """Return the sandbox to mount; QuickBooks Desktop sends no webhooks."""
    return create_app(COMPANY)


def credentials() -> dict[str, str]:
    """Return the user and password the demo PC's Web Connector was given (its .qwc and prompt)."""
    return {"username": USERNAME, "password": PASSWORD}


def seed_demo(
    url: str, username: str = USERNAME, password: str = PASSWORD, minutes: float = 1.0
) -> WebConnector:
    """Seed the demo company once and start its Web Connector polling `url`; return it."""
    with COMPANY.lock:
        if not COMPANY.customers:
            seed(COMPANY, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED)
    web_connector = WebConnector(
        httpx.Client(timeout=120), url, username, password, sandbox().processor
    )
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0 if not web_connector.polls else minutes * 60):
            web_connector.polls += 1
            try:
                web_connector.poll()
            except httpx.HTTPError:
                continue  # arbridge not up yet: the next run tries again

    web_connector.polls = 0
    web_connector.stop = stop
    threading.Thread(target=run, name="qbd-web-connector", daemon=True).start()
    return web_connector
