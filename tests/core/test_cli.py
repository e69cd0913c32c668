"""`arbridge demo`: the three lines it prints work, and stopping it stops its worker."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ARBRIDGE = Path(sys.executable).with_name("arbridge")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Return the ids of the live processes whose parent is pid."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        state, parent = fields[0], int(fields[1])
        if parent == pid and state != "Z":
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def demo(tmp_path):
    """Start `arbridge demo` on a free port in an empty data dir; yield it and its first lines."""
    # The demo is the embedded default: SQLite and SqliteHuey in its own data dir.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("ARBRIDGE_BASE_URL", None)
    env["ARBRIDGE_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    stderr = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [ARBRIDGE, "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    # Read on a thread, so a demo that never prints fails the test instead of hanging it.
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        first = [lines.get(timeout=120).rstrip("\n") for _ in range(3)]
    except queue.Empty:
        process.kill()
        pytest.fail("demo printed no login:\n" + (tmp_path / "demo.log").read_text())
    yield process, port, first
    if process.poll() is None:
        process.kill()
        process.wait()
    stderr.close()
    # pytest shows this only when the test failed: the server's side of the story.
    print((tmp_path / "demo.log").read_text())


def test_demo_serves_its_printed_login_and_stops_with_its_worker(demo):
    process, port, (dashboard, login, api_key) = demo
    url = f"http://127.0.0.1:{port}/"
    assert dashboard == f"Dashboard: {url}"
    username, password = re.fullmatch(r"Login: (\S+) (\S+)", login).groups()
    key = re.fullmatch(r"API key: (\S+)", api_key).group(1)

    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as browser:
        assert browser.get("/login/").status_code == 200
        page = browser.post(
            "/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert page.status_code == 200
        assert page.url.path != "/login/"
        assert "Northwind" in page.text
        # Static files are served although DEBUG is off.
        assert browser.get("/static/admin/css/base.css").status_code == 200

    # Invoices arrive through the connectors, once the worker has synced the sandboxes.
    for _ in range(600):
        response = httpx.get(
            f"{url}api/v1/invoices", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 200
        if response.json()["items"]:
            break
        time.sleep(0.1)
    assert response.json()["items"]

    # The worker starts just after the lines are printed.
    for _ in range(300):
        if workers := children(process.pid):
            break
        time.sleep(0.1)
    assert workers, "the demo started no worker"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not any(is_running(pid) for pid in workers)
