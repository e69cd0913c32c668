"""Auto pay's tests load the sandboxes' fixtures (QuickBooks, the processor, SMTP) and their own."""

import pytest

pytest.register_assert_rewrite("tests.autopay.fixtures")

from tests.autopay.fixtures import (  # noqa: E402, F401
    autopay,
    enroll,
    globex,
    monday,
    run_autopay,
)
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    company,
    local,
    qbo,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)
from tests.payments.fixtures import (  # noqa: E402, F401
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
