"""A sandbox FreshBooks business, its bookkeeper, and arbridge connected to it."""

import pytest

from arbridge.sandbox.freshbooks import FreshBooksSandbox, create_app
from tests.connectors.freshbooks.books import Books, connect
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> FreshBooksSandbox:
    # The limit is lifted: a test works faster than a bookkeeper.
    return create_app(clock=clock, requests_per_minute=1_000_000, webhook_interval=None)


@pytest.fixture
def account(sandbox) -> str:
    return sandbox.store.add_account(name="Acme IT")


@pytest.fixture
def books(sandbox, account) -> Books:
    return Books(sandbox, account)


@pytest.fixture
def freshbooks(sandbox, account):
    return connect(sandbox, account)
