from django.urls import path

from arbridge.payments import webhooks

urlpatterns = [
    # One URL per partner: each Stripe account signs with its own webhook secret.
    path("webhooks/stripe/<slug:partner_slug>/", webhooks.stripe_webhook, name="stripe_webhook"),
]
