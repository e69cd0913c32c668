"""Zoho Books: invoices with their payments and credits, and contacts in; payments out."""

from arbridge.connectors.zoho_books.connector import ZohoBooks

__all__ = ["ZohoBooks"]
