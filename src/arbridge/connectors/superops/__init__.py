"""SuperOps: clients, billing contacts and invoices in; payments recorded on invoices."""

from arbridge.connectors.superops.connector import Credentials, Preferences, SuperOps

__all__ = ["Credentials", "Preferences", "SuperOps"]
