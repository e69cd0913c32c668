"""A payment processor simulator: test cards and bank accounts, payouts, events and webhooks."""

from arbridge.sandbox.processor.app import ProcessorSandbox, create_app
from arbridge.sandbox.processor.store import Store

__all__ = ["ProcessorSandbox", "Store", "create_app"]
