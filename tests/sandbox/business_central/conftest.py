"""A sandbox Business Central company and its bookkeeper, for testing the sandbox itself."""

from tests.connectors.business_central.conftest import account, bc, books, clock, sandbox  # noqa: F401
