"""A HaloPSA sandbox on a clock of its own, its billing person, and arbridge connected to it."""

from collections.abc import Callable

import httpx
import pytest

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.halopsa import HaloPSA
from arbridge.sandbox.halopsa import HaloSandbox, create_app
from arbridge.sandbox.halopsa.app import CLIENT_ID, CLIENT_SECRET, TENANT
from tests.sandbox.halopsa.api import ROOT, Clock, Halo


class Sleeps:
    """Stands in for time.sleep: records the waits asked for, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connect(
    sandbox: HaloSandbox,
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    **preferences,
) -> HaloPSA:
    """Return the connector for the sandbox's tenant, as a connection's config builds it."""
    config = Config(
        base_url=ROOT,
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        preferences=preferences,
        remote_account=TENANT,
    )
    http = httpx.Client(transport=transport or httpx.WSGITransport(app=sandbox))
    return HaloPSA(config, http, Runtime(sleep=sleep or Sleeps()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> HaloSandbox:
    # Halo's 450 requests in 5 minutes are lifted: a test works faster than a person.
    return create_app(clock=clock, webhook_interval=None, requests_per_window=1_000_000)


@pytest.fixture
def halo(sandbox) -> Halo:
    return Halo(sandbox)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connector(sandbox, sleeps) -> HaloPSA:
    return connect(sandbox, sleeps)
