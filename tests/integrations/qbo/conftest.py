from tests.integrations.qbo.fixtures import (  # noqa: F401
    company,
    deliver,
    qbo,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)
