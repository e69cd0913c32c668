"""FreshBooks: clients, invoices, payments and credits in; payments out."""

from arbridge.connectors.freshbooks.connector import FreshBooks

__all__ = ["FreshBooks"]
