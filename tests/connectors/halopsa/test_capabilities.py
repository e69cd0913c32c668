"""What HaloPSA syncs and how often: seeds/halopsa.md's table, and the 2.122.1 version gate."""

import pytest

from arbridge.connectors.base import ContactScope, Frequency, Item
from arbridge.connectors.halopsa import HaloPSA
from tests.sandbox.halopsa.api import control

RT, HOURLY, NONE = Frequency.REAL_TIME, Frequency.HOURLY, Frequency.NONE

# One row per line of the product document's table: (item, before 2.122.1, from 2.122.1).
TABLE = [
    (Item.INVOICE_DETAILS, HOURLY, RT),
    (Item.INVOICE_LINES, HOURLY, RT),
    (Item.CUSTOMERS, RT, RT),
    (Item.PAYMENTS, RT, RT),
    (Item.DEPOSITS, NONE, NONE),
    (Item.ARCHIVE_INVOICES, HOURLY, RT),
    (Item.ARCHIVE_CUSTOMERS, RT, RT),
    (Item.DELETE_PAYMENTS, RT, RT),
    (Item.PDF_INVOICES, HOURLY, RT),
]


@pytest.mark.parametrize(("item", "before", "from_gate"), TABLE)
def test_each_item_syncs_as_the_table_says_on_both_sides_of_2_122_1(item, before, from_gate):
    capabilities = HaloPSA.capabilities

    assert capabilities.frequency(item, "2.122.0") == before
    assert capabilities.frequency(item, "2.121.15") == before
    assert capabilities.frequency(item, "2.122.1") == from_gate
    assert capabilities.frequency(item, "2.184.7") == from_gate


def test_the_table_covers_every_item():
    assert [row[0] for row in TABLE] == list(Item)


def test_the_rest_of_what_the_differences_page_shows():
    capabilities = HaloPSA.capabilities

    assert capabilities.category == "psa"
    assert capabilities.native_pdf
    assert not capabilities.deposits
    assert not capabilities.archive_on_source_delete
    assert capabilities.contact_scope == ContactScope.BILLING
    assert capabilities.min_version_for_real_time == "2.122.1"


@pytest.mark.parametrize(
    ("version", "invoices"), [("2.121.3", HOURLY), ("2.122.1", RT), ("2.190.2", RT)]
)
def test_the_instances_version_is_read_from_halo(sandbox, connector, version, invoices):
    control(sandbox).put("/_sandbox/tenants/sandbox", json={"version": version})

    detected = connector.detect_version()

    assert detected == version
    assert connector.capabilities.frequency(Item.INVOICE_DETAILS, detected) == invoices
    assert connector.capabilities.frequency(Item.CUSTOMERS, detected) == RT
