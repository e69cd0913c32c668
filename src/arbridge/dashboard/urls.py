from django.contrib.auth import views as auth_views
from django.urls import path

from arbridge.dashboard import integrations, psa, views

app_name = "dashboard"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.overview, name="overview"),
    path("partners/<int:partner_id>/switch/", views.switch_partner, name="switch_partner"),
    path("settings/", views.partner_settings, name="settings"),
    path("connections/", views.connections, name="connections"),
    path("connections/<int:connection_id>/sync/", views.sync_now, name="sync_now"),
    path("integrations/qbo/connect/", integrations.qbo_connect, name="qbo_connect"),
    path("integrations/qbo/callback/", integrations.qbo_callback, name="qbo_callback"),
    path("integrations/differences/", psa.differences, name="differences"),
    *[
        path(f"integrations/{kind}/connect/", psa.connect, {"kind": kind}, name=f"{kind}_connect")
        for kind in psa.FORMS
    ],
    path("integrations/<int:connection_id>/", integrations.connection, name="connection"),
    path(
        "integrations/<int:connection_id>/preferences/",
        integrations.preferences,
        name="preferences",
    ),
    path(
        "integrations/<int:connection_id>/disconnect/",
        integrations.disconnect,
        name="disconnect",
    ),
    path("integrations/<int:connection_id>/reconnect/", integrations.reconnect, name="reconnect"),
    path("sync-runs/", views.sync_runs, name="sync_runs"),
    path("customers/", views.customers, name="customers"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", integrations.invoice_pdf, name="invoice_pdf"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/<int:exception_id>/", views.exception, name="exception"),
    path(
        "exceptions/<int:exception_id>/resolve/",
        views.resolve_exception,
        name="resolve_exception",
    ),
    path("exceptions/<int:exception_id>/retry/", views.retry_exception, name="retry_exception"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
]
