"""QuickBooks Desktop on the Django side: connect, the .qwc file, polls that read and write."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from arbridge.core.models import Connection
from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, SyncRun
from arbridge.ledger.models import Invoice, Payment
from arbridge.polling.models import PollSession
from arbridge.portal.models import PortalLink
from tests.integrations.qbd.conftest import PASSWORD, Office, connect
from tests.integrations.qbo.fixtures import record_payout, take_payment

pytestmark = pytest.mark.django_db


def page(client, connection: Connection) -> str:
    response = client.get(f"/integrations/{connection.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def owe_payment(connection: Connection, amount: str, captured) -> OutboundCommand:
    payment = take_payment((Invoice.objects.get(connection=connection), amount))
    with captured(execute=True), transaction.atomic():
        [command] = writeback.payment_succeeded(payment)
    command.refresh_from_db()
    return command


def test_connecting_keeps_only_a_hash_of_the_password(connected):
    assert connected.status == Connection.Status.CONNECTED
    assert connected.remote_account.startswith("arbridge-")
    assert connected.credentials["password_hash"].startswith("pbkdf2_sha256$")
    assert PASSWORD not in str(connected.credentials)


def test_the_qwc_file_names_arbridge_the_user_and_the_schedule(client, connected, settings):
    response = client.get(f"/integrations/{connected.pk}/setup-file/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="arbridge-{connected.pk}.qwc"'
    qwc = response.content.decode()
    assert f"<AppURL>{settings.BASE_URL}/poll/qbd/</AppURL>" in qwc
    assert f"<UserName>{connected.remote_account}</UserName>" in qwc
    assert "<RunEveryNMinutes>15</RunEveryNMinutes>" in qwc
    assert PASSWORD not in qwc


def test_the_qwc_file_is_the_managers_and_the_partners_own(client, connected, bob, charlie):
    client.force_login(bob)  # finance
    assert client.get(f"/integrations/{connected.pk}/setup-file/").status_code == 403
    client.force_login(charlie)  # another partner
    assert client.get(f"/integrations/{connected.pk}/setup-file/").status_code == 404


def test_a_poll_brings_the_company_into_the_ledger(client, connected, office):
    customer = office.customer("Globex")
    office.invoice(customer, "150.00")
    assert "Never" in page(client, connected)

    poll = office.poll()

    assert poll.outcome == "done"
    invoice = Invoice.objects.get(connection=connected)
    assert (invoice.total, invoice.balance) == (Decimal("150.00"), Decimal("150.00"))
    assert invoice.customer.name == "Globex"
    run = SyncRun.objects.get(connection=connected)
    assert run.status == SyncRun.Status.SUCCEEDED and run.created >= 2
    html = page(client, connected)
    assert "Last poll" in html and "Never" not in html
    assert "Waiting for the next poll</dt><dd>Nothing" in html


def test_a_payment_taken_in_arbridge_is_written_at_the_next_poll_exactly_once(
    client, connected, office, django_capture_on_commit_callbacks
):
    invoice_id = office.invoice(office.customer("Globex"), "80.00")
    office.poll()

    command = owe_payment(connected, "80.00", django_capture_on_commit_callbacks)

    assert command.status == OutboundCommand.Status.PENDING  # no job can reach the PC
    assert "1 payments to record" in page(client, connected)
    office.poll()
    office.poll()

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    [paid] = office.company.payments_of(invoice_id)
    assert command.remote_id == paid
    assert ExternalRef.objects.get(connection=connected, entity="payment").remote_id == paid
    assert office.company.balance(invoice_id) == Decimal("0.00")
    assert Invoice.objects.get(connection=connected).balance == Decimal("0.00")
    # Read back at the next poll, it is the payment arbridge took, not a second one.
    assert Payment.objects.filter(partner=connected.partner).count() == 1


def test_a_session_killed_after_the_add_writes_once_when_resumed(
    connected, office, django_capture_on_commit_callbacks
):
    invoice_id = office.invoice(office.customer("Globex"), "80.00")
    office.poll()
    command = owe_payment(connected, "80.00", django_capture_on_commit_callbacks)
    office.web_connector.drop_after(lambda request: "ReceivePaymentAddRq" in request)

    assert office.poll().outcome == "dropped"
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.PENDING

    resumed = office.poll()

    assert resumed.outcome == "done"
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert office.company.payments_of(invoice_id) == [command.remote_id]
    dropped = PollSession.objects.filter(connection=connected).order_by("started_at")[1]
    assert "went away" in dropped.error


def test_a_refund_deletes_the_payment_at_the_next_poll(
    connected, office, django_capture_on_commit_callbacks
):
    invoice_id = office.invoice(office.customer("Globex"), "80.00")
    office.poll()
    command = owe_payment(connected, "80.00", django_capture_on_commit_callbacks)
    office.poll()
    payment = Payment.objects.get(pk=command.payload["payment_id"])
    payment.set_status(Payment.Status.REFUNDED)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [delete] = writeback.payment_reversed(payment)

    office.poll()

    delete.refresh_from_db()
    assert delete.status == OutboundCommand.Status.DONE, delete.last_error
    assert office.company.payments_of(invoice_id) == []


def test_a_payout_is_deposited_with_its_fee_line(
    client, connected, office, django_capture_on_commit_callbacks
):
    prefs = {
        "poll_minutes": "15",
        "create_deposits": "on",
        "deposit_account_id": "Checking",
        "fee_account_id": "Merchant Fees",
    }
    assert client.post(f"/integrations/{connected.pk}/preferences/", prefs).status_code == 302
    office.invoice(office.customer("Globex"), "100.00")
    office.poll()
    command = owe_payment(connected, "100.00", django_capture_on_commit_callbacks)
    office.poll()
    command.refresh_from_db()
    payment = Payment.objects.get(pk=command.payload["payment_id"])
    assert office.company.payments[command.remote_id]["DepositTo"] == "Undeposited Funds"
    deposit = record_payout([payment], fees="3.20")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [owed] = writeback.deposit_recorded(deposit)

    office.poll()
    office.poll()

    owed.refresh_from_db()
    assert owed.status == OutboundCommand.Status.DONE, owed.last_error
    [written] = office.company.deposits.values()
    assert written["Bank"] == "Checking"
    assert written["Payments"] == [command.remote_id]
    assert written["Others"] == [("Merchant Fees", Decimal("-3.20"), "Processing fees")]
    assert written["Total"] == Decimal("96.80")


def test_offline_for_a_day_then_one_poll_catches_up(
    connected, office, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2027-03-02T09:00:00Z", tick=True)
    customer = office.customer("Globex")
    office.invoice(customer, "80.00")
    office.poll()
    command = owe_payment(connected, "80.00", django_capture_on_commit_callbacks)
    office.web_connector.offline = True
    time_machine.move_to("2027-03-02T15:00:00Z", tick=True)
    later = office.invoice(customer, "45.00")
    office.company.change_customer(customer, Name="Globex Corporation")
    for hour in range(24):
        time_machine.move_to(f"2027-03-03T{hour:02d}:00:00Z", tick=True)
        assert office.poll().outcome == "offline"
    office.web_connector.offline = False

    poll = office.poll()

    assert poll.outcome == "done"
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert Invoice.objects.get(
        connection=connected, number=office.company.invoices[later]["RefNumber"]
    ).total == Decimal("45.00")
    assert (
        Invoice.objects.filter(connection=connected).first().customer.name == "Globex Corporation"
    )


def test_a_status_error_is_the_last_error_and_the_write_waits(
    client, connected, office, django_capture_on_commit_callbacks
):
    office.invoice(office.customer("Globex"), "80.00")
    office.poll()
    command = owe_payment(connected, "80.00", django_capture_on_commit_callbacks)
    office.company.fail_next("ReceivePaymentAddRq", 3200, "The edit sequence is out of date.")

    office.poll()

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.PENDING
    assert "3200" in command.last_error
    html = page(client, connected)
    assert "The edit sequence is out of date." in html
    assert "1 payments to record" in html


def test_a_wrong_password_opens_no_session(connected):
    office = Office(connected)
    office.web_connector.password = "not the password"

    assert office.poll().outcome == "nvu"
    assert not PollSession.objects.exists()


def test_one_partners_web_connector_reaches_only_its_own_books(client, connected, office, charlie):
    other = connect(client, charlie, password="another long password")
    office.invoice(office.customer("Globex"), "80.00")
    outsider = Office(other)
    outsider.web_connector.password = "another long password"
    outsider.web_connector.username = connected.remote_account  # another partner's user...

    assert outsider.poll().outcome == "nvu"  # ...with its own password is no user

    office.poll()
    assert Invoice.objects.filter(partner=connected.partner).count() == 1
    assert not Invoice.objects.filter(partner=other.partner).exists()
    client.force_login(charlie)
    assert client.get(f"/integrations/{connected.pk}/").status_code == 404


def test_the_differences_page_says_real_time_is_the_next_poll(client, alice):
    client.force_login(alice)

    html = client.get("/integrations/differences/").content.decode()

    assert "QuickBooks Desktop" in html
    assert "Real Time for QuickBooks Desktop: at the next poll" in html


def test_a_read_quickbooks_refuses_for_now_fails_the_run_and_the_next_poll_reads_it(
    connected, office
):
    office.invoice(office.customer("Globex"), "80.00")
    office.company.fail_next("InvoiceQueryRq", 3180, "There was an error when saving.")

    office.poll()

    run = SyncRun.objects.get(connection=connected)
    assert run.status == SyncRun.Status.FAILED and "3180" in run.error_message
    assert not Invoice.objects.filter(connection=connected).exists()

    office.poll()
    assert Invoice.objects.filter(connection=connected).count() == 1
    assert SyncRun.objects.filter(connection=connected).latest("pk").status == "succeeded"


def test_after_disconnecting_the_web_connector_is_no_user(client, connected, office):
    office.invoice(office.customer("Globex"), "80.00")
    assert client.post(f"/integrations/{connected.pk}/disconnect/").status_code == 302

    assert office.poll().outcome == "nvu"
    assert not Invoice.objects.filter(connection=connected).exists()


def test_a_void_and_a_delete_in_quickbooks_archive_the_invoices_at_the_next_poll(
    connected, office, time_machine
):
    time_machine.move_to("2027-03-02T09:00:00Z", tick=True)
    customer = office.customer("Globex")
    voided = office.invoice(customer, "80.00")
    deleted = office.invoice(customer, "45.00")
    office.poll()
    time_machine.move_to("2027-03-02T10:00:00Z", tick=True)
    office.company.void_invoice(voided)
    office.company.delete_txn("Invoice", deleted)

    office.poll()

    by_number = {i.number: i for i in Invoice.objects.filter(connection=connected)}
    void = by_number[office.company.invoices[voided]["RefNumber"]]
    assert void.status == Invoice.Status.VOID
    gone = Invoice.objects.get(
        pk=ExternalRef.objects.get(connection=connected, remote_id=deleted).local_id
    )
    assert gone.archived


def test_an_invoice_from_quickbooks_desktop_has_a_pdf_rendered_by_arbridge(connected, office):
    office.invoice(office.customer("Globex"), "150.00")
    office.poll()
    invoice = Invoice.objects.get(connection=connected)
    portal = Client()
    assert portal.get(PortalLink.issue(invoice.customer).get_absolute_url()).status_code == 302

    response = portal.get(f"/portal/{connected.partner.slug}/invoices/{invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
