"""Oracle NetSuite: invoices, customers, payments and credit memos in; payments and deposits out."""

from arbridge.connectors.netsuite.connector import NetSuite

__all__ = ["NetSuite"]
