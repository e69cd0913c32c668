import datetime as dt

import time_machine
from django.urls import reverse

from arbridge.integrations.models import ExceptionItem
from tests.dashboard.conftest import make_invoice


@time_machine.travel(dt.datetime(2025, 4, 15, 12, tzinfo=dt.UTC), tick=False)
def test_it_counts_unpaid_and_overdue_invoices_and_open_exceptions(
    client, alice, customer, invoice, sync_run, exception_item
):
    make_invoice(customer, "INV-1002", "250.00", due_date=dt.date(2025, 5, 1))
    paid = make_invoice(customer, "INV-1003", "80.00", due_date=dt.date(2025, 3, 1))
    paid.void()
    ExceptionItem.objects.create(
        partner=exception_item.partner,
        kind=ExceptionItem.Kind.OTHER,
        title="Handled already",
        status=ExceptionItem.Status.RESOLVED,
    )
    client.force_login(alice)
    response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<span class="stat-value" data-testid="open-invoices">2</span>' in page
    assert '<span class="stat-value" data-testid="overdue-invoices">1</span>' in page
    assert '<span class="stat-value" data-testid="open-exceptions">1</span>' in page
    # INV-1001 owes 1,000.00 after its payment and credit; INV-1002 owes 250.00.
    assert "1,250.00 USD" in page
    # The connection with its latest run.
    assert "QuickBooks Online" in page
    assert "Failed" in page
