"""Fixtures for the job tests: a vendor on loopback HTTP and a connection to it."""

import datetime as dt

import pytest

from arbridge.core.models import Connection
from tests.integrations.vendor import TOKEN, LoopbackServer, Vendor

# Kinds the tests register: one connector that works, one whose module is not built.
TEST_CONNECTORS = {
    "fakevendor": "tests.integrations.vendor.FakeVendorConnector",
    "unbuilt": "tests.integrations.not_built.Connector",
}
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def loopback():
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture
def vendor(loopback) -> Vendor:
    loopback.vendor = Vendor()
    yield loopback.vendor
    loopback.vendor.release.set()


@pytest.fixture
def test_connectors(settings) -> None:
    settings.EXTRA_CONNECTORS = {**settings.EXTRA_CONNECTORS, **TEST_CONNECTORS}


@pytest.fixture
def connection(partner, loopback, vendor, test_connectors) -> Connection:
    return Connection.objects.create(
        partner=partner,
        kind="fakevendor",
        name="Fake Books",
        status=Connection.Status.CONNECTED,
        credentials={"base_url": loopback.url, "token": TOKEN},
    )


@pytest.fixture
def unbuilt_connection(partner, test_connectors) -> Connection:
    return Connection.objects.create(
        partner=partner,
        kind="unbuilt",
        name="Unbuilt Books",
        status=Connection.Status.CONNECTED,
        credentials={"base_url": "http://127.0.0.1:9"},
    )


@pytest.fixture
def clock(time_machine):
    """Stop the clock at START; tests move it with clock.shift()."""
    time_machine.move_to(START, tick=False)
    return time_machine
