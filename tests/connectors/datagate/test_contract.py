"""DataGate keeps the connector contract, where a connector of files can."""

from decimal import Decimal

import pytest

from arbridge.connectors.base import PermanentError
from tests.connectors.contract import ConnectorContract, Replica
from tests.connectors.datagate.conftest import DataGateVendor

NO_API = "DataGate is read from files: there is no API to write to or to fail"


class TestDataGate(ConnectorContract):
    @pytest.fixture
    def vendor(self):
        return DataGateVendor()

    def test_a_pull_sees_what_was_deleted_since_the_last(self, vendor, synced, books):
        # A void in DataGate comes in a later file as the same invoice, voided.
        connector, replica = synced
        vendor.delete_invoice(books["other_invoice"])

        replica.sync(connector)

        assert replica.record("invoice", books["other_invoice"]).voided
        assert not replica.record("invoice", books["invoice"]).voided

    def test_nothing_is_written_back(self, vendor, synced, books):
        connector, _ = synced
        command = vendor.payment_command(books["invoice"], Decimal("100.00"), "payment:41:1")

        assert not connector.capabilities.write_back
        with pytest.raises(PermanentError):
            connector.push(command)

    def test_a_sync_resumed_after_each_file_ends_as_one_run(self, vendor, books):
        whole = Replica()
        whole.sync(vendor.connector())
        vendor.change_invoice(books["invoice"], Decimal("120.00"))
        whole.sync(vendor.connector())

        resumed = Replica()
        for item in vendor.connector().pull(None):
            resumed.apply([item])
            if resumed.cursor is not None and len(resumed.cursor.value["files"]) == 1:
                break  # stopped after the first file's checkpoint
        resumed.sync(vendor.connector())

        assert resumed.state() == whole.state()
        assert resumed.record("invoice", books["invoice"]).total == Decimal("120.00")

    @pytest.mark.skip(reason=NO_API)
    def test_a_push_repeated_with_its_key_writes_once(self): ...

    @pytest.mark.skip(reason=NO_API)
    def test_a_push_with_another_key_writes_again(self): ...

    @pytest.mark.skip(reason=NO_API)
    def test_a_payment_whose_responses_are_lost_is_written_once(self): ...

    @pytest.mark.skip(reason=NO_API)
    def test_a_vendor_that_keeps_failing_raises_a_retryable_error(self): ...

    @pytest.mark.skip(reason=NO_API)
    def test_syncs_through_a_fifth_of_responses_failing_end_as_a_clean_one(self): ...
