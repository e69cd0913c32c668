"""The FreshBooks sandbox, a business in it, and its bookkeeper."""

from tests.connectors.freshbooks.conftest import account, books, clock, sandbox

__all__ = ["account", "books", "clock", "sandbox"]
