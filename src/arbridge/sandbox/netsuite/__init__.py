"""A NetSuite simulator: the REST record service, SuiteQL, OAuth 2.0 M2M, concurrency governance.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1540391670.html
"""

from arbridge.sandbox.netsuite.app import NetSuiteSandbox, create_app
from arbridge.sandbox.netsuite.seed import seed
from arbridge.sandbox.netsuite.store import Store

__all__ = ["NetSuiteSandbox", "Store", "create_app", "seed"]
