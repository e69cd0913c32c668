"""The partner's auto pay pages: settings, rules, enrollments, upcoming charges, attempts.

Globex (tests/dashboard/conftest.py) has a card saved at the sandbox
processor from an earlier portal payment; the rows are built as the portal
and the runner leave them.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from arbridge.autopay.models import Attempt, AutopaySettings, Enrollment, Rule, Step
from arbridge.core import clock
from arbridge.core.models import AuditEntry, Membership
from arbridge.ledger.models import Customer
from arbridge.payments.models import SavedMethod
from tests.conftest import PASSWORD
from tests.dashboard.conftest import make_invoice

AUTOPAY = reverse("dashboard:autopay")
UPCOMING = reverse("dashboard:autopay_upcoming")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


def save_method(customer: Customer, last4: str = "4242", kind: str = "card") -> SavedMethod:
    return SavedMethod.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        processor="sandbox",
        token=f"pm_{customer.pk}_{last4}",
        kind=kind,
        brand="visa" if kind == "card" else "bank",
        last4=last4,
    )


@pytest.fixture
def card(customer) -> SavedMethod:
    return save_method(customer)


@pytest.fixture
def enrolled(card) -> Enrollment:
    return Enrollment.enroll(
        card,
        source=Enrollment.Source.PORTAL,
        authorization="I authorize Acme IT to charge the card shown.",
        evidence={"ip": "203.0.113.7", "user_agent": BROWSER},
    )


@pytest.fixture
def rule(partner) -> Rule:
    return Rule.objects.create(partner=partner, priority=10, trigger=Rule.Trigger.AFTER_DUE)


@pytest.fixture
def viewer(partner) -> User:
    user = User.objects.create_user("vera", "vera@acme.example", PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def umbrella(other_partner) -> Customer:
    return Customer.objects.create(partner=other_partner, name="Umbrella Corp")


# -- settings ------------------------------------------------------------------------


def test_the_owner_turns_auto_pay_on_in_a_pilot(client, alice, partner):
    client.force_login(alice)
    assert "Auto pay" in client.get(reverse("dashboard:overview")).content.decode()

    response = client.post(
        reverse("dashboard:autopay_settings"),
        {"enabled": "on", "pilot": "on", "lead_days": "5", "retry_days": "2, 4,6"},
    )

    assert response["Location"] == AUTOPAY
    settings = AutopaySettings.of(partner)
    assert (settings.enabled, settings.pilot, settings.lead_days) == (True, True, 5)
    assert settings.retry_schedule == [2, 4, 6]
    assert AuditEntry.objects.filter(action="autopay.settings_changed").exists()


def test_a_retry_schedule_that_is_not_days_is_refused(client, alice, partner):
    client.force_login(alice)

    response = client.post(
        reverse("dashboard:autopay_settings"), {"lead_days": "3", "retry_days": "3,soon"}
    )

    assert response.status_code == 400
    assert "separated by commas" in response.content.decode()
    assert AutopaySettings.of(partner).retry_days == "3,5,7"


def test_only_managers_change_settings_and_rules(client, bob, partner, rule):
    client.force_login(bob)
    page = client.get(AUTOPAY)
    assert page.status_code == 200 and "Add a rule" not in page.content.decode()

    assert client.post(reverse("dashboard:autopay_settings"), {"enabled": "on"}).status_code == 403
    assert client.post(reverse("dashboard:autopay_rule_new"), {"days": "1"}).status_code == 403
    assert client.post(reverse("dashboard:autopay_rule_delete", args=[rule.pk])).status_code == 403
    assert not AutopaySettings.of(partner).enabled and Rule.objects.count() == 1


# -- rules ---------------------------------------------------------------------------


def add_rule(client, **fields) -> Rule:
    data = {"trigger": "after_due", "days": "0", "terms": "", "amount_cap": "", "active": "on"}
    response = client.post(reverse("dashboard:autopay_rule_new"), data | fields)
    assert response.status_code == 302, response.content.decode()
    return Rule.objects.latest("id")


def rule_order(client) -> list[str]:
    return [str(r) for r in client.get(AUTOPAY).context["rules"]]


def test_rules_are_added_last_edited_and_reordered(client, alice, partner):
    client.force_login(alice)
    net30 = add_rule(client, trigger="before_due", days="3", terms="Net 30")
    capped = add_rule(client, trigger="after_created", days="7", amount_cap="5000.00")
    assert rule_order(client) == [
        "3 days before the due date",
        "7 days after the invoice is created",
    ]
    assert capped.amount_cap == Decimal("5000.00") and net30.term_names == {"net 30"}

    client.post(reverse("dashboard:autopay_rule_move", args=[capped.pk]), {"direction": "up"})
    assert rule_order(client) == [
        "7 days after the invoice is created",
        "3 days before the due date",
    ]

    url = reverse("dashboard:autopay_rule", args=[net30.pk])
    assert client.get(url).status_code == 200
    data = {"trigger": "after_due", "days": "2", "terms": "Net 30", "amount_cap": ""}
    client.post(url, data)
    net30.refresh_from_db()
    assert str(net30) == "2 days after the due date" and not net30.active

    client.post(reverse("dashboard:autopay_rule_delete", args=[capped.pk]))
    assert rule_order(client) == ["2 days after the due date"]


def test_a_rule_that_is_not_valid_is_refused(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("dashboard:autopay_rule_new"), {"trigger": "someday", "days": "-1"}
    )

    assert response.status_code == 400
    assert not Rule.objects.exists()


# -- upcoming charges ----------------------------------------------------------------


def test_upcoming_charges_follow_the_rules_as_they_are_now(client, alice, customer, enrolled, rule):
    today = clock.today()
    soon = make_invoice(customer, "INV-2001", "300.00", due_date=today + dt.timedelta(days=10))
    make_invoice(customer, "INV-2002", "80.00", due_date=today + dt.timedelta(days=45))
    client.force_login(alice)

    response = client.get(UPCOMING)

    page = response.content.decode()
    assert [(c.invoice.number, c.charge_on) for c in response.context["charges"]] == [
        ("INV-2001", soon.due_date)
    ]
    assert "300.00" in page and "Visa ending 4242" in page and "Globex Corporation" in page
    assert "INV-2002" not in page

    rule.trigger, rule.days = Rule.Trigger.BEFORE_DUE, 3
    rule.save()
    charges = client.get(UPCOMING).context["charges"]
    assert [c.charge_on for c in charges] == [soon.due_date - dt.timedelta(days=3)]


def test_customers_not_enrolled_have_no_upcoming_charges(client, alice, customer, rule):
    make_invoice(customer, "INV-2001", "300.00", due_date=clock.today() + dt.timedelta(days=2))
    client.force_login(alice)

    response = client.get(UPCOMING)

    assert response.context["charges"] == []
    assert "No charges in the next 30 days" in response.content.decode()


# -- one customer's enrollment -------------------------------------------------------


def test_the_customer_page_shows_the_enrollment_and_its_evidence(client, alice, customer, enrolled):
    client.force_login(alice)

    page = client.get(reverse("dashboard:customer", args=[customer.pk])).content.decode()

    assert "Visa ending 4242" in page and "by the customer in the portal" in page
    assert "I authorize Acme IT to charge the card shown." in page
    assert "203.0.113.7" in page and BROWSER in page
    listed = client.get(AUTOPAY).content.decode()
    assert "Globex Corporation" in listed and "Visa ending 4242" in listed


def test_the_partner_enrolls_a_customer_who_authorized_it(client, bob, customer):
    account = save_method(customer, "6789", kind="ach")
    url = reverse("dashboard:autopay_enroll", args=[customer.pk])
    client.force_login(bob)
    form = client.get(url).content.decode()
    assert "Bank ending 6789" in form and "debit the bank account shown" in form

    response = client.post(
        url,
        {"method": account.pk, "how": "Signed form of Dec 1, in the file", "agreed": "on"},
        HTTP_USER_AGENT=BROWSER,
    )

    assert response["Location"] == reverse("dashboard:customer", args=[customer.pk])
    enrollment = Enrollment.objects.get(customer=customer)
    assert enrollment.is_active and enrollment.method == account
    assert enrollment.source == Enrollment.Source.PARTNER
    assert "debit the bank account shown" in enrollment.authorization
    assert enrollment.evidence["entered_by"] == "bob"
    assert enrollment.evidence["how"] == "Signed form of Dec 1, in the file"
    assert enrollment.evidence["ip"] == "127.0.0.1" and enrollment.evidence["user_agent"] == BROWSER
    assert AuditEntry.objects.get(action="autopay.enrolled").actor == bob


@pytest.mark.parametrize(
    "data, error",
    [
        ({"agreed": "on"}, "This field is required"),
        ({"how": "On the phone"}, "This field is required"),
    ],
)
def test_the_partner_must_say_how_the_customer_agreed(client, bob, customer, card, data, error):
    client.force_login(bob)

    response = client.post(
        reverse("dashboard:autopay_enroll", args=[customer.pk]), {"method": card.pk} | data
    )

    assert response.status_code == 400 and error in response.content.decode()
    assert not Enrollment.objects.exists()


def test_a_customer_without_a_saved_method_cannot_be_enrolled(client, bob, customer):
    client.force_login(bob)

    page = client.get(reverse("dashboard:autopay_enroll", args=[customer.pk])).content.decode()

    assert "has no saved payment method" in page


def test_the_partner_un_enrolls_and_puts_customers_in_the_pilot(client, bob, customer, enrolled):
    client.force_login(bob)

    client.post(reverse("dashboard:autopay_pilot", args=[customer.pk]), {"pilot": "on"})
    enrolled.refresh_from_db()
    assert enrolled.pilot
    assert "1 customer in the pilot" in client.get(AUTOPAY).content.decode()
    client.post(reverse("dashboard:autopay_pilot", args=[customer.pk]))
    enrolled.refresh_from_db()
    assert not enrolled.pilot

    response = client.post(reverse("dashboard:autopay_unenroll", args=[customer.pk]))

    assert response["Location"] == reverse("dashboard:customer", args=[customer.pk])
    enrolled.refresh_from_db()
    assert enrolled.status == Enrollment.Status.CANCELLED
    assert enrolled.evidence["cancelled_by"] == "partner" and enrolled.evidence["ip"]
    page = client.get(reverse("dashboard:customer", args=[customer.pk])).content.decode()
    assert "Not enrolled" in page and "Enroll in auto pay" in page


def test_a_viewer_sees_enrollments_but_cannot_change_them(client, viewer, customer, enrolled):
    client.force_login(viewer)

    page = client.get(reverse("dashboard:customer", args=[customer.pk])).content.decode()

    assert "Visa ending 4242" in page and "Un-enroll" not in page
    assert client.post(reverse("dashboard:autopay_unenroll", args=[customer.pk])).status_code == 403
    enrolled.refresh_from_db()
    assert enrolled.status == Enrollment.Status.ACTIVE


# -- the invoice page ----------------------------------------------------------------


def test_the_invoice_shows_every_attempt_its_decline_and_next_step(
    client, alice, partner, invoice, enrolled, card
):
    common = {"partner": partner, "invoice": invoice, "enrollment": enrolled, "method": card}
    common |= {"method_brand": "visa", "method_last4": "4242", "amount": invoice.balance}
    Attempt.objects.create(
        number=1,
        status=Attempt.Status.FAILED,
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
        next_step=Step.RETRY,
        next_attempt_at=dt.datetime(2025, 4, 3, 15, tzinfo=dt.UTC),
        **common,
    )
    Attempt.objects.create(
        number=2,
        status=Attempt.Status.FAILED,
        decline_code="do_not_honor",
        advice_code="03",
        next_step=Step.STOP,
        **common,
    )
    client.force_login(alice)

    page = client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()

    assert "Auto pay attempts" in page
    assert "insufficient_funds" in page and "Retry on Apr 3, 2025" in page
    assert "do_not_honor" in page and "advice 03" in page and "Stop: pay another way" in page


def test_an_invoice_never_charged_by_auto_pay_shows_no_attempts(client, alice, invoice):
    client.force_login(alice)

    page = client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()

    assert "Auto pay attempts" not in page


# -- another partner -----------------------------------------------------------------


def test_another_partner_sees_none_of_acmes_enrollments_or_rules(
    client, charlie, enrolled, rule, customer
):
    make_invoice(customer, "INV-2001", "300.00", due_date=clock.today() + dt.timedelta(days=1))
    client.force_login(charlie)

    for url in (AUTOPAY, UPCOMING):
        page = client.get(url).content.decode()
        assert "Other MSP" in page
        assert "Globex" not in page and "4242" not in page and "INV-2001" not in page
    assert client.get(AUTOPAY).context["rules"] == []


def test_another_partner_cannot_alter_acmes_enrollments_or_rules(
    client, charlie, customer, card, enrolled, rule
):
    client.force_login(charlie)
    urls = [
        reverse("dashboard:autopay_enroll", args=[customer.pk]),
        reverse("dashboard:autopay_unenroll", args=[customer.pk]),
        reverse("dashboard:autopay_pilot", args=[customer.pk]),
        reverse("dashboard:autopay_rule", args=[rule.pk]),
        reverse("dashboard:autopay_rule_move", args=[rule.pk]),
        reverse("dashboard:autopay_rule_delete", args=[rule.pk]),
    ]

    data = {"method": card.pk, "how": "x", "agreed": "on", "pilot": "on", "days": "9"}
    assert {client.post(url, data).status_code for url in urls} == {404}

    enrolled.refresh_from_db(), rule.refresh_from_db()
    assert enrolled.status == Enrollment.Status.ACTIVE and not enrolled.pilot
    assert enrolled.source == Enrollment.Source.PORTAL and rule.days == 0


def test_a_partner_cannot_enroll_its_customer_with_another_partners_method(
    client, alice, customer, umbrella
):
    theirs = save_method(umbrella, "1881")
    client.force_login(alice)

    response = client.post(
        reverse("dashboard:autopay_enroll", args=[customer.pk]),
        {"method": theirs.pk, "how": "Phone", "agreed": "on"},
    )

    assert response.status_code == 400
    assert not Enrollment.objects.exists()


def test_enrolling_again_keeps_the_customers_own_authorization(client, bob, customer, enrolled):
    account = save_method(customer, "6789", kind="ach")
    client.force_login(bob)

    client.post(
        reverse("dashboard:autopay_enroll", args=[customer.pk]),
        {"method": account.pk, "how": "Phone call, recorded", "agreed": "on"},
    )

    enrolled.refresh_from_db()
    assert enrolled.method == account and enrolled.source == Enrollment.Source.PARTNER
    [earlier] = enrolled.evidence["earlier"]
    assert earlier["source"] == "portal" and earlier["evidence"]["ip"] == "203.0.113.7"
    assert earlier["authorization"] == "I authorize Acme IT to charge the card shown."
