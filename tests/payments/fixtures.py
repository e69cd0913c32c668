"""The sandbox processor on loopback HTTP, an account of Acme's in it, and its test methods.

The sandbox serves arbridge over real HTTP, as a processor would; its webhooks
go to Django's test client in this thread (tests.integrations.qbo.fixtures'
Receiver), so they land in the test's transaction. Each test gets a fresh
sandbox. Override `processor_webhook_url` to have the account's events
delivered to arbridge's endpoint when `deliver_processor_events()` flushes them.
Test modules elsewhere import the fixtures they use from here.
"""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from arbridge.payments.models import PaymentSettings
from arbridge.payments.processors.sandbox import SandboxProcessor, provision
from arbridge.sandbox.processor import ProcessorSandbox, create_app
from tests.integrations.qbo.fixtures import Receiver
from tests.loopback import Loopback

RETURN_URL = "http://testserver/tokenized"
# The test cards' other fields, and the test bank accounts' routing number and holder.
CARD = {"expiry": "12/30", "cvc": "123", "postal_code": "94107"}
BANK = {"routing_number": "110000000", "account_holder_name": "Globex Corporation"}


@pytest.fixture(scope="session")
def processor_server():
    server = Loopback()
    yield server
    server.stop()


@pytest.fixture
def processor_receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def processor_sandbox(processor_server, processor_receiver) -> ProcessorSandbox:
    """A fresh sandbox processor whose webhooks wait for `deliver_processor_events()`."""
    app = create_app(webhook_interval=None, http=httpx.Client(transport=processor_receiver))
    processor_server.app = app
    return app


@pytest.fixture
def processor_webhook_url() -> str:
    return ""


@pytest.fixture
def processor_credentials(processor_server, processor_sandbox, processor_webhook_url) -> dict:
    """Credentials of a new account of Acme's, as the dashboard saves them."""
    return provision(processor_server.url, "Acme IT", webhook_url=processor_webhook_url)


@pytest.fixture
def sandbox_processor(processor_credentials) -> SandboxProcessor:
    return SandboxProcessor(processor_credentials)


@pytest.fixture
def processor_settings(partner, processor_credentials) -> PaymentSettings:
    """Acme collects through the sandbox processor."""
    settings = PaymentSettings.of(partner)
    settings.processor = PaymentSettings.Processor.SANDBOX
    settings.credentials = processor_credentials
    settings.save()
    return settings


@pytest.fixture
def tokenize(processor_credentials) -> Callable[..., str]:
    """Return a function that types a test card (or bank account) into the hosted page.

    tokenize() is the good Visa; tokenize("4000000000009995") a card that
    soft-declines; tokenize(account_number="000111111101") a bank account that
    comes back R01. It returns the token the page sends the browser back with.
    """
    browser = httpx.Client()
    page = f"{processor_credentials['base_url']}/tokenize/{processor_credentials['account_id']}"

    def tokenize(number: str = "4242424242424242", *, account_number: str = "") -> str:
        if account_number:
            form = {"kind": "ach", **BANK, "account_number": account_number, "mandate": "accepted"}
        else:
            form = {"kind": "card", "number": number, **CARD}
        answer = browser.post(page, data={**form, "return_url": RETURN_URL})
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["Location"]).query)["token"][0]

    return tokenize


@pytest.fixture
def deliver_processor_events(
    processor_sandbox, django_capture_on_commit_callbacks
) -> Callable[[], int]:
    """Return a function that sends the sandbox's due events as webhooks and runs their jobs."""

    def deliver() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return processor_sandbox.flush_webhooks()

    return deliver
