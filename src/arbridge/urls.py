from django.contrib import admin
from django.urls import include, path

from arbridge.integrations import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    # The processors' webhooks (webhooks/stripe/<partner>/...) before the connectors'.
    path("", include("arbridge.payments.urls")),
    # Every vendor's webhooks: one URL for every account of a kind that sends app-wide
    # (as Intuit and Xero are configured to post, no trailing slash), one per connection
    # for a kind set up per instance (HaloPSA, ConnectWise).
    path("webhooks/<slug:kind>", webhooks.app_webhook, name="webhook"),
    path(
        "webhooks/<slug:kind>/<int:connection_id>",
        webhooks.connection_webhook,
        name="connection_webhook",
    ),
    path("api/v1/", include("arbridge.api.urls")),
    path("", include("arbridge.polling.urls")),
    path("", include("arbridge.portal.urls")),
    path("", include("arbridge.collections.urls")),
    path("", include("arbridge.metrics.urls")),
    path("", include("arbridge.dashboard.urls")),
]
