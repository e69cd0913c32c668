import pytest

# Its asserts read as pytest's do, here and where test modules load it as a plugin.
pytest.register_assert_rewrite("tests.payments.fixtures")

# The end-to-end flows also need QuickBooks' sandbox and a real SMTP server.
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    company,
    qbo,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)
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
from tests.portal.fixtures import inbox  # noqa: E402, F401
