"""An Autotask sandbox on a clock shared with the connector, and arbridge connected to it."""

from collections.abc import Callable

import httpx
import pytest

from arbridge.connectors.autotask import Autotask
from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.ratelimit import Limiter
from arbridge.sandbox.autotask import AutotaskSandbox, Store, create_app
from arbridge.sandbox.autotask.app import INTEGRATION_CODE, SECRET, USERNAME
from tests.sandbox.autotask.api import ROOT, Clock
from tests.sandbox.autotask.api import Autotask as Person


def config(**credentials: str) -> Config:
    """Return a connection's config before its zone is known, as a person first enters it."""
    return Config(
        base_url=ROOT,
        credentials={
            "username": USERNAME,
            "secret": SECRET,
            "integration_code": INTEGRATION_CODE,
            **credentials,
        },
    )


def connect(
    sandbox: AutotaskSandbox,
    clock: Callable,
    *,
    limiter: Limiter | None = None,
    settings: Config | None = None,
) -> Autotask:
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox))
    runtime = Runtime(limiter=lambda limits: limiter, clock=clock, sleep=lambda _: None)
    return Autotask(settings or config(), http, runtime)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> AutotaskSandbox:
    return create_app(Store(clock=clock))


@pytest.fixture
def person(sandbox) -> Person:
    return Person(sandbox)


@pytest.fixture
def connector(sandbox, clock) -> Autotask:
    return connect(sandbox, clock)
