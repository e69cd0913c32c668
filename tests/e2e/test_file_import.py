"""Import a billing export in Chromium: columns chosen once, a bad file refused, a good one in."""

import pytest
from playwright.sync_api import Page, expect

from arbridge.core.models import Connection
from arbridge.ledger.models import Invoice
from arbridge.sandbox.datagate.exports import seed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_partner_maps_an_export_sees_its_row_errors_then_imports_it(
    page: Page, live_server, alice, partner, tmp_path
):
    connection = Connection.objects.create(
        partner=partner, kind="datagate", status=Connection.Status.CONNECTED
    )
    account = seed(customers=2, invoices=3)
    good = account.export()
    lines = good.decode("utf-8-sig").splitlines()
    lines[3] = lines[3].replace("2026-12-01", "Dec 1st")
    (tmp_path / "bad.csv").write_text("\r\n".join(lines))
    (tmp_path / "good.csv").write_bytes(good)

    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Import files").click()
    page.get_by_label("Export file").set_input_files(tmp_path / "bad.csv")
    page.get_by_role("button", name="Upload").click()

    # The first file: arbridge proposes its columns, the partner confirms them.
    expect(page.get_by_label("Invoice number")).to_have_value("Invoice Number")
    page.get_by_role("button", name="Save columns and check the file").click()
    expect(page.locator(".file-status")).to_have_text("Refused: nothing imported")
    errors = page.locator("table.row-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("4")
    expect(errors.first).to_contain_text("“Dec 1st” is not a date")
    assert not Invoice.objects.exists()

    page.get_by_role("link", name="Files").click()
    page.get_by_label("Export file").set_input_files(tmp_path / "good.csv")
    page.get_by_role("button", name="Upload").click()

    # The saved columns fit: checked and imported at once.
    expect(page.locator(".file-status")).to_have_text("Imported")
    page.goto(f"{live_server.url}/invoices/")
    for number in account.invoices:
        expect(page.get_by_role("link", name=number)).to_be_visible()
