"""The demo data: a realistic partner built through the ledger, seeded once."""

import json

from django.contrib.auth import authenticate

from arbridge.core import demo
from arbridge.core.models import ApiKey, Membership, Partner
from arbridge.integrations.models import Connection, ExceptionItem, ExternalRef
from arbridge.ledger.models import Contact, Customer, Invoice, Payment


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Partner, Customer, Contact, Invoice, Payment, ExternalRef, ExceptionItem)
    }


def test_it_seeds_northwind_once_with_three_connections_and_a_few_hundred_invoices(db):
    partner = demo.seed()
    seeded = counts()
    assert demo.seed() == partner
    assert counts() == seeded

    assert partner.name == "Northwind MSP"
    assert Membership.objects.get(partner=partner).role == Membership.Role.OWNER
    connections = Connection.objects.for_partner(partner)
    assert {(c.role, c.kind, c.status) for c in connections} == {
        ("primary", "qbo", "connected"),
        ("secondary", "halopsa", "connected"),
        ("tertiary", "connectwise", "connected"),
    }

    customers = Customer.objects.for_partner(partner)
    assert customers.count() == 60
    for customer in customers:
        billing = customer.contacts.filter(is_billing=True).count()
        assert 1 <= billing <= 2
        assert customer.contacts.filter(is_billing=False).count() == 1

    invoices = Invoice.objects.for_partner(partner)
    assert 250 <= invoices.count() <= 350
    assert set(invoices.values_list("status", flat=True)) == set(Invoice.Status.values)
    assert invoices.filter(connection__kind="halopsa").exists()
    assert invoices.filter(connection__kind="connectwise").exists()
    for invoice in invoices.prefetch_related("lines"):
        assert 1 <= len(invoice.lines.all()) <= 4
        assert sum(line.amount for line in invoice.lines.all()) == invoice.total
        assert ExternalRef.objects.filter(
            connection=invoice.connection, entity="invoice", local_id=invoice.pk
        ).exists()
        if invoice.status != Invoice.Status.VOID:
            settled = invoice.applied_payments() + invoice.applied_credits()
            assert invoice.balance == invoice.total - settled
    assert invoices.filter(due_date__lt=demo.clock.today(), status="open").exists()

    external = Payment.objects.for_partner(partner).filter(origin=Payment.Origin.EXTERNAL)
    assert external.exists()

    malformed = ExceptionItem.objects.for_partner(partner).get(kind="malformed_record")
    assert malformed.status == ExceptionItem.Status.OPEN
    assert json.loads(malformed.raw_payload)["invoicenumber"] == "H-20977"


def test_each_start_keeps_the_password_and_issues_a_new_key(db):
    first = demo.start()
    second = demo.start()

    assert second.password == first.password
    assert authenticate(username=second.username, password=second.password) is not None
    assert ApiKey.objects.authenticate(first.api_key) is None
    key = ApiKey.objects.authenticate(second.api_key)
    assert key.partner.name == "Northwind MSP"
