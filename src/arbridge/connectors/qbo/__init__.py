"""QuickBooks Online: invoices, customers and payments in; payments and deposits out."""

from arbridge.connectors.qbo.connector import QuickBooksOnline

__all__ = ["QuickBooksOnline"]
