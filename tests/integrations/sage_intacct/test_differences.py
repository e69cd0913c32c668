"""Sage Intacct's column of the differences page, drawn from its connector's Capabilities."""

import pytest

from tests.dashboard.test_psa_differences import column, row

pytestmark = pytest.mark.django_db


def test_sage_intacct_column_says_what_the_seeds_say(client, alice):
    client.force_login(alice)
    page = client.get("/integrations/differences/").content.decode()
    intacct = column(page, "Sage Intacct")

    assert row(page, "Invoice Details")[intacct] == "Hourly"  # no webhooks: by schedule
    assert row(page, "Native PDF")[intacct] == "Yes"  # not among the seeds' rendered ones
    assert row(page, "Records deposits")[intacct] == "Yes"
    assert row(page, "Contacts synced")[intacct] == "Billing contacts only"
