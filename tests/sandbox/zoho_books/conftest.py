import pytest

from arbridge.sandbox.zoho_books import create_app
from tests.connectors.zoho_books.books import Books
from tests.sandbox.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock):
    return create_app(clock=clock, requests_per_minute=1_000_000)


@pytest.fixture
def organization(sandbox) -> str:
    return sandbox.store.add_org(name="Acme IT")


@pytest.fixture
def books(sandbox, organization) -> Books:
    return Books(sandbox, organization)
