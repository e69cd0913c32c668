"""Dynamics 365 Business Central: companies, customers, contacts and sales invoices in;
payments (a customer payment journal, posted) and payouts (a general journal) out."""

from arbridge.connectors.business_central.connector import BusinessCentral

__all__ = ["BusinessCentral"]
