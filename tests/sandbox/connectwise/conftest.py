"""A ConnectWise sandbox per test on a clock of its own, and its API member."""

import pytest

from arbridge.sandbox.connectwise import ConnectWiseSandbox, create_app
from tests.sandbox.connectwise.api import CW, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> ConnectWiseSandbox:
    return create_app(clock=clock)


@pytest.fixture
def cw(sandbox) -> CW:
    return CW(sandbox)
