"""ConnectWise PSA: companies, billing contacts and invoices in; payments out."""

from arbridge.connectors.connectwise.callbacks import Hint, parse_callback
from arbridge.connectors.connectwise.connector import ConnectWise

__all__ = ["ConnectWise", "Hint", "parse_callback"]
