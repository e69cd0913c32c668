from django.contrib.auth import views as auth_views
from django.urls import path

from arbridge.dashboard import autopay, differences, hooks, integrations, payments, sync_tool, views

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
    path("integrations/differences/", differences.differences, name="differences"),
    path("integrations/preferences/", sync_tool.preferences, name="integration_preferences"),
    path("integrations/sync-invoices/", sync_tool.sync_invoices, name="sync_invoices"),
    path("integrations/sync-invoices/sync/", sync_tool.sync_selected, name="sync_selected"),
    path(
        "integrations/sync-invoices/preferences/",
        sync_tool.tool_preferences,
        name="sync_tool_preferences",
    ),
    # Every kind the same way; QuickBooks' callback stays /integrations/qbo/callback/.
    path("integrations/<slug:kind>/connect/", integrations.connect, name="connect"),
    path("integrations/<slug:kind>/callback/", integrations.oauth_callback, name="oauth_callback"),
    path(
        "integrations/<int:connection_id>/account/",
        integrations.pick_account,
        name="pick_account",
    ),
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
    path("customers/<int:customer_id>/autopay/", autopay.enroll, name="autopay_enroll"),
    path("customers/<int:customer_id>/autopay/stop/", autopay.unenroll, name="autopay_unenroll"),
    path("customers/<int:customer_id>/autopay/pilot/", autopay.pilot, name="autopay_pilot"),
    path("autopay/", autopay.autopay, name="autopay"),
    path("autopay/settings/", autopay.save_settings, name="autopay_settings"),
    path("autopay/rules/new/", autopay.rule, name="autopay_rule_new"),
    path("autopay/rules/<int:rule_id>/", autopay.rule, name="autopay_rule"),
    path("autopay/rules/<int:rule_id>/move/", autopay.move_rule, name="autopay_rule_move"),
    path("autopay/rules/<int:rule_id>/delete/", autopay.delete_rule, name="autopay_rule_delete"),
    path("autopay/upcoming/", autopay.upcoming, name="autopay_upcoming"),
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
    path("settings/webhooks/", hooks.endpoints, name="webhooks"),
    path("settings/webhooks/<int:endpoint_id>/", hooks.endpoint, name="webhook_endpoint"),
    path("settings/webhooks/<int:endpoint_id>/rotate/", hooks.rotate, name="rotate_webhook_secret"),
    path("settings/webhooks/<int:endpoint_id>/switch/", hooks.switch, name="switch_webhook"),
    path("settings/webhooks/<int:endpoint_id>/delete/", hooks.delete, name="delete_webhook"),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/replay/",
        hooks.replay,
        name="replay_delivery",
    ),
    path("api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    path("payments/", payments.payments, name="payments"),
    path("payments/<int:payment_id>/refund/", payments.refund_payment, name="refund_payment"),
    path("payments/payouts/", payments.payouts, name="payouts"),
    path("payments/unmatched/", payments.unmatched, name="unmatched"),
    path("payments/unmatched/badge/", payments.unmatched_badge, name="unmatched_badge"),
    path("payments/unmatched/<int:funds_id>/", payments.apply_unmatched, name="apply_unmatched"),
    path("payments/settings/", payments.payment_settings, name="payment_settings"),
    path("payments/settings/sandbox/", payments.use_sandbox, name="use_sandbox"),
    path("payments/settings/stripe/", payments.use_stripe, name="use_stripe"),
]
