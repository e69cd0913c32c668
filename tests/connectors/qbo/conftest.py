"""A sandbox QuickBooks company, its bookkeeper, and arbridge connected to it."""

import pytest

from arbridge.sandbox.qbo import QuickBooksSandbox, create_app
from tests.connectors.qbo.books import Books, connect


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    # Intuit's 500 requests a minute are lifted: a test works faster than a bookkeeper.
    return create_app(requests_per_minute=1_000_000)


@pytest.fixture
def realm(sandbox) -> str:
    return sandbox.store.add_realm(company_name="Acme IT")


@pytest.fixture
def books(sandbox, realm) -> Books:
    return Books(sandbox, realm)


@pytest.fixture
def qbo(sandbox, realm):
    return connect(sandbox, realm)
