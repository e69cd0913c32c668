"""Things outside arbridge that the portal talks to: an SMTP server and the sandbox processor.

Test modules that need them name this module in `pytest_plugins`, after
tests.payments.fixtures (the sandbox processor served over HTTP on loopback).
Emails go through a real SMTP server on loopback (aiosmtpd); the customer's
browser types card and account numbers on the processor's own page
(`enter_method`), never on arbridge's.
"""

import email
import socket
from email import policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from arbridge.payments.models import PaymentSettings
from tests.payments.fixtures import BANK, CARD


class Inbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(settings) -> Inbox:
    """A real SMTP server on loopback that arbridge's email goes to."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield handler
    controller.stop()


# -- the sandbox processor on loopback, and the customer's steps on its pages --------------


@pytest.fixture
def processor(processor_settings) -> PaymentSettings:
    """Acme collects through its account at the sandbox processor (tests.payments.fixtures)."""
    return processor_settings


def enter_method(tokenize_url: str, number: str) -> str:
    """Type a test card or bank account on the processor's page; return where it sends us.

    This is the customer's browser talking to the processor: the number never
    goes to arbridge.
    """
    with httpx.Client() as browser:
        assert browser.get(tokenize_url).status_code == 200
        kind = parse_qs(urlsplit(tokenize_url).query)["kind"][0]
        fields = CARD | {"number": number} if kind == "card" else BANK | {"account_number": number}
        if kind == "ach":
            fields["mandate"] = "accepted"
        query = parse_qs(urlsplit(tokenize_url).query)
        form = {"kind": kind, "return_url": query["return_url"][0], **fields}
        response = browser.post(tokenize_url.split("?")[0], data=form)
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def local(url: str) -> str:
    """Return the path and query of one of arbridge's own absolute URLs."""
    parts = urlsplit(url)
    assert parts.netloc == "testserver", url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
