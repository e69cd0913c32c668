"""A SuperOps sandbox, its billing person, and arbridge connected to it."""

from collections.abc import Callable

import httpx
import pytest

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.superops import SuperOps
from arbridge.sandbox.superops import SUBDOMAIN, TOKEN, SuperOpsSandbox, create_app

ENDPOINT = "http://superops.test/msp"


class Sleeps:
    """Stands in for time.sleep: records the waits asked for, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connect(
    sandbox: SuperOpsSandbox,
    sleep: Callable[[float], None] | None = None,
    token: str = TOKEN,
    subdomain: str = SUBDOMAIN,
) -> SuperOps:
    """Return the connector for a sandbox subdomain, as a connection's config builds it."""
    config = Config(
        base_url=ENDPOINT, credentials={"token": token, "subdomain": subdomain},
        remote_account=subdomain,
    )  # fmt: skip
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox))
    return SuperOps(config, http, Runtime(sleep=sleep or Sleeps()))


@pytest.fixture
def sandbox() -> SuperOpsSandbox:
    # SuperOps' 800 calls a minute are lifted: a test works faster than a person.
    app = create_app(requests_per_window=1_000_000)
    app.sleep = lambda _: None
    return app


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connector(sandbox, sleeps) -> SuperOps:
    return connect(sandbox, sleeps)
