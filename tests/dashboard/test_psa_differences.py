"""The differences page: the product document's table, drawn from the connectors' Capabilities."""

import re
from typing import ClassVar

import pytest

from arbridge.connectors.base import Capabilities, ContactScope, Frequency, Item
from arbridge.integrations import registry

pytestmark = pytest.mark.django_db


class Ledgerly:
    """A connector registered only for this test, to see the page follow its Capabilities."""

    kind: ClassVar[str] = "ledgerly"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={Item.INVOICE_DETAILS: Frequency.DAILY, Item.PAYMENTS: Frequency.HOURLY},
        native_pdf=True,
        deposits=True,
        archive_on_source_delete=True,
        contact_scope=ContactScope.ALL,
    )


@pytest.fixture
def page(client, alice, settings) -> str:
    settings.EXTRA_CONNECTORS = {"ledgerly": f"{__name__}.Ledgerly"}
    client.force_login(alice)
    response = client.get("/integrations/differences/")
    assert response.status_code == 200
    return response.content.decode()


def row(page: str, label: str) -> list[str]:
    """Return the cells of a row of the table, in the columns' order."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page, re.S)
    assert match, f"no row {label!r}"
    return re.findall(r"<td>(.*?)</td>", match.group(1), re.S)


def column(page: str, name: str) -> int:
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    names = re.findall(r"<th>(.*?)</th>", header)
    return names.index(name) - 1  # less the items' column


def test_halopsa_shows_both_frequencies_and_the_version_note(page):
    halo = column(page, "HaloPSA")

    assert row(page, "Invoice Details")[halo] == "Hourly/Real Time*"
    assert row(page, "Customers")[halo] == "Real Time"
    assert row(page, "Deposits")[halo] == "—"
    assert row(page, "Records deposits")[halo] == "No"
    assert row(page, "Native PDF")[halo] == "Yes"
    assert row(page, "Contacts synced")[halo] == "Billing contacts only"
    assert row(page, "Deleted in the source")[halo] == "Left for a person to archive"
    assert "* Real Time from HaloPSA 2.122.1; hourly before it." in page


def test_a_connector_not_yet_built_is_shown_as_such(page):
    unbuilt = [k for k in registry.all_kinds() if k not in registry.built()]
    if not unbuilt:
        pytest.skip("every connector of the registry is built")
    waiting = column(page, registry.display_name(unbuilt[0]))

    assert row(page, "Invoice Details")[waiting] == "Not yet available"
    assert row(page, "Native PDF")[waiting] == "Not yet available"


def test_the_page_follows_a_connectors_capabilities(page):
    ledgerly = column(page, "ledgerly")

    assert row(page, "Invoice Details")[ledgerly] == "Daily"
    assert row(page, "Payments")[ledgerly] == "Hourly"
    assert row(page, "Customers")[ledgerly] == "—"
    assert row(page, "Native PDF")[ledgerly] == "Yes"
    assert row(page, "Records deposits")[ledgerly] == "Yes"
    assert row(page, "Contacts synced")[ledgerly] == "All contacts"
    assert row(page, "Deleted in the source")[ledgerly] == "Archived in arbridge"
