import pytest

from arbridge.sandbox.autotask import AutotaskSandbox, Store, create_app
from tests.sandbox.autotask.api import Autotask, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> AutotaskSandbox:
    return create_app(Store(clock=clock))


@pytest.fixture
def autotask(sandbox) -> Autotask:
    return Autotask(sandbox)
