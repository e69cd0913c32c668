"""A SuperOps sandbox: the GraphQL API's clients, invoices and invoice payments."""

from arbridge.sandbox.superops.app import SUBDOMAIN, TOKEN, SuperOpsSandbox, create_app
from arbridge.sandbox.superops.store import Store

__all__ = ["SUBDOMAIN", "TOKEN", "Store", "SuperOpsSandbox", "create_app"]
