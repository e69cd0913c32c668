"""Every figure, page and API answer holds only the asking partner's rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from arbridge.core.models import ApiKey
from arbridge.metrics import figures, history
from arbridge.metrics.figures import Period

WHOLE = Period(dt.date(2024, 1, 1), dt.date(2025, 4, 15))


def test_every_figure_of_the_other_partner_leaves_acme_out(
    book, written_back, other_partner, today
):
    # The other partner has one USD invoice, X: 5,000.00, 100 days late, nothing paid.
    assert figures.outstanding(other_partner) == {"USD": Decimal("5000.00")}
    aging = figures.aging(other_partner)["USD"]
    assert aging.amounts["90+"] == Decimal("5000.00") and aging.count == 1
    assert [r.customer_name for r in figures.aging_by_customer(other_partner)] == ["Outsider"]
    assert figures.overdue(other_partner)["USD"].rate == Decimal("100.0")
    assert history.dso(other_partner)["USD"].owed == Decimal("5000.00")
    flows = history.flow(other_partner, WHOLE)
    assert list(flows) == ["USD"] and flows["USD"].collected == Decimal("0")
    assert flows["USD"].invoiced == Decimal("5000.00")
    theirs = history.read(other_partner, WHOLE.start)
    assert theirs.methods(WHOLE) == []
    assert theirs.days_to_pay("USD", WHOLE) is None
    assert figures.attention(other_partner).unmatched == {}
    assert figures.reclaimed(other_partner, WHOLE, 5).entries == 1
    assert history.read(other_partner, WHOLE.start).owed("USD", dt.date(2024, 12, 31)) == 0
    assert figures.live_since(other_partner) == today


def test_the_home_page_and_reports_of_another_partner_show_none_of_acmes(
    client, charlie, book, today
):
    client.force_login(charlie)
    for url in [
        reverse("dashboard:overview"),
        reverse("metrics:aging"),
        reverse("metrics:bucket", args=["current"]),
        reverse("metrics:invoices") + "?issued_from=2024-01-01",
    ]:
        html = client.get(url).content.decode()
        assert "Globex" not in html and "Initech" not in html, url
        assert "2,400.00" not in html, url


def test_a_drill_naming_acmes_customer_is_not_found_for_another(client, charlie, book):
    client.force_login(charlie)
    url = reverse("metrics:bucket", args=["current"]) + f"?customer={book['A'].customer_id}"
    assert client.get(url).status_code == 404


def test_the_api_figures_of_another_partner(charlie, other_partner, book, today):
    _, raw = ApiKey.issue(other_partner, "theirs", created_by=charlie)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    body = api.get("/api/v1/figures").json()
    assert [(c["currency"], c["outstanding"]) for c in body["currencies"]] == [("USD", "5000.00")]
    rows = api.get("/api/v1/figures/aging").json()["items"]
    assert [r["customer_name"] for r in rows] == ["Outsider"]
    series = api.get("/api/v1/figures/series?count=2").json()["series"]
    assert [s["currency"] for s in series] == ["USD"]


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_members_of_acme_see_acmes_home(client, request, user, book, today):
    client.force_login(request.getfixturevalue(user))
    assert "Globex" in client.get(reverse("metrics:aging")).content.decode()
