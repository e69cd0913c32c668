"""A HaloPSA sandbox per test on a clock of its own, and a user of its tenant."""

import pytest

from arbridge.sandbox.halopsa import HaloSandbox, create_app
from tests.sandbox.halopsa.api import Clock, Halo


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> HaloSandbox:
    return create_app(clock=clock, webhook_interval=None)


@pytest.fixture
def halo(sandbox) -> Halo:
    return Halo(sandbox)
