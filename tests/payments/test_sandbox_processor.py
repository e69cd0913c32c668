"""The sandbox processor's client against the sandbox itself, over loopback HTTP."""

import datetime as dt
import itertools
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest

from arbridge.payments import processors
from arbridge.payments.base import (
    Charge,
    Decline,
    EventKind,
    Funding,
    InvalidSignature,
    MethodKind,
    Outcome,
    ProcessorError,
)
from arbridge.payments.processors.sandbox import SandboxProcessor, provision

MONDAY = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
OPERATIONS = itertools.count(1)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(MONDAY, tick=False)
    return time_machine


def charge(method: str, amount: str = "120.00", **fields) -> Charge:
    return Charge(
        operation_id=f"checkout-{next(OPERATIONS)}",
        amount=Decimal(amount),
        currency="USD",
        method=method,
        **fields,
    )


def control(credentials: dict, path: str, body: dict | None = None) -> httpx.Response:
    return httpx.post(f"{credentials['base_url']}/_sandbox/{path}", json=body or {})


def test_the_registry_builds_it(processor_credentials):
    processor = processors.build("sandbox", processor_credentials)

    assert isinstance(processor, SandboxProcessor)
    assert processor.kind == "sandbox"


def test_its_client_config_is_the_hosted_page(sandbox_processor, processor_credentials):
    config = sandbox_processor.client_config()

    assert config == {
        "kind": "sandbox",
        "tokenize_url": f"{processor_credentials['base_url']}/tokenize/"
        f"{processor_credentials['account_id']}",
    }
    page = httpx.get(config["tokenize_url"], params={"kind": "ach", "return_url": "http://x.test/"})
    assert "Routing number" in page.text


@pytest.mark.parametrize(
    ("number", "brand", "funding"),
    [
        ("4242424242424242", "visa", Funding.CREDIT),
        ("4000056655665556", "visa", Funding.DEBIT),
        ("5105105105105100", "mastercard", Funding.PREPAID),
    ],
)
def test_it_describes_a_card_token(sandbox_processor, tokenize, number, brand, funding):
    token = tokenize(number)

    method = sandbox_processor.describe(token)

    assert (method.token, method.kind, method.brand, method.funding) == (
        token,
        MethodKind.CARD,
        brand,
        funding,
    )
    assert method.last4 == number[-4:]
    assert not method.reusable


def test_it_describes_a_bank_account_token(sandbox_processor, tokenize):
    method = sandbox_processor.describe(tokenize(account_number="000123456789"))

    assert (method.kind, method.brand, method.last4) == (MethodKind.ACH, "bank account", "6789")


def test_an_unknown_token_is_a_processor_error(sandbox_processor):
    with pytest.raises(ProcessorError, match="No such payment method"):
        sandbox_processor.describe("tok_nobody")


def test_a_card_is_charged_once_per_operation(sandbox_processor, tokenize):
    request = charge(tokenize(), description="Invoices INV-1", metadata={"checkout": "k"})

    first = sandbox_processor.capture(request)
    again = sandbox_processor.capture(request)

    assert first.outcome == Outcome.SUCCEEDED and first.ok
    assert (first.amount, first.currency) == (Decimal("120.00"), "USD")
    assert first.reference.startswith("py_")
    assert first.method.funding == Funding.CREDIT
    assert again == first
    events, _ = sandbox_processor.events("")
    assert [event.kind for event in events] == [EventKind.PAYMENT_SUCCEEDED]


@pytest.mark.parametrize(
    ("number", "decline", "code"),
    [
        ("4000000000009979", Decline.HARD, "stolen_card"),
        ("4000000000000002", Decline.HARD, "generic_decline"),
        ("4000000000009995", Decline.SOFT, "insufficient_funds"),
    ],
)
def test_a_decline_is_a_failed_result(sandbox_processor, tokenize, number, decline, code):
    result = sandbox_processor.capture(charge(tokenize(number)))

    assert result.outcome == Outcome.FAILED and not result.ok
    assert (result.decline, result.error_code) == (decline, code)
    assert result.error_message
    assert result.reference.startswith("py_")


def test_a_used_token_is_a_failed_result(sandbox_processor, tokenize):
    token = tokenize()
    sandbox_processor.capture(charge(token))

    result = sandbox_processor.capture(charge(token))

    assert result.outcome == Outcome.FAILED
    assert (result.reference, result.decline, result.error_code) == ("", None, "token_already_used")


def test_authentication_then_retrieve(sandbox_processor, tokenize):
    result = sandbox_processor.capture(
        charge(tokenize("4000002500003155"), return_url="http://testserver/pay/k/return")
    )

    assert result.outcome == Outcome.REQUIRES_ACTION and not result.ok
    approved = httpx.post(result.action_url, data={"decision": "approve"})
    assert approved.headers["Location"].startswith("http://testserver/pay/k/return?payment=")
    assert sandbox_processor.retrieve(result.reference).outcome == Outcome.SUCCEEDED


def test_cancel_stops_a_payment_awaiting_authentication(sandbox_processor, tokenize):
    waiting = sandbox_processor.capture(charge(tokenize("4000002500003155")))
    done = sandbox_processor.capture(charge(tokenize()))

    canceled = sandbox_processor.cancel(waiting.reference, "cancel-1")
    not_canceled = sandbox_processor.cancel(done.reference, "cancel-2")

    assert (canceled.outcome, canceled.error_code) == (Outcome.FAILED, "canceled")
    assert not_canceled.outcome == Outcome.SUCCEEDED


def test_a_saved_method_is_charged_off_session(sandbox_processor, tokenize):
    saved = sandbox_processor.save_method(tokenize(), "Globex", "ap@globex.example")

    result = sandbox_processor.charge_saved(
        charge(saved.token, processor_customer=saved.processor_customer)
    )

    assert saved.reusable and saved.token.startswith("pm_")
    assert saved.processor_customer.startswith("cus_")
    assert result.outcome == Outcome.SUCCEEDED


def test_a_saved_card_that_must_authenticate_soft_declines_off_session(sandbox_processor, tokenize):
    saved = sandbox_processor.save_method(tokenize("4000002760003184"), "Globex", "")

    result = sandbox_processor.charge_saved(charge(saved.token))

    assert (result.outcome, result.decline) == (Outcome.FAILED, Decline.SOFT)
    assert result.error_code == "authentication_required"


def test_a_charge_can_save_its_method(sandbox_processor, tokenize):
    result = sandbox_processor.capture(charge(tokenize(), save_method=True))

    assert result.saved_method.reusable
    later = sandbox_processor.charge_saved(
        charge(result.saved_method.token, processor_customer=result.saved_method.processor_customer)
    )
    assert later.outcome == Outcome.SUCCEEDED


def test_an_ach_debit_is_pending_then_settles_then_returns(sandbox_processor, tokenize, clock):
    result = sandbox_processor.capture(charge(tokenize(account_number="000111111101"), "500.00"))
    assert result.outcome == Outcome.PENDING and result.ok

    clock.move_to(MONDAY + dt.timedelta(days=2))
    settled, cursor = sandbox_processor.events("")
    clock.move_to(MONDAY + dt.timedelta(days=4))
    later, cursor = sandbox_processor.events(cursor)

    assert [(e.kind, e.reference) for e in settled] == [
        (EventKind.PAYMENT_SUCCEEDED, result.reference)
    ]
    returned = [e for e in later if e.kind == EventKind.PAYMENT_RETURNED]
    assert [(e.reference, e.return_code, e.amount) for e in returned] == [
        (result.reference, "R01", Decimal("500.00"))
    ]
    assert returned[0].message == "Insufficient funds"
    assert returned[0].occurred_at == MONDAY + dt.timedelta(days=4)
    assert sandbox_processor.retrieve(result.reference).error_code == "R01"
    assert sandbox_processor.events(cursor) == ([], cursor)


def test_payouts_carry_each_payment_with_its_fee(sandbox_processor, tokenize, clock):
    card = sandbox_processor.capture(charge(tokenize(), "100.00"))
    other = sandbox_processor.capture(charge(tokenize("4000056655665556"), "50.00"))
    clock.move_to(MONDAY + dt.timedelta(days=2))

    payouts = sandbox_processor.payouts(MONDAY.date())
    events, _ = sandbox_processor.events("")

    assert len(payouts) == 1
    payout = payouts[0]
    assert payout.arrival_date == dt.date(2026, 3, 4)
    assert {item.payment_reference: item.fee for item in payout.items} == {
        card.reference: Decimal("3.20"),
        other.reference: Decimal("1.75"),
    }
    assert payout.amount == sum(i.amount for i in payout.items) - sum(i.fee for i in payout.items)
    assert payout.amount == Decimal("145.05")
    assert events[-1].kind == EventKind.PAYOUT_PAID
    assert events[-1].payout == payout
    assert sandbox_processor.payouts(dt.date(2026, 3, 5)) == []


def test_a_refund_is_made_once_per_operation(sandbox_processor, tokenize):
    paid = sandbox_processor.capture(charge(tokenize(), "100.00"))

    first = sandbox_processor.refund(paid.reference, Decimal("40.00"), "refund-7")
    again = sandbox_processor.refund(paid.reference, Decimal("40.00"), "refund-7")
    too_much = sandbox_processor.refund(paid.reference, Decimal("70.00"), "refund-8")

    assert first.success and first.reference.startswith("re_")
    assert (first.amount, first.currency) == (Decimal("40.00"), "USD")
    assert again == first
    assert not too_much.success and "60.00" in too_much.error_message
    events, _ = sandbox_processor.events("")
    refunds = [e for e in events if e.kind == EventKind.PAYMENT_REFUNDED]
    assert [(e.reference, e.amount) for e in refunds] == [(paid.reference, Decimal("40.00"))]


def test_funds_received_are_an_event_with_the_memo(sandbox_processor, processor_credentials):
    account = processor_credentials["account_id"]
    control(
        processor_credentials, f"accounts/{account}/funds", {"amount": "980.00", "memo": "INV-1001"}
    )

    events, _ = sandbox_processor.events("")

    assert [(e.kind, e.amount, e.currency, e.memo) for e in events] == [
        (EventKind.FUNDS_RECEIVED, Decimal("980.00"), "USD", "INV-1001")
    ]


# -- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def processor_webhook_url() -> str:
    return "http://testserver/webhooks/processor"


@pytest.fixture
def delivery(sandbox_processor, processor_sandbox, processor_receiver, tokenize):
    """One webhook delivery, as arbridge's endpoint would receive it."""
    processor_receiver.holding = True
    sandbox_processor.capture(charge(tokenize(), "75.00"))
    assert processor_sandbox.flush_webhooks() == 1
    body, headers = processor_receiver.deliveries[0]
    return SimpleNamespace(body=body, headers=headers)


def receive(processor, delivery) -> list:
    """Verify a delivery as the webhook endpoint does, then read it as its job does."""
    processor.verify(delivery)
    return processor.read(delivery.body)


def test_a_signed_delivery_is_read(sandbox_processor, delivery):
    events = receive(sandbox_processor, delivery)

    assert [(e.kind, e.amount) for e in events] == [(EventKind.PAYMENT_SUCCEEDED, Decimal("75.00"))]
    assert events == sandbox_processor.events("")[0]


def test_a_tampered_delivery_is_refused(sandbox_processor, delivery):
    forged = SimpleNamespace(
        body=delivery.body.replace(b"75.00", b"7.50"), headers=delivery.headers
    )

    with pytest.raises(InvalidSignature):
        sandbox_processor.verify(forged)


def test_a_delivery_signed_with_another_secret_is_refused(processor_credentials, delivery):
    other = SandboxProcessor({**processor_credentials, "webhook_secret": "whsec_other"})
    unsigned = SimpleNamespace(body=delivery.body, headers={})

    with pytest.raises(InvalidSignature):
        other.verify(delivery)
    with pytest.raises(InvalidSignature):
        SandboxProcessor(processor_credentials).verify(unsigned)


def test_an_old_delivery_is_refused(clock, sandbox_processor, delivery):
    clock.shift(dt.timedelta(seconds=300))
    assert receive(sandbox_processor, delivery)

    clock.shift(dt.timedelta(seconds=1))
    with pytest.raises(InvalidSignature, match="tolerance"):
        sandbox_processor.verify(delivery)


# -- failures --------------------------------------------------------------------------------


def test_a_failing_processor_is_a_processor_error(
    sandbox_processor, processor_credentials, tokenize
):
    token = tokenize()
    control(processor_credentials, "faults", {"error_rate": 1, "error_kinds": ["500"]})

    with pytest.raises(ProcessorError, match="500"):
        sandbox_processor.capture(charge(token))
    with pytest.raises(ProcessorError):
        sandbox_processor.events("")


def test_a_timed_out_charge_is_found_by_asking_again(
    sandbox_processor, processor_credentials, tokenize
):
    request = charge(tokenize())
    faults = {"error_rate": 1, "error_kinds": ["timeout"], "timeout_ms": 200}
    control(processor_credentials, "faults", faults)
    impatient = SandboxProcessor(processor_credentials, http=httpx.Client(timeout=0.05))

    with pytest.raises(ProcessorError):
        impatient.capture(request)
    control(processor_credentials, "faults", {"error_rate": 0})
    result = sandbox_processor.capture(request)

    assert result.outcome == Outcome.SUCCEEDED
    assert len(sandbox_processor.events("")[0]) == 1


def test_an_unreachable_processor_is_a_processor_error(processor_credentials):
    gone = SandboxProcessor({**processor_credentials, "base_url": "http://127.0.0.1:9"})

    with pytest.raises(ProcessorError):
        gone.retrieve("py_1")
    with pytest.raises(ProcessorError):
        provision("http://127.0.0.1:9", "Acme IT")


def test_a_wrong_key_is_a_processor_error(processor_credentials):
    wrong = SandboxProcessor({**processor_credentials, "api_key": "sk_sandbox_wrong"})

    with pytest.raises(ProcessorError, match="401"):
        wrong.payouts(dt.date(2026, 1, 1))


def test_one_account_cannot_use_anothers_tokens(processor_server, sandbox_processor, tokenize):
    other = SandboxProcessor(provision(processor_server.url, "Other MSP"))
    token = tokenize()

    with pytest.raises(ProcessorError):
        other.describe(token)
    assert other.capture(charge(token)).outcome == Outcome.FAILED
    assert sandbox_processor.capture(charge(token)).outcome == Outcome.SUCCEEDED
