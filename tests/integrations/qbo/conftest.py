import pytest

# Its asserts read as pytest's do, here and where test modules load it as a plugin.
pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    company,
    deliver,
    qbo,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)
