"""The home page's tiles and charts, the aging report, and drilling to the invoices behind them."""

import re

from django.urls import reverse

from arbridge.metrics.models import MetricsSettings
from tests.metrics.conftest import pay


def page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_home_shows_the_figures_as_tiles(client, alice, book, written_back, today):
    html = page(client, alice, reverse("dashboard:overview"))
    assert '<span class="stat-value" data-testid="open-invoices">5</span>' in html
    assert '<span class="stat-value" data-testid="overdue-invoices">3</span>' in html
    assert "2,400.00 USD" in html and "250.00 EUR" in html
    tile = re.search(r'data-testid="tile-dso">(.*?)</div>', html, re.S).group(1)
    assert "85.6 days" in tile and "simple: 102.9 days" in tile
    assert "75.0%" in re.search(r'data-testid="tile-overdue-rate".*?</a>', html, re.S).group(0)
    # 4 written back x 5 minutes (the default) = 0.3 h.
    assert "0.3 h" in html
    assert "Countback DSO" in html and "How these figures are worked out" in html


def test_home_draws_three_labelled_charts_without_scripts(client, alice, book, today):
    html = page(client, alice, reverse("dashboard:overview"))
    for testid, title in [
        ("chart-dso", "DSO trend (USD)"),
        ("chart-aging", "Aging (USD)"),
        ("chart-flows", "Invoiced and collected (USD)"),
    ]:
        svg = re.search(rf'<svg[^>]*data-testid="{testid}".*?</svg>', html, re.S).group(0)
        assert f"<title>{title}" in svg
    assert '<script src="http' not in html


def test_the_currency_switch_redraws_in_euros(client, alice, book, today):
    html = page(client, alice, reverse("dashboard:overview") + "?currency=EUR")
    assert "Aging (EUR)" in html
    assert "Aging (USD)" not in html


def test_a_bucket_segment_links_to_its_invoices(client, alice, book, today):
    html = page(client, alice, reverse("dashboard:overview"))
    link = re.search(r'<a href="(/reports/aging/31-60/\?currency=USD)">', html).group(1)
    drilled = page(client, alice, link.replace("&amp;", "&"))
    rows = re.search(r'data-testid="drill-invoices".*?</table>', drilled, re.S).group(0)
    assert ">C</a>" in rows
    assert ">A</a>" not in rows and ">B</a>" not in rows
    assert "31–60 days past due" in drilled


def test_a_month_bar_links_to_the_invoices_issued_then(client, alice, book, today):
    url = reverse("metrics:invoices") + "?currency=USD&issued_from=2025-03-01&issued_to=2025-03-31"
    rows = re.findall(r'/invoices/\d+/">(\w+)</a>', page(client, alice, url))
    # V (void) and R (archived) were issued in March too, but never count.
    assert rows == ["B"]


def test_a_dso_point_links_to_what_was_owed_that_day(client, alice, book, today):
    url = reverse("metrics:invoices") + "?currency=USD&open_on=2025-03-10"
    rows = sorted(re.findall(r'/invoices/\d+/">(\w+)</a>', page(client, alice, url)))
    # G was paid on March 13, so it was still owed on the 10th.
    assert rows == ["B", "C", "D", "G"]


def test_the_aging_report_per_customer(client, alice, book, today):
    html = page(client, alice, reverse("metrics:aging"))
    table = re.search(r'data-testid="aging-report".*?</table>', html, re.S).group(0)
    assert table.index("Initech") > table.index("Globex")  # Globex owes more
    assert "1,100.00 USD" in table and "1,300.00 USD" in table and "2,400.00 USD" in table


def test_report_settings_change_the_minutes_per_entry(client, alice, bob, partner, today):
    client.force_login(alice)
    response = client.post(reverse("metrics:settings"), {"minutes_per_entry": "12"})
    assert response.status_code == 302
    assert MetricsSettings.of(partner).minutes_per_entry == 12
    client.force_login(bob)  # finance, not an admin
    assert client.get(reverse("metrics:settings")).status_code == 403


def test_an_unknown_bucket_is_not_found(client, alice, book):
    client.force_login(alice)
    assert client.get("/reports/aging/91-120/").status_code == 404


def test_a_payment_shows_on_the_home_page_at_once(client, alice, book, today):
    before = page(client, alice, reverse("dashboard:overview"))
    assert "2,400.00 USD" in before
    pay(book["A"], "1000.00", today)
    after = page(client, alice, reverse("dashboard:overview"))
    assert "1,400.00 USD" in after and "2,400.00 USD" not in after
