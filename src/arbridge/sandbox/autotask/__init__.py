"""An Autotask simulator: zones, the three auth headers, JSON queries paged by 500, limits."""

from arbridge.sandbox.autotask.app import AutotaskSandbox, create_app
from arbridge.sandbox.autotask.seed import seed
from arbridge.sandbox.autotask.store import Store

__all__ = ["AutotaskSandbox", "Store", "create_app", "seed"]
