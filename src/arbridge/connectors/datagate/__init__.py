"""DataGate: telecom and mobility invoices in, from the billing-export files a partner receives."""

from arbridge.connectors.datagate.connector import DataGate, Preferences
from arbridge.connectors.datagate.export import COLUMNS, default_mapping

__all__ = ["COLUMNS", "DataGate", "Preferences", "default_mapping"]
