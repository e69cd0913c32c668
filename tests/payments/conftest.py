import pytest

# Its asserts read as pytest's do, here and where test modules load it as a plugin.
pytest.register_assert_rewrite("tests.payments.fixtures")

from tests.payments.fixtures import (  # noqa: E402, F401
    deliver_processor_events,
    processor_credentials,
    processor_receiver,
    processor_sandbox,
    processor_server,
    processor_settings,
    processor_webhook_url,
    sandbox_processor,
    tokenize,
)
