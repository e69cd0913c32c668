"""What the runner did, as the partner reads it on the dashboard: attempts and upcoming charges."""

import datetime as dt

from django.urls import reverse

from arbridge.portal.models import PortalLink

DUE = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def test_a_soft_decline_shows_on_the_invoice_with_its_code_and_retry(
    client, alice, monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enroll(invoice.customer, "4000000000009995")  # insufficient funds
    client.force_login(alice)
    upcoming = client.get(reverse("dashboard:autopay_upcoming")).context["charges"]
    assert [(c.invoice, c.charge_on) for c in upcoming] == [(invoice, dt.date(2026, 11, 27))]

    monday.move_to(DUE)
    run_autopay()

    page = client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()
    assert "Auto pay attempts" in page
    assert "insufficient_funds" in page and "Retry on Nov 30, 2026" in page
    upcoming = client.get(reverse("dashboard:autopay_upcoming")).context["charges"]
    assert [(c.charge_on, c.retry) for c in upcoming] == [(dt.date(2026, 11, 30), True)]


def test_a_customer_un_enrolled_in_the_portal_is_not_charged(
    client, monday, globex, enroll, run_autopay
):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer)
    link = PortalLink.issue(invoice.customer)
    client.get(link.get_absolute_url())

    client.post(reverse("portal:autopay_unenroll", args=[invoice.partner.slug]))
    monday.move_to(DUE)
    report = run_autopay()

    enrollment.refresh_from_db()
    assert enrollment.status == "cancelled" and report.charged == 0
    assert not invoice.autopay_attempts.exists()
