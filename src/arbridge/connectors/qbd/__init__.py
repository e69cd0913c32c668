"""QuickBooks Desktop: polled by the Web Connector; invoices, customers, credits, payments in; payments and deposits out."""

from arbridge.connectors.qbd.connector import QuickBooksDesktop

__all__ = ["QuickBooksDesktop"]
