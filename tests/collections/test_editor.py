"""Sequences and templates edited in the dashboard, previewed, and sent as edited."""

from django.urls import reverse

from arbridge.collections.models import CollectionsSettings, CustomerPolicy, Sequence, Step
from arbridge.core.models import AuditEntry

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

HANK = "hank@globex.example"


def step_of(partner, offset: int, sequence: Sequence | None = None) -> Step:
    sequence = sequence or Sequence.default_for(partner)
    return sequence.steps.get(offset_days=offset)


def edit(step: Step, **changes) -> dict:
    data = {
        "offset_days": step.offset_days,
        "subject_template": step.subject_template,
        "body_template": step.body_template,
    }
    if step.is_final:
        data["is_final"] = "on"
    return data | changes


def preview_of(page: str) -> tuple[str, str]:
    subject = page.split('data-testid="preview-subject">')[1].split("</strong>")[0]
    body = page.split('data-testid="preview-body"')[1].split(">", 1)[1].split("</pre>")[0]
    return subject, body


def test_a_preview_shows_the_email_as_the_customer_who_owes_most_would_get_it(
    client, alice, partner, day, overdue, settings
):
    day(3, run=False)
    step = step_of(partner, 3)
    client.force_login(alice)

    page = client.get(reverse("collections:step", args=[step.pk])).content.decode()

    subject, body = preview_of(page)
    assert subject == "Reminder: Invoice INV-1001 from Acme IT, 3 days overdue"
    assert "Hello Globex Corporation" in body and "INV-1001" in body
    assert "1,500.00 USD" in body and "(3 days late)" in body
    assert f"Pay online: {settings.BASE_URL}/portal/acme-it/\n" in body
    assert "billing@acme.example" in body  # the partner's branding: name and support address
    assert "Acme IT &lt;arbridge@localhost&gt;" in page and partner.primary_colour in page


def test_preview_does_not_save_and_save_is_what_the_run_sends(
    client, alice, partner, day, overdue, inbox, settings
):
    day(3, run=False)
    step = step_of(partner, 3)
    client.force_login(alice)
    url = reverse("collections:step", args=[step.pk])
    new_subject = "{{ customer.name }}, {{ what }} is {{ step.offset_days }} days late"
    new_body = (
        "Please pay {{ balance }} at {{ pay_url }}"
        "{% for l in invoices %} {{ l.invoice.number }}{% endfor %}"
    )

    page = client.post(
        url, edit(step, subject_template=new_subject, body_template=new_body, action="preview")
    ).content.decode()
    subject, body = preview_of(page)
    assert subject == "Globex Corporation, Invoice INV-1001 is 3 days late"
    assert body.startswith(f"Please pay 1,500.00 USD at {settings.BASE_URL}/portal/acme-it/ ")
    step.refresh_from_db()
    assert step.subject_template != new_subject

    response = client.post(
        url, edit(step, subject_template=new_subject, body_template=new_body, action="save")
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="collections.step_saved").exists()
    day(3)
    (message,) = inbox.to(HANK)
    assert message["Subject"] == "Globex Corporation, Invoice INV-1001 is 3 days late"
    assert "/portal/l/" in message.get_content()  # the real email signs the customer in


def test_a_template_that_does_not_compile_is_refused(client, alice, partner):
    step = step_of(partner, 0)
    client.force_login(alice)

    page = client.post(
        reverse("collections:step", args=[step.pk]),
        edit(step, body_template="{% for x in %}", action="save"),
    ).content.decode()

    assert "The template does not compile" in page
    step.refresh_from_db()
    assert "{% for x in %}" not in step.body_template


def test_a_template_sees_values_not_the_models_behind_them(client, alice, partner, day, overdue):
    day(0, run=False)
    step = step_of(partner, 0)
    client.force_login(alice)

    page = client.post(
        reverse("collections:step", args=[step.pk]),
        edit(
            step,
            body_template="[{{ customer.invoices.all }}][{{ customer.partner.memberships.all }}]",
            action="preview",
        ),
    ).content.decode()

    assert preview_of(page)[1].startswith("[][]")


def test_with_nothing_owed_the_preview_uses_a_sample_customer(client, alice, partner):
    client.force_login(alice)
    page = client.get(reverse("collections:step", args=[step_of(partner, 7).pk])).content.decode()

    subject, body = preview_of(page)
    assert subject == "Second reminder: Invoice INV-0001 from Acme IT, a week overdue"
    assert "Sample Customer Ltd" in body and "1,250.00 USD" in body


def test_a_customer_on_their_own_sequence_gets_its_steps_from_the_next_one(
    client, alice, partner, globex, day, overdue, inbox
):
    client.force_login(alice)
    client.post(reverse("collections:create_sequence"), {"name": "Gentle"})
    gentle = Sequence.objects.get(name="Gentle")
    assert sorted(gentle.steps.values_list("offset_days", flat=True)) == [-3, 0, 3, 7, 14, 30]
    client.post(reverse("collections:delete_step", args=[step_of(partner, 3, gentle).pk]))
    client.post(reverse("collections:delete_step", args=[step_of(partner, 7, gentle).pk]))
    response = client.post(reverse("collections:add_step", args=[gentle.pk]), {"offset_days": 10})
    assert response.status_code == 302
    ten = step_of(partner, 10, gentle)
    client.post(
        reverse("collections:step", args=[ten.pk]),
        edit(ten, subject_template="Gentle nudge: {{ what }}", action="save"),
    )

    day(0)
    client.force_login(alice)  # a month on: the session started at day -30 has expired
    response = client.post(
        reverse("collections:choose_sequence", args=[globex.pk]), {"sequence": gentle.pk}
    )
    assert response.status_code == 302, response.content.decode()
    assert CustomerPolicy.objects.get(customer=globex).sequence == gentle
    for n in range(1, 12):
        day(n)

    assert [m["Subject"] for m in inbox.to(HANK)] == [
        "Invoice INV-1001 from Acme IT: due today",
        "Gentle nudge: Invoice INV-1001",
    ]

    # Back to the default: its next step after T+10 is T+14.
    client.post(reverse("collections:choose_sequence", args=[globex.pk]), {"sequence": ""})
    day(14)
    assert inbox.to(HANK)[-1]["Subject"] == "Invoice INV-1001 from Acme IT: 14 days overdue"


def test_making_another_sequence_the_default(client, alice, partner):
    client.force_login(alice)
    client.post(reverse("collections:create_sequence"), {"name": "Firm"})
    firm = Sequence.objects.get(name="Firm")

    client.post(reverse("collections:make_default", args=[firm.pk]))

    assert Sequence.default_for(partner) == Sequence.objects.get(name="Firm")
    standard = Sequence.objects.get(name="Standard")
    response = client.post(reverse("collections:delete_sequence", args=[firm.pk]))
    assert response.status_code == 302 and Sequence.objects.filter(pk=firm.pk).exists()
    client.post(reverse("collections:delete_sequence", args=[standard.pk]))
    assert list(Sequence.objects.values_list("name", flat=True)) == ["Firm"]


def test_statement_day_is_set_in_settings(client, alice, partner):
    client.force_login(alice)
    url = reverse("collections:settings")

    assert client.post(url, {"statement_day": 29, "reminders_enabled": "on"}).status_code == 200
    client.post(url, {"statement_day": 5, "reminders_enabled": "on"})

    found = CollectionsSettings.for_partner(partner)
    assert found.statement_day == 5 and found.reminders_enabled


def test_only_owners_and_admins_edit(client, bob, partner):
    step = step_of(partner, 0)
    client.force_login(bob)  # finance

    assert client.get(reverse("collections:step", args=[step.pk])).status_code == 200
    page = client.post(
        reverse("collections:step", args=[step.pk]),
        edit(step, subject_template="x", action="save"),
    )
    assert page.status_code == 403
    assert client.post(reverse("collections:create_sequence"), {"name": "X"}).status_code == 403
    assert client.get(reverse("collections:settings")).status_code == 403
    step.refresh_from_db()
    assert step.subject_template != "x"
