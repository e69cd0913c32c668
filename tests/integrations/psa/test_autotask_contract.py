"""Autotask through the Django-side contract: connected with the form's credentials."""

from decimal import Decimal

import pytest

from arbridge.connectors.autotask.connector import Credentials
from arbridge.connectors.autotask.mapping import notes
from arbridge.core.models import Connection
from arbridge.integrations import credentials
from arbridge.sandbox.autotask import Store, create_app
from arbridge.sandbox.autotask.app import INTEGRATION_CODE, SECRET, USERNAME
from tests.integrations.contract import DjangoContract
from tests.loopback import Loopback
from tests.sandbox.autotask.api import Autotask as Person


@pytest.fixture(scope="module")
def autotask_server():
    server = Loopback()
    yield server
    server.stop()


class TestAutotask(DjangoContract):
    @pytest.fixture
    def sandbox(self, autotask_server, settings):
        app = create_app(Store())
        autotask_server.app = app
        # Where Autotask says which zone serves a user: ARBRIDGE_AUTOTASK_API_BASE.
        settings.AUTOTASK_API_BASE = autotask_server.url
        return app

    @pytest.fixture
    def connected(self, partner, sandbox):
        connection = Connection(partner=partner, kind="autotask")
        typed = Credentials(username=USERNAME, secret=SECRET, integration_code=INTEGRATION_CODE)
        credentials.connect(connection, typed)
        return connection

    @pytest.fixture
    def books(self, sandbox):
        return Person(sandbox)

    def bill(self, books, customer: str, amount: str) -> str:
        return str(books.invoice(books.company(customer), amount)["id"])

    def paid(self, books, remote_id: str) -> list[Decimal]:
        invoice = books.get("Invoices", int(remote_id)) or {}
        return list(notes(invoice.get("comments")).values())
