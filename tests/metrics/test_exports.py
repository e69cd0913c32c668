"""CSV exports read back exactly what is stored."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from arbridge.collections.models import Reminder, ReminderEmail
from arbridge.ledger.models import Invoice, Payment


def download(client, user, table: str) -> list[dict]:
    client.force_login(user)
    response = client.get(reverse("metrics:export", args=[table]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_invoices_round_trip(client, alice, book, partner):
    rows = download(client, alice, "invoices")
    stored = Invoice.objects.for_partner(partner).order_by("id")
    assert [r["number"] for r in rows] == [i.number for i in stored]
    for row, invoice in zip(rows, stored, strict=True):
        assert Decimal(row["total"]) == invoice.total
        assert Decimal(row["balance"]) == invoice.balance
        assert (row["currency"], row["status"], row["issue_date"]) == (
            invoice.currency,
            invoice.status,
            invoice.issue_date.isoformat(),
        )
        assert row["archived"] == str(invoice.archived)


def test_payments_round_trip(client, alice, book, partner):
    rows = download(client, alice, "payments")
    stored = Payment.objects.for_partner(partner).order_by("id")
    assert [(int(r["id"]), Decimal(r["amount"]), r["method"]) for r in rows] == [
        (p.pk, p.amount, p.method) for p in stored
    ]


def test_aging_round_trip(client, alice, book, today):
    rows = {(r["customer"], r["currency"]): r for r in download(client, alice, "aging")}
    assert Decimal(rows["Initech", "USD"]["90+"]) == Decimal("400.00")
    assert Decimal(rows["Initech", "USD"]["total"]) == Decimal("1100.00")
    assert rows["Globex", "EUR"]["current"] == "250.00"


def test_reminders_sent(client, alice, book, partner):
    invoice = book["B"]
    email = ReminderEmail.objects.create(
        partner=partner,
        customer=invoice.customer,
        status="sent",
        recipients="ap@globex.example",
        subject="Reminder: invoice B",
    )
    Reminder.objects.create(partner=partner, invoice=invoice, offset_days=3, email=email)
    rows = download(client, alice, "reminders")
    assert [(r["invoice"], r["step_days"], r["status"], r["subject"]) for r in rows] == [
        ("B", "3", "sent", "Reminder: invoice B")
    ]


@pytest.mark.parametrize("table", ["invoices", "payments", "aging", "reminders"])
def test_another_partner_exports_none_of_acmes_rows(client, charlie, book, table):
    rows = download(client, charlie, table)
    # The other partner has one invoice of its own (X), for Outsider, unpaid.
    expected = {"invoices": ["X"], "aging": ["Outsider"]}.get(table, [])
    assert [r.get("number") or r.get("customer") for r in rows] == expected


def test_an_unknown_table_is_not_found(client, alice):
    client.force_login(alice)
    assert client.get("/reports/export/customers.csv").status_code == 404
