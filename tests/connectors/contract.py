"""The contract every connector keeps, checked against its vendor's sandbox.

Like meltano's get_tap_test_class and Airbyte's standard tests: one suite of
what the sync engine and the outbox rely on, whichever vendor is behind the
connector. A connector's test module subclasses `ConnectorContract` and gives
it a `vendor` fixture: a `Vendor`, the small adapter that knows how to build
that vendor's sandbox and a connector to it, and how a person using the
vendor creates, changes, deletes and pays customers and invoices there.

    class TestQuickBooksOnline(ConnectorContract):
        @pytest.fixture
        def vendor(self):
            return QuickBooksVendor()

What it checks:

- pull: a full sync sees what the vendor holds; pulling from its last cursor
  sees records created, changed and deleted since; pulling again from the
  final cursor brings nothing new; every pull ends on a checkpoint.
- push: a command repeated with its idempotency key writes once; another key
  writes again; a write the vendor refuses is a PermanentError.
- faults: a vendor that keeps failing raises RetryableError, never anything
  else; with a fifth of its responses failing (429s, 5xx, timeouts), a sync
  resumed from its checkpoints ends with the records of a clean one; a
  payment whose responses are lost, retried until it succeeds, is written once.
- webhooks (where the vendor has them): re-reading what the hints name gives
  the records a pull gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Protocol

import pytest

from arbridge.connectors.base import (
    Change,
    Command,
    Connector,
    ConnectorError,
    Cursor,
    Op,
    PermanentError,
    Rejected,
    RetryableError,
)

FAULT_KINDS = ("429", "500", "503", "timeout")
# A sync or push under faults that has not finished after this many tries has failed.
MAX_TRIES = 50


def payment_command(invoice_id: str, amount: Decimal, key: str, **payload) -> Command:
    """Return a write-back of a card payment of the invoice, as arbridge's outbox owes it."""
    payload = {
        "payment_id": key,
        "amount": str(amount),
        "currency": "USD",
        "date": "2026-03-02",
        "reference": "Visa 4242",
        "allocations": [{"invoice_remote_id": invoice_id, "amount": str(amount)}],
        **payload,
    }
    return Command("create_payment", payload, key)


class Vendor(Protocol):
    """One vendor's sandbox, as the contract drives it; ids are the vendor's."""

    # Whether the vendor sends webhooks that `hints()` can collect.
    has_webhooks: bool
    # Whether a customer can be deleted in the vendor (or made inactive, which arbridge
    # reads as deleted); if not, the contract does not try.
    deletes_customers: bool

    def connector(self) -> Connector:
        """Return a new connector to the sandbox company, as arbridge connects it."""
        ...

    def create_customer(self, name: str) -> str: ...

    def rename_customer(self, id: str, name: str) -> None: ...

    def delete_customer(self, id: str) -> None: ...

    def create_invoice(self, customer_id: str, amount: Decimal) -> str: ...

    def change_invoice(self, id: str, amount: Decimal) -> None: ...

    def delete_invoice(self, id: str) -> None: ...

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        """Return the command that writes back a payment of the invoice taken in arbridge."""
        ...

    def payments_of(self, invoice_id: str) -> int:
        """Return how many payments the vendor holds against an invoice."""
        ...

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        """Make this share of the vendor's API responses fail, in these ways (0: none).

        "timeout" is a response lost after the vendor acted on the request.
        """
        ...

    def failures(self) -> int:
        """Return how many responses the vendor has failed on purpose so far."""
        ...

    def hints(self) -> list[tuple[str, list[str]]]:
        """Return what the webhooks delivered since last asked: (entity, ids) to fetch."""
        ...


class Replica:
    """What the sync engine would hold after applying a connector's output.

    It keeps the last change of each record and the last checkpoint, and
    resumes from that checkpoint after a RetryableError, as a rescheduled run does.
    """

    def __init__(self) -> None:
        self.changes: dict[tuple[str, str], Change] = {}
        self.cursor: Cursor | None = None
        self.rejected: list[Rejected] = []

    def apply(self, items: Iterable[Change | Rejected | Cursor]) -> list[Change]:
        """Apply a pull's items; return its changes."""
        read = []
        for item in items:
            if isinstance(item, Cursor):
                self.cursor = item
            elif isinstance(item, Rejected):
                self.rejected.append(item)
            else:
                self.changes[item.entity, item.remote_id] = item
                read.append(item)
        return read

    def sync(self, connector: Connector) -> list[Change]:
        """Pull from the last checkpoint until a pull finishes; return what was read."""
        read = []
        for _ in range(MAX_TRIES):
            items: list[Change | Rejected | Cursor] = []
            try:
                for item in connector.pull(self.cursor):
                    items.append(item)
                    if isinstance(item, Cursor):
                        read += self.apply(items)
                        items = []
            except RetryableError:
                continue  # what came after the last checkpoint is read again
            read += self.apply(items)
            return read
        pytest.fail(f"the sync did not finish in {MAX_TRIES} tries")

    def record(self, entity: str, id: str) -> Any:
        change = self.changes.get((entity, id))
        return change.record if change is not None and change.op == Op.UPSERT else None

    def is_deleted(self, entity: str, id: str) -> bool:
        change = self.changes.get((entity, id))
        return change is not None and change.op == Op.DELETE

    def state(self) -> dict[tuple[str, str], tuple[Op, Any]]:
        """Return every record as held: deleted, or its content."""
        return {key: (change.op, change.record) for key, change in self.changes.items()}


def push_until_done(connector: Connector, command: Command) -> Any:
    """Push a command until it is not retryable, as the outbox does."""
    for _ in range(MAX_TRIES):
        try:
            return connector.push(command)
        except RetryableError:
            continue
    pytest.fail(f"the push did not succeed in {MAX_TRIES} tries")


class ConnectorContract:
    """The tests every connector passes; a subclass provides the `vendor` fixture."""

    @pytest.fixture
    def vendor(self) -> Vendor:
        raise NotImplementedError("a connector's contract test provides its vendor")

    @pytest.fixture
    def books(self, vendor: Vendor) -> dict[str, str]:
        """A customer with two invoices in the vendor."""
        customer = vendor.create_customer("Bluebird Dental")
        return {
            "customer": customer,
            "invoice": vendor.create_invoice(customer, Decimal("100.00")),
            "other_invoice": vendor.create_invoice(customer, Decimal("250.00")),
        }

    @pytest.fixture
    def synced(self, vendor: Vendor, books: dict[str, str]) -> tuple[Connector, Replica]:
        """The books, fully synced: the connector and what arbridge holds."""
        connector, replica = vendor.connector(), Replica()
        replica.sync(connector)
        return connector, replica

    # -- pull -------------------------------------------------------------------------

    def test_a_full_sync_reads_what_the_vendor_holds(self, synced, books):
        _, replica = synced

        customer = replica.record("customer", books["customer"])
        invoice = replica.record("invoice", books["invoice"])
        assert customer.name == "Bluebird Dental"
        assert invoice.customer_remote_id == books["customer"]
        assert invoice.total == Decimal("100.00")
        assert replica.record("invoice", books["other_invoice"]).total == Decimal("250.00")
        assert not replica.rejected

    def test_every_pull_ends_on_a_checkpoint(self, vendor, synced):
        connector, replica = synced

        *_, last = connector.pull(replica.cursor)

        assert isinstance(last, Cursor)

    def test_a_pull_sees_what_changed_since_the_last(self, vendor, synced, books):
        connector, replica = synced
        vendor.rename_customer(books["customer"], "Bluebird Dental Group")
        vendor.change_invoice(books["invoice"], Decimal("120.00"))
        added = vendor.create_invoice(books["customer"], Decimal("80.00"))

        replica.sync(connector)

        assert replica.record("customer", books["customer"]).name == "Bluebird Dental Group"
        assert replica.record("invoice", books["invoice"]).total == Decimal("120.00")
        assert replica.record("invoice", added).total == Decimal("80.00")

    def test_a_pull_sees_what_was_deleted_since_the_last(self, vendor, synced, books):
        connector, replica = synced
        vendor.delete_invoice(books["other_invoice"])
        lonely = vendor.create_customer("Harbor Logistics")
        replica.sync(connector)
        if vendor.deletes_customers:
            vendor.delete_customer(lonely)

        replica.sync(connector)

        assert replica.is_deleted("invoice", books["other_invoice"])
        assert replica.record("invoice", books["invoice"]) is not None
        if vendor.deletes_customers:
            assert replica.is_deleted("customer", lonely)

    def test_pulling_again_from_the_final_cursor_reads_nothing_new(self, synced):
        connector, replica = synced
        held = replica.state()

        again = Replica()
        again.cursor = replica.cursor
        again.sync(connector)

        # Reading a little again is allowed (applying a change twice changes
        # nothing); reading anything arbridge does not already hold is not.
        for key, change in again.changes.items():
            assert held.get(key) == (change.op, change.record), key

    # -- push -------------------------------------------------------------------------

    def test_a_push_repeated_with_its_key_writes_once(self, vendor, synced, books):
        connector, _ = synced
        command = vendor.payment_command(books["invoice"], Decimal("100.00"), "payment:41:1")

        first = connector.push(command)
        again = vendor.connector().push(command)

        assert first.remote_id and first.remote_id == again.remote_id
        assert vendor.payments_of(books["invoice"]) == 1

    def test_a_push_with_another_key_writes_again(self, vendor, synced, books):
        connector, _ = synced

        first = connector.push(vendor.payment_command(books["invoice"], Decimal("40"), "p:41:1"))
        second = connector.push(vendor.payment_command(books["invoice"], Decimal("60"), "p:42:1"))

        assert first.remote_id != second.remote_id
        assert vendor.payments_of(books["invoice"]) == 2

    def test_a_write_the_vendor_refuses_is_a_permanent_error(self, vendor, synced, books):
        connector, _ = synced
        vendor.delete_invoice(books["other_invoice"])
        command = vendor.payment_command(books["other_invoice"], Decimal("250.00"), "p:43:1")

        with pytest.raises(PermanentError):
            connector.push(command)

    def test_an_action_the_connector_does_not_know_is_a_permanent_error(self, synced):
        connector, _ = synced

        with pytest.raises(PermanentError):
            connector.push(Command("launch_rocket", {}, "rocket:1"))

    # -- faults -----------------------------------------------------------------------

    def test_a_vendor_that_keeps_failing_raises_a_retryable_error(self, vendor, books):
        connector = vendor.connector()
        vendor.fail(1.0, ["500", "503"])

        with pytest.raises(ConnectorError) as failure:
            list(connector.pull(None))

        assert isinstance(failure.value, RetryableError)

    def test_syncs_through_a_fifth_of_responses_failing_end_as_a_clean_one(self, vendor, books):
        clean = Replica()
        clean.sync(vendor.connector())

        vendor.fail(0.2)
        for _ in range(5):
            faulty = Replica()
            faulty.sync(vendor.connector())
            assert faulty.state() == clean.state()
        assert vendor.failures() > 0

    def test_a_payment_whose_responses_are_lost_is_written_once(self, vendor, books):
        connector = vendor.connector()
        command = vendor.payment_command(books["invoice"], Decimal("100.00"), "payment:41:1")
        vendor.fail(0.5, ["timeout"])

        written = {push_until_done(connector, command).remote_id for _ in range(5)}

        vendor.fail(0)
        assert vendor.failures() > 0
        assert len(written) == 1
        assert vendor.payments_of(books["invoice"]) == 1

    # -- webhooks ---------------------------------------------------------------------

    def test_webhook_hints_lead_to_the_records_a_pull_reads(self, vendor, synced, books):
        if not vendor.has_webhooks:
            pytest.skip("the vendor sends no webhooks")
        connector, replica = synced
        vendor.hints()  # what the initial books sent
        vendor.rename_customer(books["customer"], "Bluebird Dental Group")
        vendor.change_invoice(books["invoice"], Decimal("120.00"))
        vendor.delete_invoice(books["other_invoice"])

        hinted = Replica()
        for entity, ids in vendor.hints():
            hinted.apply(fetched(connector, entity, ids))
        replica.sync(connector)

        assert hinted.changes, "the changes sent no webhooks"
        held = replica.state()
        for key, (op, record) in hinted.state().items():
            assert held[key] == (op, record), key
        assert hinted.is_deleted("invoice", books["other_invoice"])
        assert hinted.record("invoice", books["invoice"]).total == Decimal("120.00")


def fetched(connector: Any, entity: str, ids: list[str]) -> Iterator[Change | Rejected]:
    """Read again what a hint names, as the webhook job does."""
    yield from connector.fetch(entity, ids)
