"""The demo's QuickBooks Desktop: a company file and a Web Connector polling the demo server.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/get-started/get-started-with-quickbooks-web-connector

Framework-free (sandbox/common/demo.py). The web server mounts `sandbox()`
at MOUNT (the company's qbXML request processor and control API).
`seed_demo()` fills the company once per process, starts the demo PC's Web
Connector on a thread, polling arbridge's Web Connector URL every minute as
the real one does from a partner's PC, and returns the user it was set up
with: its username, and the hash of a password new at every start.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from functools import cache

import httpx

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.qbd.app import QuickBooksDesktopSandbox, create_app
from arbridge.sandbox.qbd.company import Company
from arbridge.sandbox.qbd.seed import seed
from arbridge.sandbox.qbd.webconnector import WebConnector

MOUNT = "/sandbox/qbd"
CUSTOMERS, INVOICES = 10, 30
RNG_SEED = 20261207
POLL_MINUTES = 1.0
RETRY_S = 1.0  # the server not answering yet, or the connection not yet saved
COMPANY = Company(name="Harbor IT Services (QuickBooks Desktop sandbox)")
USERNAME = "arbridge-demo"
PASSWORD = secrets.token_urlsafe(18)
ITERATIONS = 200_000


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> QuickBooksDesktopSandbox:
    """Return the sandbox to mount; QuickBooks Desktop sends no webhooks."""
    return create_app(COMPANY)


def password_hash(password: str) -> str:
    """Return the password as arbridge keeps one: `pbkdf2_sha256$<iterations>$<salt>$<hex>`."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}"


class DemoPC:
    """The demo partner's PC: its Web Connector polling arbridge on a thread until stopped."""

    def __init__(self, url: str, minutes: float = POLL_MINUTES) -> None:
        self.web_connector = WebConnector(
            httpx.Client(timeout=120), url, USERNAME, PASSWORD, sandbox().processor
        )
        self.minutes = minutes
        self.polls = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="qbd-web-connector", daemon=True)

    def run(self) -> None:
        delay = 0.0
        while not self.stopped.wait(delay):
            try:
                poll = self.web_connector.poll()
            except httpx.HTTPError:
                delay = RETRY_S
                continue
            if poll.outcome == "nvu":
                delay = RETRY_S  # the demo connection is being connected
                continue
            self.polls += 1
            delay = self.minutes * 60

    def stop(self) -> None:
        self.stopped.set()


@cache
def start_pc(url: str) -> DemoPC:
    """Start the demo PC polling `url`, once per process."""
    pc = DemoPC(url)
    pc.thread.start()
    return pc


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Fill the demo company once, start its Web Connector; return the user it polls as."""
    with COMPANY.lock:
        if not COMPANY.customers:
            seed(COMPANY, customers=CUSTOMERS, invoices=INVOICES, seed=RNG_SEED)
    root = request.base_url.removesuffix(MOUNT)
    start_pc(f"{root}/poll/qbd/")
    return DemoAccount(
        account=USERNAME,
        credentials={"username": USERNAME, "password_hash": password_hash(PASSWORD)},
        printed=(("QuickBooks Desktop", f"the demo PC's Web Connector polls as {USERNAME}"),),
    )
