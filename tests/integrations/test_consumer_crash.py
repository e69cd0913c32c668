"""A consumer that dies mid-write loses its job; the sweeper finishes the write, once.

A real consumer process (`arbridge worker`) shares the test database and a
private queue with this process. The vendor makes the first write, then holds
its response until the consumer has been killed: the worst moment, when the
vendor has written and arbridge does not know it. After a restart and a
sweep, the vendor must hold exactly one write and the command must be done.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connections, transaction
from huey.contrib.djhuey import HUEY

from arbridge.core import clock
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.integrations.tasks import sweep
from tests.integrations.conftest import TEST_CONNECTORS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARBRIDGE = Path(sys.executable).parent / "arbridge"
KEY = "payment-7-create"
PAYMENT = {"entity": "payment", "local_id": 7, "amount": "125.00", "currency": "USD"}
LEASE_SECONDS = 2


def shared_database_url() -> str:
    """Return a DATABASE_URL for the test database, as another process must open it."""
    db = connections["default"].settings_dict
    if connections["default"].vendor == "sqlite":
        return f"sqlite:///{db['NAME']}?{urlencode(db['OPTIONS'])}"
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{db['NAME']}"))


@pytest.fixture
def private_queue(tmp_path):
    """Point this process's Huey at a queue that only the test's consumer reads."""
    HUEY.immediate = False
    if settings.REDIS_URL:
        name = f"arbridge-test-{uuid.uuid4().hex[:12]}"
        storage = HUEY.storage_class(name, **HUEY.storage_kwargs)
        env = {"REDIS_URL": settings.REDIS_URL, "ARBRIDGE_HUEY_NAME": name}
    else:
        filename = str(tmp_path / "huey.sqlite3")
        storage = HUEY.storage_class(HUEY.name, filename=filename)
        env = {"ARBRIDGE_HUEY_FILE": filename}
    shared, HUEY.storage = HUEY.storage, storage
    yield env
    storage.flush_all()
    HUEY.storage = shared


class Consumer:
    """`arbridge worker` in its own process, started and killed by the test."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [ARBRIDGE, "worker", "--workers", "2", "--no-periodic", "--max-delay", "0.2"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture
def consumer(private_queue, tmp_path):
    env = {
        **os.environ,
        **private_queue,
        "DJANGO_SETTINGS_MODULE": "arbridge.settings",
        "DATABASE_URL": shared_database_url(),
        "ARBRIDGE_DATA_DIR": str(tmp_path),
        "ARBRIDGE_SECRET_KEY": settings.SECRET_KEY,
        "ARBRIDGE_ENCRYPTION_KEY": settings.ENCRYPTION_KEY,
        "ARBRIDGE_EXTRA_CONNECTORS": ",".join(f"{k}={v}" for k, v in TEST_CONNECTORS.items()),
        "ARBRIDGE_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.getenv("PYTHONPATH")])),
    }
    consumer = Consumer(env, tmp_path / "consumer.log")
    yield consumer
    consumer.stop(signal.SIGKILL)


def wait_until(condition: Callable[[], bool], consumer: Consumer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting; the consumer said:\n{consumer.output()}")
        time.sleep(0.1)


def reloaded(command: OutboundCommand) -> OutboundCommand:
    command.refresh_from_db()
    return command


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_write_cut_short_by_a_dying_consumer_completes_once(consumer, connection, vendor, signum):
    vendor.stall_first = True
    consumer.start()
    with transaction.atomic():
        command = OutboundCommand.enqueue(connection, "create_payment", PAYMENT, KEY)

    wait_until(vendor.stalled.is_set, consumer)
    consumer.stop(signum)
    vendor.release.set()

    # The vendor wrote; the consumer died before it heard so, and its job died with it.
    assert list(vendor.writes) == [KEY]
    assert reloaded(command).status == OutboundCommand.Status.IN_FLIGHT

    wait_until(lambda: clock.now() > command.locked_until, consumer)
    consumer.start()
    assert sweep() == (1, 0)
    wait_until(lambda: reloaded(command).status == OutboundCommand.Status.DONE, consumer)

    assert vendor.requests == [KEY, KEY]
    assert list(vendor.writes) == [KEY]
    assert command.remote_id == vendor.writes[KEY]["id"]
    assert command.attempts == 2
    ref = ExternalRef.objects.get(connection=connection, entity="payment")
    assert (ref.local_id, ref.remote_id) == (7, command.remote_id)
