"""Sage Intacct's preferences, deposits with their fee separate, and its own PDFs."""

from decimal import Decimal

import pytest
from django.test import Client

from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice
from arbridge.portal.models import PortalLink
from tests.integrations.qbo.fixtures import record_payout, take_payment
from tests.integrations.sage_intacct.conftest import COMPANY

pytestmark = pytest.mark.django_db


def bill(store, customer: str, amount: str) -> str:
    row = store.add_customer(COMPANY, customer, email="ap@globex.example", entity="EAST")
    return store.add_invoice(COMPANY, row["CUSTOMERID"], [("Help desk", Decimal(amount))])[
        "RECORDNO"
    ]


def test_the_preferences_offer_the_company_s_accounts_and_deposits_start_off(client, connected):
    page = client.get(f"/integrations/{connected.pk}/preferences/").content.decode()

    assert "Bank account for deposits" in page and "Processing fee account" in page
    assert "Boa Operating" in page and "Merchant fees" in page and "Undeposited funds" in page
    assert connected.preferences.get("create_deposits") in (None, False)


def test_a_payout_is_deposited_to_the_chosen_bank_account_with_its_fee_separate(
    client, connected, intacct, sync, django_capture_on_commit_callbacks
):
    form = {
        "create_deposits": "on",
        "undeposited_account": "1300",
        "deposit_account_id": "SVB-DEPOSITS",
        "fee_account_id": "6100",
        "currency": "USD",
    }
    response = client.post(f"/integrations/{connected.pk}/preferences/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    store = intacct.store
    first, second = bill(store, "Globex", "150.00"), bill(store, "Initech", "80.00")
    sync(connected)
    payments = [
        take_payment((Invoice.objects.get(connection=connected, total=Decimal("150.00")), "150.00"),
                     reference="p1"),
        take_payment((Invoice.objects.get(connection=connected, total=Decimal("80.00")), "80.00"),
                     reference="p2"),
    ]  # fmt: skip
    deposit = record_payout(payments, fees="6.97")

    with django_capture_on_commit_callbacks(execute=True):
        for payment in payments:
            writeback.payment_succeeded(payment)
    with django_capture_on_commit_callbacks(execute=True):
        [command] = writeback.deposit_recorded(deposit)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    company = store.companies[COMPANY]
    number = ExternalRef.objects.get(connection=connected, entity="deposit").remote_id
    held = company.deposits[int(number)]
    assert (held["FINANCIALENTITY"], held["TOTALENTERED"]) == ("SVB-DEPOSITS", "230.00")
    [fee] = company.bank_fees.values()
    assert (fee["FINANCIALENTITY"], fee["GLACCOUNTNO"], fee["TOTALENTERED"]) == (
        "SVB-DEPOSITS",
        "6100",
        "6.97",
    )
    assert {p["STATE"] for p in company.payments.values()} == {"Deposited"}
    assert {company.invoices[int(k)]["TOTALDUE"] for k in (first, second)} == {"0.00"}


def test_invoices_bring_intacct_s_own_pdf(client, connected, intacct, sync):
    bill(intacct.store, "Globex", "100.00")
    sync(connected)
    invoice = Invoice.objects.get(connection=connected)
    portal = Client()
    assert portal.get(PortalLink.issue(invoice.customer).get_absolute_url()).status_code == 302

    native = client.get(f"/invoices/{invoice.pk}/pdf/")
    shown = portal.get(f"/portal/{connected.partner.slug}/invoices/{invoice.pk}/pdf/")

    assert native.status_code == 200 and native["Content-Type"] == "application/pdf"
    content = b"".join(native.streaming_content)
    assert content.startswith(b"%PDF") and b"arbridge Sage Intacct sandbox" in content
    assert shown.status_code == 200 and shown["Content-Type"] == "application/pdf"


def test_an_invoice_voided_in_intacct_is_archived_and_a_paid_one_settles(connected, intacct, sync):
    store = intacct.store
    voided, paid = bill(store, "Globex", "100.00"), bill(store, "Initech", "50.00")
    sync(connected)
    store.reverse_invoice(COMPANY, voided)
    invoice = store.companies[COMPANY].invoices[int(paid)]
    session = next(iter(store.sessions.values()))
    store.create_payment(store.companies[COMPANY], session, {
        "CUSTOMERID": invoice["CUSTOMERID"], "FINANCIALENTITY": "BOA-OPERATING",
        "ARPYMTDETAILS": [{"RECORDKEY": paid, "TRX_PAYMENTAMOUNT": "50.00"}],
    })  # fmt: skip

    sync(connected)

    by_total = {i.total: i for i in Invoice.objects.filter(connection=connected)}
    assert by_total[Decimal("100.00")].voided_at is not None
    assert by_total[Decimal("50.00")].balance == Decimal("0.00")
