"""A QuickBooks Desktop simulator: a company file, its qbXML request processor, and a Web Connector.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/get-started/get-started-with-quickbooks-web-connector
"""

from arbridge.sandbox.qbd.app import QuickBooksDesktopSandbox, create_app
from arbridge.sandbox.qbd.company import Company
from arbridge.sandbox.qbd.requests import Processor
from arbridge.sandbox.qbd.webconnector import WebConnector

__all__ = ["Company", "Processor", "QuickBooksDesktopSandbox", "WebConnector", "create_app"]
