"""HaloPSA: invoices, clients and billing contacts in; payments written back to invoices."""

from arbridge.connectors.halopsa.connector import HaloPSA, Preferences
from arbridge.connectors.halopsa.webhooks import Hint, WebhookAuth, parse_webhook, verify_webhook

__all__ = ["HaloPSA", "Hint", "Preferences", "WebhookAuth", "parse_webhook", "verify_webhook"]
