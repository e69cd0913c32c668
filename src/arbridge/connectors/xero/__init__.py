"""Xero: invoices, contacts, credit notes and payments in; payments and payouts out."""

from arbridge.connectors.xero.connector import XeroConnector

__all__ = ["XeroConnector"]
