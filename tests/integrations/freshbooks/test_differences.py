"""FreshBooks' column of the differences page, drawn from its connector's Capabilities."""

import pytest

from tests.dashboard.test_psa_differences import column, row

pytestmark = pytest.mark.django_db


def test_freshbooks_column_says_what_the_seeds_say(client, alice):
    client.force_login(alice)
    page = client.get("/integrations/differences/").content.decode()
    freshbooks = column(page, "FreshBooks")

    assert row(page, "Invoice Details")[freshbooks] == "Real Time"
    assert row(page, "Payments")[freshbooks] == "Real Time"
    assert row(page, "Native PDF")[freshbooks] == "No"  # "Does not support native PDF sync"
    assert row(page, "Records deposits")[freshbooks] == "No"
    assert row(page, "Contacts synced")[freshbooks] == "Billing contacts only"
