"""A Xero simulator: the Accounting API, OAuth 2.0 with tenants, webhooks and rate limits.

# Reference: https://developer.xero.com/documentation/api/accounting/overview
"""

from arbridge.sandbox.xero.app import XeroSandbox, create_app
from arbridge.sandbox.xero.seed import seed
from arbridge.sandbox.xero.store import Store

__all__ = ["Store", "XeroSandbox", "create_app", "seed"]
