"""A QuickBooks Online sandbox per test, and a client of one of its companies."""

import httpx
import pytest

from arbridge.sandbox.qbo import QuickBooksSandbox, create_app
from tests.sandbox.qbo.api import QBO, connect


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    return create_app(webhook_interval=None)


@pytest.fixture
def realm(sandbox: QuickBooksSandbox) -> str:
    return sandbox.store.add_realm(company_name="Acme IT Services")


@pytest.fixture
def qbo(sandbox: QuickBooksSandbox, realm: str) -> QBO:
    return connect(sandbox, realm)


@pytest.fixture
def control(sandbox: QuickBooksSandbox) -> httpx.Client:
    """The sandbox's OAuth endpoints and control API (/_sandbox/)."""
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://qbo.test")
