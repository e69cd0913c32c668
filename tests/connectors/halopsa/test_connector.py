"""The HaloPSA connector against the sandbox: reading clients, billing contacts and invoices.

A billing person sets up the tenant through the API (tests.sandbox.halopsa.api.Halo);
the connector reads it as arbridge would, a full sync first and then what changed.
"""

from decimal import Decimal

import pytest

from arbridge.connectors.base import Change, Cursor, Op, Rejected
from tests.connectors.halopsa.conftest import connect


def pull(connector, cursor=None) -> tuple[list[Change], dict[str, dict]]:
    """Return what a pull yields: its changes, and the last cursor of each stream."""
    changes, cursors = [], {}
    for item in connector.pull(cursor):
        assert not isinstance(item, Rejected), item.reason
        if isinstance(item, Cursor):
            cursors[item.stream] = dict(item.value)
        else:
            changes.append(item)
    return changes, cursors


def pull_again(connector, cursors: dict[str, dict]) -> list[Change]:
    """Pull each stream from its cursor, as the engine does, and move the cursors on."""
    changes = []
    for stream, value in list(cursors.items()):
        more, moved = pull(connector, Cursor(stream, value))
        changes += more
        cursors.update(moved)
    return changes


def keyed(changes: list[Change]) -> dict[tuple[str, str], Change]:
    return {(change.entity, change.remote_id): change for change in changes}


def ids(changes: list[Change], entity: str) -> list[str]:
    return [change.remote_id for change in changes if change.entity == entity]


@pytest.fixture
def bluebird(halo) -> dict:
    return halo.client("Bluebird Dental", "ap@bluebird.example", main_phonenumber="555-0100")


# -- a full sync ------------------------------------------------------------------


def test_a_full_sync_reads_clients_as_customers(connector, bluebird):
    changes, _ = pull(connector)

    [customer] = [change for change in changes if change.entity == "customer"]
    assert customer.remote_id == str(bluebird["id"])
    assert customer.op == Op.UPSERT
    assert customer.record.name == "Bluebird Dental"
    assert customer.record.email == "ap@bluebird.example"
    assert customer.record.phone == "555-0100"
    assert customer.remote_updated_at is not None


def test_only_billing_contacts_are_read(connector, halo, bluebird):
    ava = halo.user(bluebird, "Ava Chen", "ava@bluebird.example", billing=True)
    halo.user(bluebird, "Ben Diaz", "ben@bluebird.example", billing=False)
    halo.user(bluebird, "Cy Old", "cy@bluebird.example", billing=True, inactive=True)

    changes, _ = pull(connector)

    [contact] = [change for change in changes if change.entity == "contact"]
    assert contact.remote_id == str(ava["id"])
    assert contact.record.customer_remote_id == str(bluebird["id"])
    assert (contact.record.name, contact.record.email) == ("Ava Chen", "ava@bluebird.example")
    assert contact.record.is_billing


def test_invoices_come_with_their_lines_amounts_and_customer(connector, halo, bluebird):
    invoice = halo.invoice(
        bluebird, ("Managed services", 12, "45.00"), ("Project labor", 2, "165.00")
    )

    changes, _ = pull(connector)

    record = keyed(changes)[("invoice", str(invoice["id"]))].record
    assert record.number == invoice["invoicenumber"]
    assert record.customer_remote_id == str(bluebird["id"])
    assert (str(record.issue_date), str(record.due_date)) == ("2026-03-01", "2026-03-31")
    assert (record.total, record.balance) == (Decimal("870.00"), Decimal("870.00"))
    assert [
        (line.description, line.quantity, line.unit_price, line.amount) for line in record.lines
    ] == [
        ("Managed services", Decimal(12), Decimal("45.00"), Decimal("540.00")),
        ("Project labor", Decimal(2), Decimal("165.00"), Decimal("330.00")),
    ]
    assert record.has_pdf


def test_tax_arrives_as_a_line_of_its_own(connector, halo, bluebird):
    invoice = halo.post(
        "Invoice",
        {
            "client_id": bluebird["id"],
            "invoice_date": "2026-03-01",
            "lines": [
                {"item_shortdescription": "Firewall", "unit_price": Decimal("899.00"),
                 "tax_rate": Decimal("8.25")},
            ],
        },
    )  # fmt: skip

    record = keyed(pull(connector)[0])[("invoice", str(invoice["id"]))].record

    assert [line.amount for line in record.lines] == [Decimal("899.00"), Decimal("74.17")]
    assert record.lines[-1].description == "Tax"
    assert sum(line.amount for line in record.lines) == record.total == Decimal("973.17")


def test_an_invoice_without_a_client_belongs_to_the_unknown_customer(connector, halo):
    invoice = halo.invoice(None)

    record = keyed(pull(connector)[0])[("invoice", str(invoice["id"]))].record

    assert record.customer_remote_id is None


def test_payments_and_credits_made_in_halo_reduce_the_balance(connector, halo, bluebird):
    paid_in_part = halo.invoice(bluebird, ("Labor", 2, "165.00"))
    halo.pay(paid_in_part, "100.00")
    credited = halo.invoice(bluebird, ("Labor", 1, "165.00"))
    credit_note = halo.credit(credited, "15.00")

    changes, _ = pull(connector)

    found = keyed(changes)
    assert found[("invoice", str(paid_in_part["id"]))].record.balance == Decimal("230.00")
    assert found[("invoice", str(credited["id"]))].record.balance == Decimal("150.00")
    # A credit note is not an invoice to collect, and Halo's payments are not read as payments.
    assert ("invoice", str(credit_note["id"])) not in found
    assert {change.entity for change in changes} == {"customer", "invoice"}


def test_a_voided_invoice_owes_nothing(connector, halo, bluebird):
    invoice = halo.invoice(bluebird)
    halo.post(f"Invoice/{invoice['id']}/void")

    record = keyed(pull(connector)[0])[("invoice", str(invoice["id"]))].record

    assert record.voided
    assert record.balance == 0


def test_every_checkpoint_holds_the_place_of_every_list(connector, halo, bluebird):
    halo.invoice(bluebird)

    cursors = [item for item in connector.pull(None) if isinstance(item, Cursor)]

    assert {cursor.stream for cursor in cursors} == {"halopsa"}
    assert [list(cursor.value) for cursor in cursors] == [
        ["clients"],
        ["clients"],
        ["clients", "users"],
        ["clients", "users"],
        ["clients", "users", "invoices"],
        ["clients", "users", "invoices"],
    ]
    assert cursors[-1].value["invoices"]["ids"] == [[1, 1]]


def test_a_full_sync_interrupted_resumes_at_its_checkpoint(sandbox, halo, bluebird):
    for _ in range(5):
        halo.invoice(bluebird)
    connector = connect(sandbox)
    connector.page_size = 2
    stopped_at = None
    read_before = []
    for item in connector.pull(None):
        if isinstance(item, Cursor) and item.value.get("invoices", {}).get("page") == 2:
            stopped_at = item
            break
        if isinstance(item, Change) and item.entity == "invoice":
            read_before.append(item.remote_id)

    resumed, cursors = pull(connect(sandbox), stopped_at)

    assert read_before == ["1", "2"]
    assert ids(resumed, "invoice") == ["3", "4", "5"]
    assert cursors["halopsa"]["invoices"]["ids"] == [[1, 5]]
    assert "since" in cursors["halopsa"]["invoices"]


# -- what changed since -----------------------------------------------------------


@pytest.fixture
def synced(connector, halo, bluebird, clock):
    """A tenant with a client, a billing contact and an invoice, fully synced minutes later."""
    halo.user(bluebird, "Ava Chen", "ava@bluebird.example", billing=True)
    halo.invoice(bluebird)
    clock.advance(minutes=5)
    _, cursors = pull(connector)
    clock.advance(minutes=10)
    return cursors


def test_pulling_again_reads_nothing_when_nothing_changed(connector, synced):
    assert pull_again(connector, synced) == []


def test_pulling_again_reads_only_what_changed(connector, halo, bluebird, clock, synced):
    halo.post("Client", {"id": bluebird["id"], "accountsemailaddress": "billing@bluebird.example"})
    cedar = halo.client("Cedar Law")
    new = halo.invoice(cedar, ("Labor", 1, "165.00"))
    halo.pay(halo.get("Invoice/1"), "40.00")

    changes = pull_again(connector, synced)

    found = keyed(changes)
    assert sorted(found) == sorted(
        [
            ("customer", str(bluebird["id"])),
            ("customer", str(cedar["id"])),
            ("invoice", "1"),
            ("invoice", str(new["id"])),
        ]
    )
    assert found[("customer", str(bluebird["id"]))].record.email == "billing@bluebird.example"
    assert found[("invoice", "1")].record.balance == Decimal("60.00")
    # The next pull starts a minute before this one did, so it reads them once more...
    clock.advance(minutes=5)
    again = keyed(pull_again(connector, synced))
    assert {key: c.remote_updated_at for key, c in again.items()} == {
        key: c.remote_updated_at for key, c in found.items()
    }
    # ...and the one after reads nothing.
    clock.advance(minutes=5)
    assert pull_again(connector, synced) == []


def test_deleted_invoices_and_clients_are_yielded_as_deletes(connector, halo, synced):
    cedar = halo.client("Cedar Law")
    pull_again(connector, synced)
    halo.delete("Invoice/1")
    halo.delete(f"Client/{cedar['id']}")

    changes = pull_again(connector, synced)

    # Deletes, not archives: the engine reads archive_on_source_delete (False) and leaves
    # the records for a person to archive.
    assert [(c.entity, c.remote_id, c.op) for c in changes] == [
        ("customer", str(cedar["id"]), Op.DELETE),
        ("invoice", "1", Op.DELETE),
    ]
    assert not connector.capabilities.archive_on_source_delete
    assert pull_again(connector, synced) == []


def test_a_contact_no_longer_billing_is_taken_back(connector, halo, bluebird, synced):
    ben = halo.user(bluebird, "Ben Diaz", "ben@bluebird.example", billing=False)
    halo.post("Users", {"id": 1, "sendaccountsemails": False})

    changes = pull_again(connector, synced)

    # Ben was never a billing contact, so nothing about him reaches arbridge.
    assert [(c.entity, c.remote_id, c.op) for c in changes] == [("contact", "1", Op.DELETE)]
    halo.post("Users", {"id": ben["id"], "sendaccountsemails": True})
    assert [(c.remote_id, c.op) for c in pull_again(connector, synced)] == [
        (str(ben["id"]), Op.UPSERT)
    ]


def test_a_contact_deleted_in_halo_is_deleted(connector, halo, synced):
    halo.delete("Users/1")

    assert [(c.entity, c.remote_id, c.op) for c in pull_again(connector, synced)] == [
        ("contact", "1", Op.DELETE)
    ]


def test_a_change_made_as_the_last_pull_ran_is_read_again_not_missed(
    connector, halo, bluebird, clock, synced
):
    halo.invoice(bluebird)  # stamped at the moment the next pull begins
    first = pull_again(connector, synced)
    clock.advance(seconds=30)

    again = pull_again(connector, synced)

    assert ids(first, "invoice") == ["2"]
    # Within the minute of overlap it is read once more; applying it twice changes nothing.
    assert ids(again, "invoice") == ["2"]
    assert again[0].remote_updated_at == first[0].remote_updated_at


# -- agreement subtypes -----------------------------------------------------------


@pytest.fixture
def agreements(halo, bluebird) -> dict[str, dict]:
    kinds = ("Managed Services", "Project", "Break-Fix")
    return {kind: halo.agreement(bluebird, kind) for kind in kinds}


def test_by_default_invoices_of_every_subtype_sync(connector, halo, bluebird, agreements):
    for agreement in agreements.values():
        halo.invoice(bluebird, agreement=agreement)
    halo.invoice(bluebird)

    assert len(ids(pull(connector)[0], "invoice")) == 4


def test_invoices_of_other_subtypes_never_enter(sandbox, halo, bluebird, agreements, clock):
    managed = halo.invoice(bluebird, agreement=agreements["Managed Services"])
    project = halo.invoice(bluebird, agreement=agreements["Project"])
    halo.invoice(bluebird)  # no agreement, so of no listed subtype
    connector = connect(sandbox, agreement_subtypes=["managed services"])
    clock.advance(minutes=5)

    changes, cursors = pull(connector)
    clock.advance(minutes=5)
    halo.pay(project, "10.00")
    later = halo.invoice(bluebird, agreement=agreements["Break-Fix"])
    newer = halo.invoice(bluebird, agreement=agreements["Managed Services"])

    assert ids(changes, "invoice") == [str(managed["id"])]
    assert ids(pull_again(connector, cursors), "invoice") == [str(newer["id"])]
    fetched = list(connector.fetch("invoice", [str(project["id"]), str(later["id"])]))
    assert fetched == []


def test_an_agreement_made_after_the_list_was_read_is_still_recognised(
    sandbox, halo, bluebird, agreements
):
    connector = connect(sandbox, agreement_subtypes=["Project"])
    list(connector.fetch("invoice", [str(halo.invoice(bluebird)["id"])]))  # reads the list
    fresh = halo.agreement(bluebird, "Project")

    invoice = halo.invoice(bluebird, agreement=fresh)

    assert ids(list(connector.fetch("invoice", [str(invoice["id"])])), "invoice") == [
        str(invoice["id"])
    ]


# -- webhook hints ----------------------------------------------------------------


def test_fetch_reads_the_records_a_webhook_named(connector, halo, bluebird):
    ava = halo.user(bluebird, "Ava Chen", "ava@bluebird.example", billing=True)
    ben = halo.user(bluebird, "Ben Diaz", "ben@bluebird.example", billing=False)
    invoice = halo.invoice(bluebird, ("Labor", 1, "165.00"))

    found = list(connector.fetch("invoice", [str(invoice["id"])]))
    found += list(connector.fetch("customer", [str(bluebird["id"])]))
    found += list(connector.fetch("contact", [str(ava["id"]), str(ben["id"])]))

    assert [(c.entity, c.remote_id, c.op) for c in found] == [
        ("invoice", str(invoice["id"]), Op.UPSERT),
        ("customer", str(bluebird["id"]), Op.UPSERT),
        ("contact", str(ava["id"]), Op.UPSERT),
        ("contact", str(ben["id"]), Op.DELETE),
    ]
    assert [line.amount for line in found[0].record.lines] == [Decimal("165.00")]


def test_fetching_a_record_that_is_gone_yields_its_delete(connector):
    [change] = connector.fetch("invoice", ["404"])

    assert (change.entity, change.remote_id, change.op) == ("invoice", "404", Op.DELETE)


def test_fetching_something_that_is_not_an_id_is_rejected(connector):
    [rejected] = connector.fetch("customer", ["../Users"])

    assert isinstance(rejected, Rejected)


def test_each_invoice_carries_its_agreement_type(connector, halo, bluebird, agreements):
    managed = halo.invoice(bluebird, agreement=agreements["Managed Services"])
    loose = halo.invoice(bluebird)

    records = {c.remote_id: c.record for c in pull(connector)[0] if c.entity == "invoice"}
    [fetched] = connector.fetch("invoice", [str(managed["id"])])

    # What auto pay rules choose invoices by (autopay Rule.agreements).
    assert records[str(managed["id"])].agreement == "Managed Services"
    assert records[str(loose["id"])].agreement == ""
    assert fetched.record.agreement == "Managed Services"
