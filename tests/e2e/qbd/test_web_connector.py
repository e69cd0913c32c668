"""Connect QuickBooks Desktop, download the .qwc file, and watch the first poll arrive."""

from decimal import Decimal

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from arbridge.core.models import Connection
from arbridge.sandbox.qbd import Company, Processor, WebConnector
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
WEB_CONNECTOR_PASSWORD = "the web connector's password"


def test_connect_download_the_qwc_file_and_see_the_first_poll(page: Page, live_server, alice):
    page.goto(f"{live_server.url}/connections/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Connect QuickBooks Desktop").click()
    page.get_by_label("Web Connector password").fill(WEB_CONNECTOR_PASSWORD)
    page.get_by_role("button", name="Connect").click()

    section = page.locator("#web-connector")
    expect(section).to_contain_text("Last poll")
    expect(section).to_contain_text("Never")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the .qwc file").click()
    qwc = open(download.value.path()).read()  # noqa: SIM115 - read once
    username = Connection.objects.get(kind="qbd").remote_account
    assert f"<UserName>{username}</UserName>" in qwc

    # The PC: the file added to its Web Connector, the password typed, a poll.
    company = Company()
    company.add_invoice(company.add_customer("Globex"), [("Managed services", Decimal("150.00"))])
    # The file names arbridge's BASE_URL; the test's server listens elsewhere.
    url = qwc.split("<AppURL>")[1].split("</AppURL>")[0].replace(settings.BASE_URL, live_server.url)
    with httpx.Client(timeout=30) as http:
        poll = WebConnector(http, url, username, WEB_CONNECTOR_PASSWORD, Processor(company)).poll()
    assert poll.outcome == "done"

    page.reload()
    expect(section).not_to_contain_text("Never")
    expect(section).to_contain_text("Nothing")
    page.goto(f"{live_server.url}/invoices/")
    expect(page.locator("#invoice-table")).to_contain_text("Globex")
