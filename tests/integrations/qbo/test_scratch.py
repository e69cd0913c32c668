from decimal import Decimal

from arbridge.ledger.models import Invoice, Customer
from arbridge.integrations.models import WebhookEvent


def test_scratch(qbo, company, sync, deliver):
    globex = company.customer("Globex", "ap@globex.example")
    inv = company.invoice(globex, "100.00", "50.00")
    run = sync(qbo)
    print(run.created, run.updated, run.errors)
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("150.00")
    company.pay(inv, "40.00")
    print(deliver())
    print(list(WebhookEvent.objects.values("status", "error", "dedupe_key")))
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("110.00")
