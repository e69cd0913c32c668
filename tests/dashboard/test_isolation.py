"""No dashboard page shows or changes another partner's rows.

The pages are read from the URLconf, so a new page is covered as soon as it
is routed: one with an id must be given one of Acme's rows in `acme_ids`.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from arbridge.autopay.models import Rule
from arbridge.dashboard import urls
from arbridge.hooks.models import Delivery, Endpoint, Event, new_secret
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.payments.models import UnmatchedFunds

# Connecting sends the browser to the vendor and back, by kind, not by a row's id:
# test_qbo_connect.py and test_psa_connect.py cover them.
OAUTH_STEPS = ("connect", "oauth_callback")
PAGES_WITH_IDS = {
    p.name: sorted(p.pattern.converters)
    for p in urls.urlpatterns
    if p.pattern.converters and p.name not in OAUTH_STEPS
}
LIST_PAGES = [
    p.name
    for p in urls.urlpatterns
    if not p.pattern.converters and p.name not in ("login", "logout", *OAUTH_STEPS)
]
# Pages that only take a form (POST) and fragments htmx loads into a page.
ACTIONS = ("sync_selected", "use_sandbox", "use_stripe", "autopay_settings")
FRAGMENTS = ("unmatched_badge",)
# Acme's data as it appears on its pages; none of it may reach charlie.
ACME_MARKERS = ["Acme IT", "INV-1001", "Globex", "Customer 77", "Reporting", "1337"]


@pytest.fixture
def acme_ids(partner, connection, customer, invoice, exception_item, api_key) -> dict[str, int]:
    endpoint = Endpoint.objects.create(
        partner=partner, url="https://acme.example/hooks", events=["invoice.paid"],
        secrets={"current": new_secret()},
    )  # fmt: skip
    funds = UnmatchedFunds.objects.create(
        partner=partner, reference="fu_1337", amount=Decimal("1337.00"), memo="Globex wire"
    )
    return {
        "payment_id": invoice.allocations.get().payment_id,
        "funds_id": funds.pk,
        "partner_id": partner.pk,
        "connection_id": connection.pk,
        "customer_id": customer.pk,
        "invoice_id": invoice.pk,
        "exception_id": exception_item.pk,
        "key_id": api_key.pk,
        "rule_id": Rule.objects.create(partner=partner, days=4).pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": Delivery.objects.create(
            partner=partner,
            endpoint=endpoint,
            event=Event.objects.create(partner=partner, key="k", type="invoice.paid", data={}),
        ).pk,
    }


def acme_state(exception_item, api_key) -> tuple:
    exception_item.refresh_from_db()
    api_key.refresh_from_db()
    return exception_item.status, api_key.revoked_at, SyncRun.objects.count()


def request_each_method(client, url: str) -> dict[str, int]:
    return {method: client.generic(method, url).status_code for method in ("GET", "POST")}


def test_every_page_with_an_id_is_covered():
    assert {
        "invoice",
        "customer",
        "exception",
        "sync_now",
        "revoke_api_key",
    } <= PAGES_WITH_IDS.keys()


@pytest.mark.parametrize("name", PAGES_WITH_IDS)
def test_another_partners_id_gives_404(
    client, alice, charlie, acme_ids, exception_item, api_key, name
):
    params = PAGES_WITH_IDS[name]
    if missing := set(params) - acme_ids.keys():
        pytest.fail(f"give acme_ids one of Acme's rows for {sorted(missing)}")
    url = reverse(f"dashboard:{name}", kwargs={p: acme_ids[p] for p in params})
    before = acme_state(exception_item, api_key)

    client.force_login(charlie)
    statuses = request_each_method(client, url)
    # Each view answers 404 to the method it serves, 405 to the other.
    assert 404 in statuses.values() and set(statuses.values()) <= {404, 405}, statuses
    assert acme_state(exception_item, api_key) == before
    assert client.session.get("partner_id") in (None, charlie.memberships.get().partner_id)

    # The same URL is a real page for Acme's owner, so the 404 above is not a typo.
    client.force_login(alice)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("name", LIST_PAGES)
def test_list_pages_show_none_of_another_partners_rows(client, charlie, acme_ids, sync_run, name):
    queries = {
        "invoices": {"q": "INV"},
        "customers": {"archived": "all"},
        "exceptions": {"status": "all"},
        "sync_runs": {"connection": acme_ids["connection_id"]},
    }
    client.force_login(charlie)
    if name in ACTIONS:
        response = client.post(reverse(f"dashboard:{name}"), {"invoice": acme_ids["invoice_id"]})
    else:
        response = client.get(reverse(f"dashboard:{name}"), queries.get(name, {}))
        assert response.status_code == 200
    page = response.content.decode()
    if name not in ACTIONS + FRAGMENTS:
        assert "Other MSP" in page
    for marker in ACME_MARKERS:
        assert marker not in page


def test_charlie_sees_his_own_exceptions_not_acmes(client, charlie, exception_item):
    ExceptionItem.objects.create(
        partner=charlie.memberships.get().partner,
        kind=ExceptionItem.Kind.OTHER,
        title="Charlie's own problem",
    )
    client.force_login(charlie)
    page = client.get(reverse("dashboard:exceptions")).content.decode()
    assert "Charlie&#x27;s own problem" in page
    assert exception_item.title not in page
