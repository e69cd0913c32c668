from django.urls import path

from arbridge.metrics import prometheus, views

app_name = "metrics"

urlpatterns = [
    # For operators' Prometheus, with ARBRIDGE_METRICS_TOKEN as a bearer token.
    path("metrics", prometheus.metrics, name="prometheus"),
    path("reports/aging/", views.aging_report, name="aging"),
    path("reports/aging/<str:bucket>/", views.invoices, name="bucket"),
    path("reports/invoices/", views.invoices, name="invoices"),
    path("reports/export/<slug:table>.csv", views.export, name="export"),
    path("reports/settings/", views.metrics_settings, name="settings"),
]
