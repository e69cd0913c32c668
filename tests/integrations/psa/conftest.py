"""PSA sandboxes on loopback HTTP, and Acme's connections to them.

arbridge's jobs talk to vendors over real HTTP, so each test's sandboxes are
served by one server for the session, under /halopsa and /connectwise.
Test modules outside this package import the fixtures they use from here.
"""

import pytest

# Its asserts read as pytest's do, wherever this module is loaded first.
pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402

from arbridge.connectors.connectwise.connector import Credentials as CwCredentials  # noqa: E402
from arbridge.connectors.halopsa.connector import Credentials as HaloCredentials  # noqa: E402
from arbridge.integrations import connect, credentials  # noqa: E402
from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.connectwise import app as connectwise_app  # noqa: E402
from arbridge.sandbox.halopsa import app as halo_app  # noqa: E402
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    company,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)
from tests.loopback import Loopback  # noqa: E402
from tests.sandbox.halopsa.api import Halo  # noqa: E402

WEBHOOK_AUTH = {"kind": "header", "header": "X-Arbridge-Secret", "value": "s3cret"}


class SandboxServer(Loopback):
    """Serve the current test's sandboxes over HTTP on 127.0.0.1, each under /<kind>."""

    def __init__(self) -> None:
        self.apps: dict[str, object] = {}
        super().__init__()

    def dispatch(self, environ, start_response):
        mounts = {f"/{kind}": app for kind, app in self.apps.items()}
        return DispatcherMiddleware(self.not_found, mounts)(environ, start_response)

    @staticmethod
    def not_found(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no sandbox here"]


@pytest.fixture(scope="session")
def psa_server():
    server = SandboxServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_limiters():
    """Give each test limiters of its own: a sandbox's tenant name repeats across tests."""
    connect.limiter.cache_clear()
    yield
    connect.limiter.cache_clear()


@pytest.fixture
def halo_version() -> str:
    return "2.184.7"


@pytest.fixture
def halo_sandbox(psa_server, halo_version):
    app = halo_app.create_app(
        version=halo_version, webhook_interval=None, requests_per_window=1_000_000
    )
    psa_server.apps["halopsa"] = app
    return app


@pytest.fixture
def halo(halo_sandbox) -> Halo:
    """HaloPSA's billing person, working in the sandbox."""
    return Halo(halo_sandbox)


@pytest.fixture
def halo_url(psa_server, halo_sandbox) -> str:
    return f"{psa_server.url}/halopsa"


@pytest.fixture
def halopsa(partner, halo_url) -> Connection:
    """Acme's primary HaloPSA connection, connected through the form's code path."""
    connection = Connection(partner=partner, kind="halopsa", role=Connection.Role.PRIMARY)
    typed = HaloCredentials(
        base_url=halo_url,
        tenant=halo_app.TENANT,
        client_id=halo_app.CLIENT_ID,
        client_secret=halo_app.CLIENT_SECRET,
        webhook_auth=WEBHOOK_AUTH["kind"],
        webhook_header=WEBHOOK_AUTH["header"],
        webhook_value=WEBHOOK_AUTH["value"],
    )
    credentials.connect(connection, typed)
    return connection


@pytest.fixture
def connectwise_sandbox(psa_server):
    app = connectwise_app.create_app(deliver_callbacks=False)
    psa_server.apps["connectwise"] = app
    return app


@pytest.fixture
def connectwise_url(psa_server, connectwise_sandbox) -> str:
    return f"{psa_server.url}/connectwise"


def connect_connectwise(connection: Connection, connectwise_url: str) -> Connection:
    """Connect a connection to the sandbox's company through the form's code path."""
    typed = CwCredentials(
        base_url=connectwise_url,
        company=connectwise_app.COMPANY,
        public_key=connectwise_app.PUBLIC_KEY,
        private_key=connectwise_app.PRIVATE_KEY,
        client_id=connectwise_app.CLIENT_ID,
    )
    credentials.connect(connection, typed)
    return connection
