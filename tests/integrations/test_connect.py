import httpx
import pytest

from arbridge.core.models import Connection
from arbridge.integrations.connect import build_connector, http_client
from tests.integrations.vendor import FakeVendorConnector


def test_it_builds_the_connector_configured_from_the_connection(connection):
    connection.remote_account = "realm-42"

    with httpx.Client() as http:
        connector = build_connector(connection, http)

    assert isinstance(connector, FakeVendorConnector)
    assert connector.http is http
    assert connector.config.base_url == connection.credentials["base_url"]
    assert connector.config.credentials == connection.credentials
    assert connector.config.remote_account == "realm-42"


def test_the_built_connector_reaches_the_vendor(connection, vendor):
    vendor.customers = [{"id": "C1", "name": "Globex"}]

    with http_client() as http:
        changes = list(build_connector(connection, http).pull(None))

    assert [(change.remote_id, change.record.name) for change in changes] == [("C1", "Globex")]


def test_an_unknown_kind_is_a_lookup_error(partner):
    connection = Connection.objects.create(partner=partner, kind="nosuchvendor")

    with pytest.raises(LookupError):
        build_connector(connection)


def test_an_unbuilt_connector_is_an_import_error(unbuilt_connection):
    with pytest.raises(ImportError):
        build_connector(unbuilt_connection)
