"""A sandbox processor per test, on a stopped clock that tests move, and a merchant in it."""

import datetime as dt

import httpx
import pytest

from arbridge.sandbox.processor import ProcessorSandbox, create_app
from tests.sandbox.processor.api import Merchant, Receiver

# A Monday morning; tests move the clock with clock.move_to() or clock.shift().
START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(clock, receiver) -> ProcessorSandbox:
    http = httpx.Client(transport=httpx.WSGITransport(app=receiver))
    return create_app(webhook_interval=None, http=http)


@pytest.fixture
def merchant(sandbox) -> Merchant:
    return Merchant(sandbox)
