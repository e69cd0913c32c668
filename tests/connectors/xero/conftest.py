"""A sandbox Xero organisation, its bookkeeper, and arbridge connected to it."""

import pytest

from arbridge.sandbox.xero import XeroSandbox, create_app
from tests.connectors.xero.books import Books, connect
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> XeroSandbox:
    # Xero's 60 calls a minute are lifted: a test works faster than a bookkeeper.
    return create_app(clock=clock, requests_per_minute=1_000_000, concurrent_requests=100)


@pytest.fixture
def tenant(sandbox) -> str:
    return sandbox.store.add_org(name="Acme IT")


@pytest.fixture
def books(sandbox, tenant) -> Books:
    return Books(sandbox, tenant)


@pytest.fixture
def xero(sandbox, tenant):
    return connect(
        sandbox,
        tenant,
        clearing_account_code="615",
        bank_account_code="090",
        fee_account_code="404",
    )
