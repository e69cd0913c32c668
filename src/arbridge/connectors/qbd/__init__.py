"""QuickBooks Desktop, polled by its Web Connector: AR in; payments and deposits out."""

from arbridge.connectors.qbd.connector import QuickBooksDesktop

__all__ = ["QuickBooksDesktop"]
