"""A ConnectWise PSA simulator: finance and company routes, Basic auth, paging, callbacks."""

from arbridge.sandbox.connectwise.app import ConnectWiseSandbox, create_app
from arbridge.sandbox.connectwise.seed import seed

__all__ = ["ConnectWiseSandbox", "create_app", "seed"]
