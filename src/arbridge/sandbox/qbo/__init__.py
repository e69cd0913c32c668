"""A QuickBooks Online simulator: the v3 accounting API, OAuth 2.0, webhooks and throttles."""

from arbridge.sandbox.qbo.app import QuickBooksSandbox, create_app
from arbridge.sandbox.qbo.seed import seed
from arbridge.sandbox.qbo.store import Store

__all__ = ["QuickBooksSandbox", "Store", "create_app", "seed"]
