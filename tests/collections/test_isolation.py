"""No collections page shows or changes another partner's rows.

The pages are read from the collections URLconf, so a new page is covered as
soon as it is routed: one with an id must be given one of Acme's rows in
`acme_ids`.
"""

import pytest
from django.urls import reverse

from arbridge.collections import urls
from arbridge.collections.models import (
    CustomerPolicy,
    Note,
    ReminderEmail,
    Sequence,
    Step,
)
from arbridge.ledger.models import Customer
from tests.collections.conftest import make_invoice

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

PUBLIC = ("unsubscribe",)
PAGES_WITH_IDS = {
    p.name: sorted(p.pattern.converters)
    for p in urls.urlpatterns
    if p.pattern.converters and p.name not in PUBLIC
}
LIST_PAGES = [p.name for p in urls.urlpatterns if not p.pattern.converters]
ACTIONS = ("create_sequence",)
ACME_MARKERS = ["Acme IT", "INV-1001", "Globex", "Acme gentle", "hank@globex.example"]


@pytest.fixture
def acme_ids(partner, globex, overdue, day) -> dict[str, int]:
    day(3)  # a reminder went
    sequence = Sequence.objects.create(partner=partner, name="Acme gentle")
    step = Step.objects.create(
        partner=partner,
        sequence=sequence,
        offset_days=5,
        subject_template="Acme gentle nudge",
        body_template="Hello",
    )
    CustomerPolicy.for_customer(globex)
    Note.objects.create(partner=partner, customer=globex, text="Acme's own note")
    return {"customer_id": globex.pk, "sequence_id": sequence.pk, "step_id": step.pk}


def acme_state(partner) -> tuple:
    return (
        list(CustomerPolicy.objects.values_list("paused", "sequence_id")),
        Note.objects.count(),
        ReminderEmail.objects.count(),
        list(Sequence.objects.filter(partner=partner).values_list("name", "is_default")),
        list(Step.objects.filter(partner=partner).values_list("offset_days", "subject_template")),
    )


def test_every_page_with_an_id_is_covered():
    assert {"customer", "send_now", "pause", "sequence", "step", "delete_step"} <= set(
        PAGES_WITH_IDS
    )


@pytest.mark.parametrize("name", PAGES_WITH_IDS)
def test_another_partners_id_gives_404(client, alice, charlie, acme_ids, partner, inbox, name):
    params = PAGES_WITH_IDS[name]
    if missing := set(params) - acme_ids.keys():
        pytest.fail(f"give acme_ids one of Acme's rows for {sorted(missing)}")
    url = reverse(f"collections:{name}", kwargs={p: acme_ids[p] for p in params})
    before, sent = acme_state(partner), len(inbox.messages)

    client.force_login(charlie)
    statuses = {
        method: client.generic(method, url, "sequence=&text=x&offset_days=9").status_code
        for method in ("GET", "POST")
    }
    assert 404 in statuses.values() and set(statuses.values()) <= {404, 405}, statuses
    assert acme_state(partner) == before and len(inbox.messages) == sent

    # The same URL is a real page for Acme's owner, so the 404 above is not a typo.
    client.force_login(alice)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("name", LIST_PAGES)
def test_list_pages_show_none_of_another_partners_rows(client, charlie, acme_ids, name):
    client.force_login(charlie)
    if name in ACTIONS:
        response = client.post(reverse(f"collections:{name}"), {"name": "Charlie's"})
        response = client.get(response["Location"])
    else:
        response = client.get(reverse(f"collections:{name}"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Other MSP" in page
    for marker in ACME_MARKERS:
        assert marker not in page


def test_charlie_sees_his_own_worklist_not_acmes(client, charlie, other_partner, acme_ids):
    initech = Customer.objects.create(partner=other_partner, name="Initech")
    make_invoice(initech, "INV-9001", "10.00")
    client.force_login(charlie)

    page = client.get(reverse("collections:worklist")).content.decode()

    assert "Initech" in page and "Globex" not in page


def test_an_invoice_page_shows_only_its_own_reminders(client, alice, charlie, acme_ids, overdue):
    client.force_login(alice)
    page = client.get(reverse("dashboard:invoice", args=[overdue.pk])).content.decode()
    assert "T+3" in page.split('data-testid="reminder-activity"')[1]

    client.force_login(charlie)
    assert client.get(reverse("dashboard:invoice", args=[overdue.pk])).status_code == 404
