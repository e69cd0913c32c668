from django.contrib import admin
from django.urls import include, path

from arbridge.integrations import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    # As Intuit is configured to post: one endpoint for every company, no trailing slash.
    path("webhooks/qbo", webhooks.quickbooks, name="qbo_webhook"),
    path("api/v1/", include("arbridge.api.urls")),
    path("", include("arbridge.dashboard.urls")),
]
