"""A FreshBooks simulator: the accounting API, OAuth 2.0 with single-use refresh tokens,
webhook callbacks with their verification, and rate limits.

# Reference: https://www.freshbooks.com/api/start
"""

from arbridge.sandbox.freshbooks.app import FreshBooksSandbox, create_app
from arbridge.sandbox.freshbooks.seed import seed
from arbridge.sandbox.freshbooks.store import Store

__all__ = ["FreshBooksSandbox", "Store", "create_app", "seed"]
