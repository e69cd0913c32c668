"""Ledger rows, built plainly: a customer, invoices and payments in dollars."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.core.models import Partner
from arbridge.ledger.models import Customer, Invoice, Payment


def make_invoice(customer: Customer, number: str, total: str, **fields) -> Invoice:
    fields.setdefault("issue_date", dt.date(2025, 3, 1))
    return Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        total=Decimal(total),
        **fields,
    )


def make_payment(partner: Partner, amount: str, **fields) -> Payment:
    return Payment.objects.create(partner=partner, amount=Decimal(amount), **fields)


@pytest.fixture
def customer(partner: Partner) -> Customer:
    return Customer.objects.create(partner=partner, name="Globex")


@pytest.fixture
def invoice(customer: Customer) -> Invoice:
    return make_invoice(customer, "INV-1", "100.00")
