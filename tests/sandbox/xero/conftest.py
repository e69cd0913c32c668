"""A Xero sandbox, an organisation in it, and its bookkeeper."""

import pytest

from arbridge.sandbox.xero import XeroSandbox, create_app
from tests.connectors.xero.books import Books
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> XeroSandbox:
    return create_app(clock=clock, requests_per_minute=1_000_000, concurrent_requests=100)


@pytest.fixture
def tenant(sandbox) -> str:
    return sandbox.store.add_org(name="Acme IT")


@pytest.fixture
def books(sandbox, tenant) -> Books:
    return Books(sandbox, tenant)
