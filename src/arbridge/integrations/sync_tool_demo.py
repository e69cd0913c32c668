"""The demo's Sync Tool: in use, with a few closed ConnectWise invoices waiting for QuickBooks.

The ConnectWise sandbox lives in the web server's memory and is seeded afresh
at every start, so the closed invoices are billed again each time (through
its API, as a billing person would); the partner's preferences are set once,
so a visitor's own choices survive a restart.
"""

import datetime as dt
from decimal import Decimal

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.integrations.models import IntegrationPreferences
from arbridge.sandbox.connectwise import demo as connectwise_demo
from arbridge.sandbox.connectwise.seed import api_client, post

# (customer, number, total): closed in ConnectWise, not in QuickBooks Online.
WAITING = (
    ("Fabrikam Dental Group", "CW-8101", "1240.00"),
    ("Fabrikam Dental Group", "CW-8102", "385.50"),
    ("Tailspin Toys Logistics", "CW-8103", "2975.00"),
    ("Wide World Importers", "CW-8104", "640.25"),
)
_billed = False


def prepare(partner: Partner) -> None:
    """Bill the waiting invoices in this process's sandbox, and put the Sync Tool in use."""
    global _billed
    if not _billed:
        bill_closed_invoices()
        _billed = True
    preferences, created = IntegrationPreferences.objects.get_or_create(partner=partner)
    if created:
        now = clock.now()
        preferences.sync_tool_in_use = True
        preferences.external_payments, preferences.external_payments_since = True, now
        preferences.updated_at = now
        preferences.save()


def bill_closed_invoices() -> None:
    app = connectwise_demo.sandbox()
    issued = app.clock().date() - dt.timedelta(days=3)
    companies: dict[str, int] = {}
    with api_client(app) as client:
        for customer, number, total in WAITING:
            if customer not in companies:
                companies[customer] = post(client, "/company/companies", {"name": customer})["id"]
            post(client, "/finance/invoices", {
                "type": "Standard", "invoiceNumber": number,
                "company": {"id": companies[customer]},
                "status": {"id": 3, "name": "Closed"},
                "date": f"{issued.isoformat()}T00:00:00Z",
                "dueDate": f"{(issued + dt.timedelta(days=30)).isoformat()}T00:00:00Z",
                "total": Decimal(total), "currency": {"id": 7, "currencyCode": "USD"},
            })  # fmt: skip
