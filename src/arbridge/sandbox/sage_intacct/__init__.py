"""A Sage Intacct simulator: the XML gateway with sender credentials, sessions per entity,
readByQuery/readMore, AR payments, deposits and bank fees, control ids with uniqueid.

# Reference: https://developer.intacct.com/web-services/
"""

from arbridge.sandbox.sage_intacct.app import SageIntacctSandbox, create_app
from arbridge.sandbox.sage_intacct.seed import seed
from arbridge.sandbox.sage_intacct.store import Store

__all__ = ["SageIntacctSandbox", "Store", "create_app", "seed"]
