"""Autotask: companies, contacts and invoices in; payment status written back to invoices."""

from arbridge.connectors.autotask.client import LIMITS, Zone, discover_zone
from arbridge.connectors.autotask.connector import Autotask, Preferences, rate_limit_key

__all__ = ["LIMITS", "Autotask", "Preferences", "Zone", "discover_zone", "rate_limit_key"]
