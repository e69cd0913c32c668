import pytest
from django.urls import reverse

from arbridge.core.models import AuditEntry, Membership
from arbridge.integrations.models import ExceptionItem, SyncRun

EXCEPTIONS = reverse("dashboard:exceptions")


@pytest.fixture
def resolved(partner) -> ExceptionItem:
    return ExceptionItem.objects.create(
        partner=partner,
        kind=ExceptionItem.Kind.CONFLICT,
        title="Old conflict",
        status=ExceptionItem.Status.RESOLVED,
    )


def titles_in(response) -> list[str]:
    return [item.title for item in response.context["items"]]


@pytest.mark.parametrize(
    "status, titles",
    [
        (None, ["Customer 77 could not be read"]),
        ("open", ["Customer 77 could not be read"]),
        ("resolved", ["Old conflict"]),
        ("all", ["Old conflict", "Customer 77 could not be read"]),
    ],
)
def test_it_filters_open_and_resolved(client, alice, exception_item, resolved, status, titles):
    client.force_login(alice)
    params = {"status": status} if status else {}
    assert titles_in(client.get(EXCEPTIONS, params)) == titles


def test_the_detail_shows_reason_and_raw_payload(client, alice, exception_item):
    client.force_login(alice)
    page = client.get(reverse("dashboard:exception", args=[exception_item.pk])).content.decode()
    assert "DisplayName is missing" in page
    assert "{&quot;Id&quot;: &quot;77&quot;, &quot;DisplayName&quot;: null}" in page
    assert "Malformed record" in page
    assert "Resolve" in page
    assert "Retry" in page


def test_a_teammate_resolves_an_exception(client, bob, exception_item):
    client.force_login(bob)
    url = reverse("dashboard:resolve_exception", args=[exception_item.pk])
    response = client.post(url, follow=True)
    assert "Exception resolved." in response.content.decode()
    exception_item.refresh_from_db()
    assert exception_item.status == ExceptionItem.Status.RESOLVED
    assert exception_item.resolved_by == bob
    assert AuditEntry.objects.filter(action="exception.resolved", actor=bob).count() == 1

    response = client.post(url, follow=True)
    assert "already resolved" in response.content.decode()
    assert AuditEntry.objects.filter(action="exception.resolved").count() == 1


def test_retry_of_a_sync_failure_queues_a_new_sync(client, alice, exception_item):
    client.force_login(alice)
    before = SyncRun.objects.count()
    response = client.post(
        reverse("dashboard:retry_exception", args=[exception_item.pk]), follow=True
    )
    assert "Retry queued" in response.content.decode()
    assert SyncRun.objects.count() == before + 1
    assert SyncRun.objects.first().trigger == SyncRun.Trigger.MANUAL
    exception_item.refresh_from_db()
    assert exception_item.status == ExceptionItem.Status.RESOLVED


def test_nothing_to_retry_is_said_so(client, alice, partner):
    item = ExceptionItem.objects.create(
        partner=partner, kind=ExceptionItem.Kind.OTHER, title="Check by hand"
    )
    client.force_login(alice)
    page = client.get(reverse("dashboard:exception", args=[item.pk])).content.decode()
    assert "Retry" not in page
    response = client.post(reverse("dashboard:retry_exception", args=[item.pk]), follow=True)
    assert "nothing to retry" in response.content.decode()
    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.OPEN


@pytest.mark.parametrize("action", ["resolve_exception", "retry_exception"])
def test_viewers_may_not_resolve_or_retry(client, bob, exception_item, action):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    client.force_login(bob)
    page = client.get(reverse("dashboard:exception", args=[exception_item.pk])).content.decode()
    assert "Resolve" not in page
    response = client.post(reverse(f"dashboard:{action}", args=[exception_item.pk]))
    assert response.status_code == 403
    exception_item.refresh_from_db()
    assert exception_item.status == ExceptionItem.Status.OPEN
