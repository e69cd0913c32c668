"""The verification examples in docs/webhooks.md, run as written against real deliveries."""

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
import time_machine

from arbridge.core import clock
from arbridge.hooks import delivery
from arbridge.hooks.models import Delivery, Event, new_secret

DOC = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
PYTHON = re.search(r"```python\n(.*?)```", DOC, re.S).group(1)
SHELL = re.search(r"```sh\n(.*?)```", DOC, re.S).group(1)


def documented_verify():
    namespace: dict = {}
    exec(PYTHON, namespace)  # noqa: S102 (the documentation's own example)
    return namespace["verify"]


def shell_verify(tmp_path, body: bytes, header: str, secret: str) -> tuple[int, str]:
    body_file = tmp_path / "body.json"
    body_file.write_bytes(body)
    env = {
        "BODY_FILE": str(body_file),
        "SIGNATURE": header,
        "SECRET": secret,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        ["sh", "-c", SHELL], env=env, capture_output=True, text=True, timeout=10
    )
    return result.returncode, result.stdout.strip()


@pytest.fixture
def sent(endpoint, receiver):
    """Send one delivery; return (body, signature header) as the receiver got them."""

    def send(at=None):
        with time_machine.travel(at or clock.now(), tick=False):
            event = Event.objects.create(
                partner_id=endpoint.partner_id, key=f"k{Event.objects.count()}",
                type="invoice.paid", data={"object": "invoice", "number": "INV-7"},
            )  # fmt: skip
            owed = Delivery.objects.create(
                partner_id=endpoint.partner_id, event=event, endpoint=endpoint
            )
            delivery.deliver(owed.pk)
        request = receiver.requests[-1]
        return request.body, request.headers["Arbridge-Signature"]

    return send


def test_a_genuine_delivery_verifies(tmp_path, endpoint, sent):
    body, header = sent()

    assert documented_verify()(body, header, endpoint.secret)
    assert shell_verify(tmp_path, body, header, endpoint.secret) == (0, "verified")


def test_a_forged_body_does_not(tmp_path, endpoint, sent):
    body, header = sent()
    forged = body.replace(b"INV-7", b"INV-8")

    assert not documented_verify()(forged, header, endpoint.secret)
    assert shell_verify(tmp_path, forged, header, endpoint.secret) == (1, "forged")


def test_a_delivery_replayed_after_five_minutes_does_not(tmp_path, endpoint, sent):
    body, header = sent(at=clock.now() - dt.timedelta(minutes=6))

    assert not documented_verify()(body, header, endpoint.secret)
    assert shell_verify(tmp_path, body, header, endpoint.secret) == (1, "too old")


def test_a_delivery_re_signed_with_another_secret_does_not(tmp_path, endpoint, sent):
    body, header = sent()
    t = header.split(",")[0]
    impostor = new_secret()
    resigned = delivery.signature([impostor], int(t[2:]), body)

    assert not documented_verify()(body, resigned, endpoint.secret)
    assert shell_verify(tmp_path, body, resigned, endpoint.secret) == (1, "forged")
    # The impostor's own check passes: the secret is what makes a delivery arbridge's.
    assert documented_verify()(body, resigned, impostor)
