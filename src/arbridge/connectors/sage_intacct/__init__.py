"""Sage Intacct: customers (billing contact only) and AR invoices with lines in, through the
XML gateway; AR payments (control ids with uniqueid), their reversals and deposits out."""

from arbridge.connectors.sage_intacct.connector import SageIntacct

__all__ = ["SageIntacct"]
