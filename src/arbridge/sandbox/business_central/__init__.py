"""A Business Central simulator: API v2.0 for companies, the Microsoft identity platform's
sign-in, webhook subscriptions with their handshake, and the OData rate limits.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
"""

from arbridge.sandbox.business_central.app import BusinessCentralSandbox, create_app
from arbridge.sandbox.business_central.seed import seed
from arbridge.sandbox.business_central.store import Store

__all__ = ["BusinessCentralSandbox", "Store", "create_app", "seed"]
