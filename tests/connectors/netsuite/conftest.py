"""A sandbox NetSuite account, its bookkeeper, and arbridge connected to it."""

import pytest

from arbridge.sandbox.netsuite import NetSuiteSandbox, create_app
from tests.connectors.netsuite.account import Bookkeeper, connect, new_account
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> NetSuiteSandbox:
    return create_app(clock=clock)


@pytest.fixture
def credentials(sandbox) -> dict[str, str]:
    return new_account(sandbox)


@pytest.fixture
def books(sandbox, credentials) -> Bookkeeper:
    return Bookkeeper(sandbox, credentials)


@pytest.fixture
def netsuite(sandbox, credentials):
    return connect(sandbox, credentials)
