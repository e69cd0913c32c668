"""The dashboard home as a finance person sees it: tiles, three labelled charts, a drill.

The partner has the demo's year of history (arbridge.metrics.demo), so the
charts have a story to draw; the screenshot is what ARBRIDGE_SCREENSHOT_DIR
keeps to look at.
"""

import pytest
from playwright.sync_api import Page, expect

from arbridge.metrics.demo import seed_demo
from tests.conftest import PASSWORD
from tests.e2e.test_invoice_list import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def history(partner) -> None:
    seed_demo(partner)


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_home_draws_labelled_charts_and_drills_to_invoices(
    page: Page, live_server, alice, history
):
    sign_in(page, f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("tile-dso")).to_contain_text("days")

    charts = {
        "chart-dso": ["DSO trend (USD)", "Countback DSO", "Simple DSO (90 days)", "Auto pay on"],
        "chart-aging": ["Aging (USD)", "All customers", "Current", "Over 90 days"],
        "chart-flows": ["Invoiced and collected (USD)", "Invoiced", "Collected"],
    }
    for testid, labels in charts.items():
        chart = page.get_by_test_id(testid)
        expect(chart).to_be_visible()
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        # Drawn at a readable size, inside the window.
        assert box["width"] > 400 and box["height"] > 150 and box["x"] + box["width"] <= 1366
        for label in labels:
            assert label in chart.inner_html(), (testid, label)
        # An axis has its labels: twelve months, or the bars' customers.
        assert chart.locator("text.x-label").count() >= 5
    expect(page.get_by_test_id("chart-dso").locator("circle.point")).to_have_count(24)
    assert len(page.screenshot(full_page=True)) > 20_000
    screenshot(page, "metrics-home")

    # Click the 90+ segment of the "All customers" bar: the invoices behind it.
    page.get_by_test_id("chart-aging").locator('a[href*="/reports/aging/90+/"] rect').first.click()
    expect(page.get_by_role("heading", name="Invoices behind the figure")).to_be_visible()
    expect(page.get_by_test_id("drill-filters")).to_contain_text("Over 90 days past due")
    expect(page.get_by_test_id("drill-invoices").locator("tbody tr").first).to_be_visible()
    screenshot(page, "metrics-drill")
