"""A HaloPSA simulator: the v2 API's billing routes, client-credentials auth, webhooks, limits."""

from arbridge.sandbox.halopsa.app import HaloSandbox, create_app
from arbridge.sandbox.halopsa.seed import seed
from arbridge.sandbox.halopsa.store import Store

__all__ = ["HaloSandbox", "Store", "create_app", "seed"]
