"""Web Connector sessions: the sandbox's Web Connector polling our service, host in memory."""

from decimal import Decimal

import pytest

from arbridge.connectors.base import Command, PermanentError, RemoteRef, RetryableError
from arbridge.connectors.qbd import QuickBooksDesktop, work
from tests.connectors.qbd.books import Office, payment
from tests.sandbox.clock import Clock


@pytest.fixture
def office() -> Office:
    return Office(Clock())


def test_a_poll_reads_the_company(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00", "20.00")

    poll = office.poll()

    assert poll.outcome == "done"
    assert office.host.record("customer", customer).name == "Bluebird Dental"
    record = office.host.record("invoice", invoice)
    assert record.total == Decimal("120.00")
    assert [line.amount for line in record.lines] == [Decimal("100.00"), Decimal("20.00")]
    assert office.host.cursor.value == {"since": office.host.cursor.value["since"]}
    assert poll.requests == [
        "CustomerQueryRq",
        "InvoiceQueryRq",
        "CreditMemoQueryRq",
        "ReceivePaymentQueryRq",
    ]


def test_a_large_set_is_read_by_an_iterator_in_pages(office):
    customer = office.customer("Bluebird Dental")
    invoices = [office.invoice(customer, "10.00") for _ in range(work.PAGE * 2 + 1)]

    poll = office.poll()

    assert poll.requests.count("InvoiceQueryRq") == 3
    assert all(office.host.record("invoice", i) for i in invoices)


def test_an_owed_payment_is_written_once_in_the_next_poll(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    office.poll()
    office.host.owe(payment(invoice, customer, "100.00", "payment:41:1"))

    office.poll()
    office.poll()

    assert len(office.company.payments_of(invoice)) == 1
    ref = office.host.results["payment:41:1"]
    assert isinstance(ref, RemoteRef) and ref.remote_id == office.company.payments_of(invoice)[0]
    assert office.company.balance(invoice) == Decimal("0.00")
    # The payment is then read back like any other.
    assert office.host.record("payment", ref.remote_id).amount == Decimal("100.00")


def test_a_session_killed_after_the_add_and_before_its_answer_writes_once_when_resumed(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    office.poll()
    office.host.owe(payment(invoice, customer, "100.00", "payment:41:1"))
    office.web_connector.drop_after(lambda request: "ReceivePaymentAddRq" in request)

    dropped = office.poll()
    assert dropped.outcome == "dropped"
    assert len(office.company.payments_of(invoice)) == 1  # QuickBooks added it
    assert "payment:41:1" not in office.host.results  # arbridge never heard

    resumed = office.poll()

    assert resumed.outcome == "done"
    assert "ReceivePaymentAddRq" not in resumed.requests  # found by its mark instead
    assert len(office.company.payments_of(invoice)) == 1
    assert office.host.results["payment:41:1"].remote_id == office.company.payments_of(invoice)[0]


def test_a_reversal_deletes_the_payment_and_a_second_delete_is_done(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    txn = office.company.receive_payment(customer, [(invoice, Decimal("100.00"))])
    office.poll()
    office.host.owe(Command("delete_payment", {"remote_id": txn}, "delete:1"))
    office.poll()
    office.host.owe(Command("delete_payment", {"remote_id": txn}, "delete:2"))
    office.poll()

    assert office.company.payments_of(invoice) == []
    assert office.host.results["delete:1"].remote_id == txn
    assert office.host.results["delete:2"].remote_id == txn
    assert office.host.is_deleted("payment", txn)
    assert office.host.record("invoice", invoice).balance == Decimal("100.00")


def test_edit_sequence_out_of_date_is_tried_again_in_a_later_session(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    office.poll()
    office.host.owe(payment(invoice, customer, "100.00", "payment:41:1"))
    office.company.fail_next("ReceivePaymentAddRq", 3200, "The edit sequence is out of date.")

    first = office.poll()

    assert first.outcome == "done"  # the reads went on
    assert isinstance(office.host.results["payment:41:1"], RetryableError)
    assert "3200" in office.host.errors[-1]

    office.poll()
    assert isinstance(office.host.results["payment:41:1"], RemoteRef)
    assert len(office.company.payments_of(invoice)) == 1


def test_name_in_use_is_for_a_person(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    office.host.owe(payment(invoice, customer, "100.00", "payment:41:1"))
    office.company.fail_next("ReceivePaymentAddRq", 3100, 'The name "Bluebird" is already in use.')

    office.poll()
    office.poll()

    assert isinstance(office.host.results["payment:41:1"], PermanentError)
    assert office.company.payments_of(invoice) == []


def test_offline_for_a_day_then_one_poll_catches_up(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    gone = office.invoice(customer, "50.00")
    office.poll()
    office.web_connector.offline = True

    for hour in range(24):
        office.clock.advance(hours=1)
        assert office.poll().outcome == "offline"
        if hour == 3:
            office.company.change_customer(customer, Name="Bluebird Dental Group")
        if hour == 9:
            added = office.invoice(customer, "75.00")
        if hour == 15:
            office.company.delete_txn("Invoice", gone)
    office.host.owe(payment(invoice, customer, "100.00", "payment:41:1"))
    office.web_connector.offline = False

    poll = office.poll()

    assert poll.outcome == "done"
    assert office.host.record("customer", customer).name == "Bluebird Dental Group"
    assert office.host.record("invoice", added).total == Decimal("75.00")
    assert office.host.is_deleted("invoice", gone)
    assert isinstance(office.host.results["payment:41:1"], RemoteRef)
    assert office.host.record("invoice", invoice).balance == Decimal("0.00")


def test_a_credit_memo_reaches_its_invoice_and_its_deletion_undoes_it(office):
    customer = office.customer("Bluebird Dental")
    invoice = office.invoice(customer, "100.00")
    memo = office.company.add_credit_memo(customer, Decimal("30.00"), invoice)

    office.poll()
    credit = office.host.record("credit", f"{memo}:{invoice}")
    assert credit.amount == Decimal("30.00") and credit.invoice_remote_id == invoice

    office.clock.advance(minutes=20)
    office.company.delete_txn("CreditMemo", memo)
    office.poll()
    assert office.host.is_deleted("credit", f"{memo}:{invoice}")


def test_an_inactive_customer_is_deleted(office):
    customer = office.customer("Bluebird Dental")
    office.poll()
    office.clock.advance(minutes=20)
    office.company.change_customer(customer, IsActive=False)

    office.poll()

    assert office.host.is_deleted("customer", customer)


def test_a_wrong_password_is_not_a_valid_user(office):
    office.web_connector.password = "guess"

    poll = office.poll()

    assert poll.outcome == "nvu"
    assert office.host.sessions == {}


def test_quickbooks_not_opening_is_the_last_error(office):
    office.web_connector.quickbooks_closed = True

    poll = office.poll()

    assert poll.outcome == "closed"
    assert "Could not start QuickBooks" in office.host.errors[-1]


def test_the_qwc_file_names_the_app_url_user_and_schedule():
    qwc = QuickBooksDesktop.setup_file(
        url="https://arbridge.example/poll/qbd/",
        username="arbridge-1f2e",
        name="arbridge (Harbor IT)",
        minutes=15,
        ids="conn-7",
    ).decode()

    assert "<AppURL>https://arbridge.example/poll/qbd/</AppURL>" in qwc
    assert "<UserName>arbridge-1f2e</UserName>" in qwc
    assert "<RunEveryNMinutes>15</RunEveryNMinutes>" in qwc
    assert "<AppName>arbridge (Harbor IT)</AppName>" in qwc
    again = QuickBooksDesktop.setup_file(
        url="https://arbridge.example/poll/qbd/",
        username="arbridge-1f2e",
        name="x",
        minutes=5,
        ids="conn-7",
    ).decode()
    assert qwc.split("<OwnerID>")[1][:38] == again.split("<OwnerID>")[1][:38]


def test_a_session_dropped_mid_iterator_resumes_at_that_entity(office):
    customer = office.customer("Bluebird Dental")
    invoices = [office.invoice(customer, "10.00") for _ in range(work.PAGE * 2 + 1)]
    pages = iter(range(10))
    office.web_connector.drop_after(
        lambda request: "InvoiceQueryRq" in request and next(pages) == 1
    )

    dropped = office.poll()
    resumed = office.poll()

    assert dropped.outcome == "dropped"
    assert office.host.cursor is not None
    assert resumed.requests[0] == "InvoiceQueryRq"  # customers are not read again
    assert resumed.requests.count("InvoiceQueryRq") == 3  # a new iterator, from the start
    assert all(office.host.record("invoice", i) for i in invoices)
