"""The Stripe processor against localstripe (cards) and Stripe's fixtures (ACH, events, payouts)."""

import datetime as dt
import json
import queue
import threading
import time
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from arbridge.payments.base import (
    Charge,
    Decline,
    EventKind,
    Funding,
    InvalidSignature,
    MethodKind,
    MethodRefused,
    Outcome,
    ProcessorError,
)
from arbridge.payments.processors.stripe import StripeProcessor, decline_for, idempotency_key
from tests.payments.stripe_fixtures import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    card,
    fixture,
    localstripe,
    sign,
)

# localstripe's test cards (its resources.py, after docs.stripe.com/testing).
VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"  # attaches, then every charge is declined
DECLINED_ON_ATTACH = "4000000000000002"
AUTHENTICATE = "4000002500003155"  # 3-D Secure on every on-session charge


def credentials(api_base: str) -> dict:
    return {
        "secret_key": SECRET_KEY,
        "publishable_key": PUBLISHABLE_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": api_base,
    }


def charge(method: str, amount: str = "125.50", **fields) -> Charge:
    fields.setdefault("operation_id", f"checkout-{time.monotonic_ns()}")
    return Charge(amount=Decimal(amount), currency="USD", method=method, **fields)


@pytest.fixture(scope="module")
def localstripe_url():
    with localstripe() as url:
        yield url


@pytest.fixture
def processor(localstripe_url) -> StripeProcessor:
    return StripeProcessor(credentials(localstripe_url))


@pytest.fixture
def fake():
    fake = FakeStripe()
    yield fake
    fake.stop()


@pytest.fixture
def faked(fake) -> StripeProcessor:
    return StripeProcessor(credentials(fake.url))


# -- cards, against localstripe -----------------------------------------------------


def test_it_gives_the_portal_its_publishable_key(processor):
    assert processor.client_config() == {"kind": "stripe", "publishable_key": PUBLISHABLE_KEY}


def test_it_describes_a_card_without_its_number(processor, localstripe_url):
    token = card(localstripe_url, VISA)

    method = processor.describe(token)

    assert (method.token, method.kind, method.brand, method.last4) == (
        token,
        MethodKind.CARD,
        "visa",
        "4242",
    )
    assert method.funding == Funding.CREDIT
    assert not method.reusable


def test_an_unknown_token_is_refused_for_the_customer(processor):
    with pytest.raises(MethodRefused, match="does not know"):
        processor.describe("pm_nobody")
    result = processor.capture(charge("pm_nobody"))
    assert result.outcome == Outcome.FAILED and not result.reference
    assert (
        result.error_message == "Stripe does not know this payment method; please enter it again."
    )


def test_it_charges_a_card(processor, localstripe_url):
    token = card(localstripe_url, VISA)

    result = processor.capture(charge(token, "125.50", return_url="https://portal.example/r"))

    assert result.outcome == Outcome.SUCCEEDED
    assert result.amount == Decimal("125.50") and result.currency == "USD"
    assert result.reference.startswith("pi_")
    assert result.method.last4 == "4242"
    assert processor.retrieve(result.reference).outcome == Outcome.SUCCEEDED
    intent = httpx.get(
        f"{localstripe_url}/v1/payment_intents/{result.reference}", auth=(SECRET_KEY, "")
    ).json()
    assert intent["amount"] == 12550


def test_a_declined_card_fails_and_may_be_retried_later(processor, localstripe_url):
    result = processor.capture(charge(card(localstripe_url, DECLINED_ON_CHARGE)))

    assert result.outcome == Outcome.FAILED
    assert result.decline == Decline.SOFT  # Stripe's generic decline
    assert result.error_code == "card_declined"
    assert result.error_message


def test_a_card_asking_for_authentication_waits_for_the_customer(processor, localstripe_url):
    token = card(localstripe_url, AUTHENTICATE)

    result = processor.capture(charge(token, return_url="https://portal.example/r"))
    assert result.outcome == Outcome.REQUIRES_ACTION

    # The customer passes 3-D Secure on Stripe's page (localstripe's stand-in for it).
    intent = httpx.get(
        f"{localstripe_url}/v1/payment_intents/{result.reference}", auth=(SECRET_KEY, "")
    ).json()
    httpx.post(
        f"{localstripe_url}/v1/payment_intents/{result.reference}/_authenticate",
        data={"client_secret": intent["client_secret"], "success": "true", "key": PUBLISHABLE_KEY},
    ).raise_for_status()

    assert processor.retrieve(result.reference).outcome == Outcome.SUCCEEDED


def test_it_cancels_a_payment_awaiting_authentication(processor, localstripe_url):
    result = processor.capture(charge(card(localstripe_url, AUTHENTICATE)))

    cancelled = processor.cancel(result.reference, operation_id="cancel-1")

    assert cancelled.outcome == Outcome.FAILED and cancelled.error_code == "canceled"
    # Cancelling a completed payment leaves it as it is.
    paid = processor.capture(charge(card(localstripe_url, VISA)))
    assert processor.cancel(paid.reference, "cancel-2").outcome == Outcome.SUCCEEDED


def test_it_refunds_part_of_a_payment(processor, localstripe_url):
    paid = processor.capture(charge(card(localstripe_url, VISA), "80.00"))

    refund = processor.refund(paid.reference, Decimal("30.25"), operation_id="refund-1")

    assert refund.success and refund.reference.startswith("re_")
    assert refund.amount == Decimal("30.25") and refund.currency == "USD"
    refused = processor.refund("pi_nobody", Decimal("1.00"), operation_id="refund-2")
    assert not refused.success and refused.error_message


def test_it_saves_a_card_and_charges_it_with_the_customer_away(processor, localstripe_url):
    saved = processor.save_method(card(localstripe_url, VISA), "Globex", "ap@globex.example")

    assert saved.reusable and saved.processor_customer.startswith("cus_")
    assert saved.last4 == "4242"
    result = processor.charge_saved(
        charge(saved.token, "42.00", processor_customer=saved.processor_customer)
    )
    assert result.outcome == Outcome.SUCCEEDED and result.amount == Decimal("42.00")
    intent = httpx.get(
        f"{localstripe_url}/v1/payment_intents/{result.reference}", auth=(SECRET_KEY, "")
    ).json()
    assert intent["customer"] == saved.processor_customer


def test_a_card_declined_when_saved_is_refused_for_the_customer(processor, localstripe_url):
    with pytest.raises(ProcessorError, match="declined"):
        processor.save_method(card(localstripe_url, DECLINED_ON_ATTACH), "Globex", "")


def test_a_payment_while_saving_returns_the_saved_method(processor, localstripe_url):
    token = card(localstripe_url, VISA)

    result = processor.capture(charge(token, save_method=True))

    assert result.outcome == Outcome.SUCCEEDED
    assert result.saved_method.token == token and result.saved_method.reusable
    assert result.saved_method.processor_customer.startswith("cus_")


def test_an_away_customer_cannot_authenticate_so_the_charge_fails(processor, localstripe_url):
    customer = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url})
    cus = customer.v1.customers.create({"name": "Globex"})

    result = processor.charge_saved(
        charge(card(localstripe_url, AUTHENTICATE), processor_customer=cus.id)
    )

    assert result.outcome == Outcome.FAILED
    assert result.error_code == "authentication_required"


def test_an_unreachable_stripe_is_a_processor_error():
    processor = StripeProcessor(credentials("http://127.0.0.1:9"))
    with pytest.raises(ProcessorError):
        processor.retrieve("pi_anything")


@pytest.fixture
def receiver():
    """A loopback endpoint that keeps what localstripe's webhooks deliver."""
    deliveries: queue.Queue = queue.Queue()

    def app(environ, start_response):
        request = Request(environ)
        deliveries.put(SimpleNamespace(body=request.get_data(), headers=request.headers))
        return Response("ok")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.port}/", deliveries
    server.shutdown()


def test_it_reads_a_webhook_that_stripe_signed(processor, localstripe_url, receiver):
    url, deliveries = receiver
    httpx.post(
        f"{localstripe_url}/_config/webhooks/arbridge",
        data={"url": url, "secret": WEBHOOK_SECRET, "events[]": "payment_intent.succeeded"},
    ).raise_for_status()
    paid = processor.capture(charge(card(localstripe_url, VISA), "19.99"))

    # Events of earlier tests may still be on their way; this payment's is the one.
    delivery = deliveries.get(timeout=10)
    while paid.reference.encode() not in delivery.body:
        delivery = deliveries.get(timeout=10)
    processor.verify(delivery)
    events = processor.read(delivery.body)

    assert [(e.kind, e.reference, e.amount) for e in events] == [
        (EventKind.PAYMENT_SUCCEEDED, paid.reference, Decimal("19.99"))
    ]
    assert events[0].id.startswith("evt_")
    other = StripeProcessor({**credentials(localstripe_url), "webhook_secret": "whsec_other"})
    with pytest.raises(InvalidSignature):
        other.verify(delivery)


# -- webhook signatures -------------------------------------------------------------


def delivery(body: bytes, signature: str) -> SimpleNamespace:
    return SimpleNamespace(body=body, headers={"Stripe-Signature": signature})


def succeeded_event_body() -> bytes:
    intent = fixture("payment_intent", id="pi_sig", status="succeeded", amount_received=5000)
    return json.dumps(
        fixture("event", id="evt_sig", type="payment_intent.succeeded", data={"object": intent})
    ).encode()


def test_a_signed_delivery_is_read(faked):
    body = succeeded_event_body()

    assert faked.verify(delivery(body, sign(body))) == "evt_sig"
    (event,) = faked.read(body)

    assert (event.id, event.kind, event.reference, event.amount, event.currency) == (
        "evt_sig",
        EventKind.PAYMENT_SUCCEEDED,
        "pi_sig",
        Decimal("50.00"),
        "USD",
    )


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda body: sign(body, secret="whsec_wrong"), id="wrong secret"),
        pytest.param(lambda body: sign(body, timestamp=int(time.time()) - 301), id="stale"),
        pytest.param(lambda body: "", id="unsigned"),
        pytest.param(lambda body: sign(body + b" "), id="body changed"),
    ],
)
def test_a_delivery_stripe_did_not_sign_is_refused(faked, signature):
    body = succeeded_event_body()
    with pytest.raises(InvalidSignature):
        faked.verify(delivery(body, signature(body)))


def test_a_delivery_within_the_tolerance_is_read(faked):
    body = succeeded_event_body()
    assert faked.verify(delivery(body, sign(body, timestamp=int(time.time()) - 290)))


def test_without_a_webhook_secret_nothing_is_accepted(fake):
    processor = StripeProcessor({**credentials(fake.url), "webhook_secret": ""})
    body = succeeded_event_body()
    with pytest.raises(InvalidSignature):
        processor.verify(delivery(body, sign(body, secret="")))


# -- ACH, 3-D Secure redirects, declines and idempotency, against Stripe's fixtures ---


def test_an_ach_debit_is_pending_under_a_mandate_accepted_online(fake, faked):
    token = fake.add_bank_account()

    result = faked.capture(
        charge(token, "900.00", customer_ip="203.0.113.9", user_agent="Firefox/140")
    )

    assert result.outcome == Outcome.PENDING and result.ok
    assert result.method.kind == MethodKind.ACH
    assert (result.method.brand, result.method.last4) == ("STRIPE TEST BANK", "6789")
    sent = fake.posts[-1]
    assert sent["payment_method_types[0]"] == "us_bank_account"
    assert sent["mandate_data[customer_acceptance][type]"] == "online"
    assert sent["mandate_data[customer_acceptance][online][ip_address]"] == "203.0.113.9"
    assert sent["mandate_data[customer_acceptance][online][user_agent]"] == "Firefox/140"
    assert sent["amount"] == "90000"


def test_a_saved_bank_account_is_debited_without_a_new_mandate(fake, faked):
    token = fake.add_bank_account()

    result = faked.charge_saved(charge(token, processor_customer="cus_saved"))

    assert result.outcome == Outcome.PENDING
    sent = fake.posts[-1]
    assert sent["off_session"] == "true" and sent["customer"] == "cus_saved"
    assert not any(key.startswith("mandate_data") for key in sent)


def test_a_bank_account_is_saved_while_paying(fake, faked):
    token = fake.add_bank_account()

    result = faked.capture(charge(token, save_method=True, customer_ip="203.0.113.9"))

    assert result.saved_method.kind == MethodKind.ACH
    assert result.saved_method.processor_customer.startswith("cus_")
    assert fake.posts[-1]["setup_future_usage"] == "off_session"
    with pytest.raises(ProcessorError, match="while paying"):
        faked.save_method(token, "Globex", "ap@globex.example")


def test_3d_secure_sends_the_customer_to_stripes_page(fake, faked):
    token = fake.add_card()
    fake.redirects[token] = "https://hooks.stripe.com/3d_secure/abc"

    result = faked.capture(charge(token, return_url="https://portal.example/return"))

    assert result.outcome == Outcome.REQUIRES_ACTION
    assert result.action_url == "https://hooks.stripe.com/3d_secure/abc"
    assert fake.posts[-1]["return_url"] == "https://portal.example/return"


@pytest.mark.parametrize(
    "decline_code, decline",
    [
        ("stolen_card", Decline.HARD),
        ("lost_card", Decline.HARD),
        ("do_not_honor", Decline.HARD),
        ("fraudulent", Decline.HARD),
        ("insufficient_funds", Decline.SOFT),
        ("try_again_later", Decline.SOFT),
        ("something_new", Decline.HARD),
    ],
)
def test_a_declined_card_says_whether_to_try_again(fake, faked, decline_code, decline):
    token = fake.add_card()
    fake.declines[token] = decline_code

    result = faked.capture(charge(token))

    assert result.outcome == Outcome.FAILED
    assert result.decline == decline and result.error_code == decline_code
    assert result.reference in fake.intents  # the failed PaymentIntent, for the record


def test_a_card_declined_without_a_reason_counts_as_a_generic_decline():
    assert decline_for("card_declined", "") == Decline.SOFT
    assert decline_for("", "") is None


def test_a_retried_charge_reuses_its_key_and_charges_once(fake, faked):
    token = fake.add_card(funding="debit")
    request = charge(token, operation_id="checkout-1234")

    first, second = faked.capture(request), faked.capture(request)

    assert first.reference == second.reference and len(fake.intents) == 1
    assert first.method.funding == Funding.DEBIT


def test_idempotency_keys_fit_stripes_limit():
    assert idempotency_key("checkout-1") == "arbridge-checkout-1"
    assert idempotency_key("refund-1") != idempotency_key("checkout-1")
    long = idempotency_key("x" * 300)
    assert len(long) <= 255 and long == idempotency_key("x" * 300)
    assert long != idempotency_key("x" * 301)


def test_an_ach_refund_is_asked_for_and_pending(fake, faked):
    paid = faked.capture(charge(fake.add_bank_account(), "900.00", customer_ip="203.0.113.9"))

    refund = faked.refund(paid.reference, Decimal("900.00"), operation_id="refund-9")

    assert refund.success and refund.amount == Decimal("900.00")
    assert fake.posts[-1]["amount"] == "90000"


# -- events and payouts ----------------------------------------------------------------


def intent_fixture(pi: str, amount: int, **changes) -> dict:
    return fixture("payment_intent", id=pi, amount=amount, amount_received=amount, **changes)


def bank_failure(code: str, holder: str) -> dict:
    bank = fixture("payment_method", type="us_bank_account")
    bank["us_bank_account"] = {"account_holder_type": holder, "bank_name": "X", "last4": "6789"}
    return {
        "type": "card_error",
        "code": code,
        "message": "The bank said no.",
        "payment_method": bank,
    }


def test_events_arrive_oldest_first_from_a_cursor(fake, faked):
    fake.add_event("payment_intent.succeeded", intent_fixture("pi_1", 1000, status="succeeded"))
    fake.add_event("plan.created", fixture("plan"))
    fake.add_event(
        "payment_intent.payment_failed",
        intent_fixture(
            "pi_2", 2000, last_payment_error=bank_failure("account_closed", "individual")
        ),
    )

    events, cursor = faked.events("")

    assert [(e.kind, e.reference) for e in events] == [
        (EventKind.PAYMENT_SUCCEEDED, "pi_1"),
        (EventKind.PAYMENT_FAILED, "pi_2"),
    ]
    assert events[1].return_code == "R02" and events[1].message == "The bank said no."
    assert events[0].occurred_at.tzinfo is not None
    assert faked.events(cursor) == ([], cursor)

    dispute = fixture(
        "dispute", id="dp_1", amount=2000, payment_intent="pi_3", reason="debit_not_authorized"
    )
    dispute["payment_method_details"] = {"type": "us_bank_account", "us_bank_account": {}}
    card_dispute = fixture("dispute", id="dp_2", payment_intent="pi_4")
    fake.add_event("charge.dispute.created", dispute)
    fake.add_event("charge.dispute.created", card_dispute)
    refunded = fixture(
        "charge", id="ch_5", payment_intent="pi_5", amount=5000, amount_refunded=3000
    )
    fake.add_event("charge.refunded", refunded, previous_attributes={"amount_refunded": 1000})

    later, newer_cursor = faked.events(cursor)

    assert [(e.kind, e.reference, e.amount, e.return_code) for e in later] == [
        (EventKind.PAYMENT_RETURNED, "pi_3", Decimal("20.00"), "R10"),
        (EventKind.PAYMENT_REFUNDED, "pi_5", Decimal("20.00"), ""),
    ]
    assert newer_cursor == fake.events[-1]["id"]


def test_a_business_accounts_unauthorized_debit_is_r29(fake, faked):
    failure = bank_failure("debit_not_authorized", "company")
    fake.add_event(
        "payment_intent.payment_failed", intent_fixture("pi_1", 10, last_payment_error=failure)
    )

    (event,), _ = faked.events("")

    assert event.return_code == "R29"


def test_events_page_towards_the_present(fake, faked):
    for n in range(250):
        fake.add_event(
            "payment_intent.succeeded", intent_fixture(f"pi_{n}", 100, status="succeeded")
        )
    first = fake.events[0]["id"]

    events, cursor = faked.events(first)

    assert [e.reference for e in events] == [f"pi_{n}" for n in range(1, 250)]
    assert cursor == fake.events[-1]["id"]


def payout_with_items(fake: FakeStripe) -> dict:
    charge_ = fixture("charge", id="ch_1", payment_intent="pi_card")
    ach = fixture("charge", id="ch_2", payment_intent="pi_ach")
    refund = fixture("refund", id="re_1", charge="ch_3", payment_intent="pi_refunded")
    arrival = int(dt.datetime(2026, 3, 4, tzinfo=dt.UTC).timestamp())
    transactions = [
        fake.transaction("charge", 10000, 320, charge_),
        fake.transaction("payment", 90000, 0, ach),
        fake.transaction("refund", -2500, 0, refund),
    ]
    payout = fake.add_payout(97180, arrival, transactions)
    transactions.append(fake.transaction("payout", -97180, 0, payout))
    return payout


def test_a_payout_lists_each_payment_with_its_fee(fake, faked):
    payout = payout_with_items(fake)

    (found,) = faked.payouts(dt.date(2026, 3, 1))

    assert (found.reference, found.amount, found.currency) == (
        payout["id"],
        Decimal("971.80"),
        "USD",
    )
    assert found.arrival_date == dt.date(2026, 3, 4)
    assert [(i.kind, i.payment_reference, i.amount, i.fee, i.net) for i in found.items] == [
        ("charge", "pi_card", Decimal("100.00"), Decimal("3.20"), Decimal("96.80")),
        ("charge", "pi_ach", Decimal("900.00"), Decimal("0.00"), Decimal("900.00")),
        ("refund", "pi_refunded", Decimal("-25.00"), Decimal("0.00"), Decimal("-25.00")),
    ]
    assert sum(i.net for i in found.items) == found.amount
    assert faked.payouts(dt.date(2026, 3, 5)) == []


def test_a_paid_payout_event_carries_the_payout(fake, faked):
    payout = payout_with_items(fake)
    fake.add_event("payout.paid", payout)

    (event,), _ = faked.events("")

    assert event.kind == EventKind.PAYOUT_PAID and event.reference == payout["id"]
    assert event.payout.amount == Decimal("971.80") and len(event.payout.items) == 3
