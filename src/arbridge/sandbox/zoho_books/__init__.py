"""A Zoho Books simulator: the Books API v3, Zoho Accounts' OAuth per data centre, API limits.

# Reference: https://www.zoho.com/books/api/v3/introduction/
"""

from arbridge.sandbox.zoho_books.app import ZohoBooksSandbox, create_app
from arbridge.sandbox.zoho_books.seed import seed
from arbridge.sandbox.zoho_books.store import Store

__all__ = ["Store", "ZohoBooksSandbox", "create_app", "seed"]
