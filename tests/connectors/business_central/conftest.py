"""A sandbox Business Central company, its bookkeeper, and arbridge connected to it."""

import pytest

from arbridge.sandbox.business_central import BusinessCentralSandbox, create_app
from tests.connectors.business_central.books import Books, connect
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> BusinessCentralSandbox:
    return create_app(clock=clock, webhook_interval=None, concurrent_requests=100)


@pytest.fixture
def account(sandbox) -> str:
    return "/".join(sandbox.store.add_company(name="Acme IT"))


@pytest.fixture
def books(sandbox, account) -> Books:
    return Books(sandbox, account)


@pytest.fixture
def bc(sandbox, account, books):
    return connect(sandbox, account, payment_account_id=books.account_id("10100"))
