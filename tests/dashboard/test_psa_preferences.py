# ruff: noqa: F811 (the fixtures imported from tests.integrations.psa are parameters here)
"""A HaloPSA connection's preferences: the agreement types whose invoices sync."""

import pytest

from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Invoice
from tests.integrations.psa.conftest import (  # noqa: F401
    fresh_limiters,
    halo,
    halo_sandbox,
    halo_url,
    halo_version,
    halopsa,
    psa_server,
    sync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def synced_invoices(connection) -> set[str]:
    """Return the HaloPSA ids of the invoices arbridge holds from the connection."""
    refs = ExternalRef.objects.for_partner(connection.partner).filter(
        connection=connection, entity=ExternalRef.Entity.INVOICE
    )
    return set(refs.values_list("remote_id", flat=True))


def test_every_agreement_type_syncs_by_default(alice_client, halopsa):
    response = alice_client.get(f"/integrations/{halopsa.pk}/preferences/")

    assert response.status_code == 200
    assert "Agreement types that sync" in response.content.decode()
    assert halopsa.preferences.get("agreement_subtypes", []) == []


def test_invoices_of_an_excluded_type_never_enter_arbridge(alice_client, halopsa, halo, sync):
    response = alice_client.post(
        f"/integrations/{halopsa.pk}/preferences/",
        {"agreement_subtypes": "Managed Services,  project , managed services"},
    )
    assert response.status_code == 302
    halopsa.refresh_from_db()
    assert halopsa.preferences["agreement_subtypes"] == ["Managed Services", "project"]
    bluebird = halo.client("Bluebird Dental")
    managed = halo.invoice(bluebird, agreement=halo.agreement(bluebird, "Managed Services"))
    project = halo.invoice(bluebird, agreement=halo.agreement(bluebird, "Project"))
    break_fix = halo.invoice(bluebird, agreement=halo.agreement(bluebird, "Break-Fix"))

    sync(halopsa)

    assert synced_invoices(halopsa) == {str(managed["id"]), str(project["id"])}
    assert str(break_fix["id"]) not in synced_invoices(halopsa)
    assert Invoice.objects.for_partner(halopsa.partner).count() == 2


def test_emptying_the_list_syncs_every_type_again(alice_client, halopsa, halo, sync):
    halopsa.set_preferences({"agreement_subtypes": ["Project"]})

    response = alice_client.post(
        f"/integrations/{halopsa.pk}/preferences/", {"agreement_subtypes": ""}
    )

    assert response.status_code == 302
    halopsa.refresh_from_db()
    assert halopsa.preferences["agreement_subtypes"] == []
    bluebird = halo.client("Bluebird Dental")
    break_fix = halo.invoice(bluebird, agreement=halo.agreement(bluebird, "Break-Fix"))
    sync(halopsa)
    assert synced_invoices(halopsa) == {str(break_fix["id"])}


def test_another_partners_connection_is_not_found(client, charlie, halopsa):
    client.force_login(charlie)

    response = client.post(
        f"/integrations/{halopsa.pk}/preferences/", {"agreement_subtypes": "Project"}
    )

    assert response.status_code == 404
    halopsa.refresh_from_db()
    assert halopsa.preferences.get("agreement_subtypes", []) == []
