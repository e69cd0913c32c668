import datetime as dt
from decimal import Decimal

from arbridge.ledger.models import Customer, Invoice
from arbridge.payments import services
from arbridge.core import clock as core_clock


def test_scratch(partner, processor_settings, tokenize, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC), tick=False)
    customer = Customer.objects.create(partner=partner, name="Globex", billing_state="CA")
    inv = Invoice.objects.create(partner=partner, customer=customer, number="INV-1", issue_date=core_clock.today(), due_date=core_clock.today(), total=Decimal("100.00"))
    co = services.open_checkout(customer, {inv: Decimal("100.00")})
    co = services.choose_method(co, tokenize())
    import inspect; print(inspect.signature(services.pay))
    co = services.pay(co.key, return_url="http://testserver/back")
    print(co.status, co.processor_reference, co.error_message)
    co2 = services.open_checkout(customer, {inv: Decimal("0.00") + Decimal("1")}) if False else None
    time_machine.move_to(dt.datetime(2026, 3, 5, 15, tzinfo=dt.UTC), tick=False)
    print(services.poll_processor(partner))
    from arbridge.ledger.models import Deposit
    print(list(Deposit.objects.values("amount")))
