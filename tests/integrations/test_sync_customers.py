"""Customers and contacts from a source: updates, deletes by capability, billing contacts."""

from arbridge.core.models import Connection
from arbridge.integrations.models import ExceptionItem
from arbridge.integrations.sync import apply_change
from arbridge.ledger.models import Contact, Customer
from tests.integrations.test_sync_run import contact, customer, deleted, to_change
from tests.integrations.test_sync_run import halo as halo  # noqa: F401 (fixtures)
from tests.integrations.test_sync_run import qbo as qbo  # noqa: F401
from tests.integrations.test_sync_run import scripted as scripted  # noqa: F401


def apply(connection: Connection, entity: str, payload) -> str:
    return apply_change(connection, to_change(entity, payload))


def test_a_customer_is_created_then_updated(qbo):
    assert apply(qbo, "customer", customer("1")) == "created"
    assert apply(qbo, "customer", customer("1")) == "unchanged"

    renamed = customer("1", "Bluebird Family Dental", version="1")
    renamed["PrimaryEmailAddr"] = {"Address": "ap@bluebird.example"}
    assert apply(qbo, "customer", renamed) == "updated"

    found = Customer.objects.get()
    assert (found.name, found.email, found.partner) == (
        "Bluebird Family Dental",
        "ap@bluebird.example",
        qbo.partner,
    )


def test_deleted_in_qbo_archives_the_customer(qbo):
    apply(qbo, "customer", customer("1"))

    assert apply(qbo, "customer", deleted("1")) == "deleted"

    found = Customer.objects.get()
    assert found.archived and found.source_deleted_at is not None


def test_deleted_in_halo_leaves_the_customer_for_a_person_to_archive(halo):
    apply(halo, "customer", customer("1"))

    assert apply(halo, "customer", deleted("1")) == "deleted"

    found = Customer.objects.get()
    assert not found.archived
    assert found.source_deleted_at is not None


def test_a_customer_with_a_bad_email_is_quarantined(qbo):
    bad = customer("1", PrimaryEmailAddr={"Address": "accounts@"})

    assert apply(qbo, "customer", bad) == "error"

    assert not Customer.objects.exists()
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.MALFORMED_RECORD
    assert "accounts@" in item.reason and "accounts@" in item.raw_payload


def test_halo_keeps_billing_contacts_only(halo):
    apply(halo, "customer", customer("1"))

    assert apply(halo, "contact", contact("5", "1", "ap@bluebird.example")) == "created"
    assert apply(halo, "contact", contact("6", "1", "dr@bluebird.example", billing=False)) == (
        "unchanged"
    )

    assert list(Contact.objects.values_list("email", "is_billing")) == [
        ("ap@bluebird.example", True)
    ]


def test_a_contact_that_stops_being_billing_is_removed(halo):
    apply(halo, "customer", customer("1"))
    apply(halo, "contact", contact("5", "1", "ap@bluebird.example"))

    demoted = contact("5", "1", "ap@bluebird.example", billing=False, version="1")
    assert apply(halo, "contact", demoted) == "deleted"
    assert not Contact.objects.exists()

    # Billing again later: it comes back.
    promoted = contact("5", "1", "ap@bluebird.example", version="2")
    assert apply(halo, "contact", promoted) == "created"
    assert Contact.objects.get().customer.name == "Bluebird Dental"


def test_qbo_keeps_every_contact(qbo):
    apply(qbo, "customer", customer("1"))

    apply(qbo, "contact", contact("6", "1", "dr@bluebird.example", billing=False))

    assert Contact.objects.get().is_billing is False


def test_a_deleted_contact_is_removed(qbo):
    apply(qbo, "customer", customer("1"))
    apply(qbo, "contact", contact("5", "1", "ap@bluebird.example"))

    assert apply(qbo, "contact", deleted("5")) == "deleted"
    assert apply(qbo, "contact", contact("5", "1", "ap@bluebird.example")) == "unchanged"

    assert not Contact.objects.exists()
