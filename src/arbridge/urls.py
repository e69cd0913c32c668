from django.contrib import admin
from django.urls import include, path

from arbridge.integrations import psa, webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    # As Intuit is configured to post: one endpoint for every company, no trailing slash.
    path("webhooks/qbo", webhooks.quickbooks, name="qbo_webhook"),
    # One URL per connection: HaloPSA and ConnectWise are set up per instance.
    path("webhooks/halopsa/<int:connection_id>", psa.halopsa_webhook, name="halopsa_webhook"),
    path(
        "webhooks/connectwise/<int:connection_id>",
        psa.connectwise_callback,
        name="connectwise_callback",
    ),
    path("", include("arbridge.payments.urls")),
    path("api/v1/", include("arbridge.api.urls")),
    path("", include("arbridge.portal.urls")),
    path("", include("arbridge.collections.urls")),
    path("", include("arbridge.dashboard.urls")),
]
