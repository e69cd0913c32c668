from django.urls import path

from arbridge.payments import webhooks

urlpatterns = [
    # One URL per partner: each Stripe account signs with its own webhook secret.
    path(
        "webhooks/stripe/<slug:partner_slug>/",
        webhooks.processor_webhook,
        {"kind": "stripe"},
        name="stripe_webhook",
    ),
    path(
        "webhooks/sandbox-processor/<slug:partner_slug>/",
        webhooks.processor_webhook,
        {"kind": "sandbox"},
        name="sandbox_processor_webhook",
    ),
]
