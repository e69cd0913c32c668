"""Settings → Webhooks: a partner's endpoints, their secrets, and every delivery with its answer."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership
from arbridge.hooks import tasks
from arbridge.hooks.models import EVENT_TYPES, Attempt, Delivery, Endpoint, new_secret

# Deliveries shown on an endpoint's page, newest first.
SHOWN = 100


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label="Endpoint URL")
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {meaning}") for name, meaning in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError("Enter an http:// or https:// URL.")
        return url


class RotateForm(forms.Form):
    overlap_hours = forms.IntegerField(
        min_value=0, max_value=168, initial=24, label="Keep signing with the old secret for (hours)"
    )


def endpoints_of(request: HttpRequest):
    return Endpoint.objects.for_partner(request.partner)


@member_required(Membership.can_manage)
def endpoints(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.partner, endpoint.secrets = request.partner, {"current": new_secret()}
        endpoint.save()
        AuditEntry.record(
            request.partner, "webhook_endpoint.created", actor=request.user, target=endpoint.url
        )
        messages.success(request, "Endpoint added. Its signing secret is below.")
        return redirect("dashboard:webhook_endpoint", endpoint_id=endpoint.pk)
    ctx = {"page": "webhooks", "form": form, "endpoints": endpoints_of(request)}
    return render(request, "dashboard/webhooks.html", ctx)


@member_required(Membership.can_manage)
def endpoint(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    found = get_object_or_404(endpoints_of(request), pk=endpoint_id)
    deliveries = (
        Delivery.objects.for_partner(request.partner)
        .filter(endpoint=found)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=Attempt.objects.order_by("-at", "-id")))
        .order_by("-id")[:SHOWN]
    )
    ctx = {
        "page": "webhooks",
        "endpoint": found,
        "event_types": EVENT_TYPES,
        "deliveries": deliveries,
        "rotate_form": RotateForm(),
        "signing": len(found.signing_secrets()),
    }
    response = render(request, "dashboard/webhook_endpoint.html", ctx)
    # The secret is on this page: keep it out of every cache.
    add_never_cache_headers(response)
    return response


@require_POST
@member_required(Membership.can_manage)
def rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    found = get_object_or_404(endpoints_of(request), pk=endpoint_id)
    form = RotateForm(request.POST)
    if form.is_valid():
        found.rotate(dt.timedelta(hours=form.cleaned_data["overlap_hours"]))
        AuditEntry.record(
            request.partner, "webhook_endpoint.rotated", actor=request.user, target=found.url
        )
        messages.success(request, "New secret made; deliveries are signed with both for now.")
    else:
        messages.error(request, "Choose an overlap of 0 to 168 hours.")
    return redirect("dashboard:webhook_endpoint", endpoint_id=found.pk)


@require_POST
@member_required(Membership.can_manage)
def switch(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Turn an endpoint off, or on again (its failing streak forgotten)."""
    found = get_object_or_404(endpoints_of(request), pk=endpoint_id)
    on = request.POST.get("on") == "1"
    found.status = Endpoint.Status.ACTIVE if on else Endpoint.Status.DISABLED
    found.status_detail = "" if on else f"Turned off by {request.user.get_username()}."
    found.failing_since = None if on else found.failing_since
    found.save(update_fields=["status", "status_detail", "failing_since"])
    AuditEntry.record(
        request.partner,
        "webhook_endpoint.enabled" if on else "webhook_endpoint.disabled",
        actor=request.user,
        target=found.url,
    )
    return redirect("dashboard:webhook_endpoint", endpoint_id=found.pk)


@require_POST
@member_required(Membership.can_manage)
def delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    found = get_object_or_404(endpoints_of(request), pk=endpoint_id)
    found.delete()
    AuditEntry.record(
        request.partner, "webhook_endpoint.deleted", actor=request.user, target=found.url
    )
    messages.success(request, f"Endpoint {found.url} deleted.")
    return redirect("dashboard:webhooks")


@require_POST
@member_required(Membership.can_manage)
def replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    found = get_object_or_404(Delivery.objects.for_partner(request.partner), pk=delivery_id)
    tasks.replay_delivery(found.pk)
    messages.success(request, f"Sending event {found.event.public_id} again.")
    return redirect("dashboard:webhook_endpoint", endpoint_id=found.endpoint_id)
