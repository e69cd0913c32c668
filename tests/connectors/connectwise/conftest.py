"""A ConnectWise sandbox on a clock of its own, its API member, and arbridge connected to it."""

from collections.abc import Callable

import httpx
import pytest

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.connectwise import ConnectWise
from arbridge.sandbox.connectwise import ConnectWiseSandbox, create_app
from arbridge.sandbox.connectwise.app import CLIENT_ID, COMPANY, PRIVATE_KEY, PUBLIC_KEY
from tests.sandbox.connectwise.api import CW, ROOT, Clock


class Sleeps:
    """Stands in for time.sleep: records the waits asked for, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connect(
    sandbox: ConnectWiseSandbox,
    sleep: Callable[[float], None] | None = None,
    *,
    private_key: str = PRIVATE_KEY,
    **preferences,
) -> ConnectWise:
    """Return the connector for the sandbox company, as a connection's config builds it."""
    config = Config(
        base_url=ROOT,
        credentials={
            "public_key": PUBLIC_KEY,
            "private_key": private_key,
            "client_id": CLIENT_ID,
        },  # fmt: skip
        preferences=preferences,
        remote_account=COMPANY,
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox))
    return ConnectWise(config, http, Runtime(sleep=sleep or Sleeps()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> ConnectWiseSandbox:
    return create_app(clock=clock)


@pytest.fixture
def cw(sandbox) -> CW:
    return CW(sandbox)


@pytest.fixture
def connector(sandbox) -> ConnectWise:
    return connect(sandbox)
