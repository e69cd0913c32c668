"""What the QuickBooks benchmarks share: a sandbox in its own process, a fresh arbridge, figures.

The sandbox runs in a child process served over loopback HTTP (werkzeug,
threaded), so that the memory and CPU a benchmark reports are arbridge's
alone, and arbridge talks to it as it would to Intuit. Run as a script, this
module is that child:

    .venv/bin/python bench/_common.py sandbox --port 8123 [--webhook-url URL]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# A company of this run's own: a Redis-wide rate limit remembers a company's last minute.
REALM = f"93414530{os.getpid():07d}"
REDIS_URL = "redis://127.0.0.1:6379/0"


def log(bench: str, message: str) -> None:
    print(f"[{bench}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], p: int) -> float:
    """Return the p-th percentile (inclusive method) of some values."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def pages(count: int, page_size: int = 1000) -> int:
    """Return the fewest query pages that read `count` rows: an empty or full last page too.

    A reader cannot tell a full last page from one with more behind it, so
    a count that is a multiple of the page size costs one more (empty) page.
    """
    return math.floor(count / page_size) + 1


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited before serving")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing served {url} within {seconds:.0f}s")


# -- the sandbox in its own process -----------------------------------------------------


def start_sandbox_process(script: str, *args: str) -> tuple[subprocess.Popen, str]:
    """Run `script sandbox *args --port N` (a bench serving its sandbox); return it and its URL.

    Returns once the sandbox's /_sandbox/stats answers.
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, script, "sandbox", *args, "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_sandbox/stats", child)
    except RuntimeError:
        child.terminate()
        raise
    return child, url


class VirtualTime:
    """Real time plus the waits skipped; a skip also moves the sandbox's clock on.

    Where a vendor's limits bound a run, the limiter's waits are not slept: the
    time waited is added here and the sandbox in the other process is told to
    move its clock by as much, so it enforces its limits on the same clock.
    """

    def __init__(self, control: httpx.Client) -> None:
        self.control = control
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.skipped += seconds
        self.control.post("/_sandbox/clock", json={"advance_s": seconds}).raise_for_status()


@contextmanager
def sandbox_process(webhook_url: str | None = None) -> Iterator[str]:
    """Serve a QuickBooks sandbox in a child process; yield its base URL."""
    port = free_port()
    command = [sys.executable, __file__, "sandbox", "--port", str(port)]
    if webhook_url:
        command += ["--webhook-url", webhook_url]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_sandbox/stats", child)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


def add_company(sandbox_url: str, **seed: Any) -> dict[str, Any]:
    """Create the benchmark's company, fill it straight into the store; return its token too."""
    with httpx.Client(base_url=sandbox_url, timeout=600) as http:
        http.post("/_sandbox/realms", json={"realm_id": REALM}).raise_for_status()
        seeded = http.post("/_sandbox/seed", json={"realm_id": REALM, **seed})
        seeded.raise_for_status()
        token = http.post("/_sandbox/tokens", json={"realm_id": REALM, "ttl": None})
        token.raise_for_status()
    return {"realm": REALM, "seeded": seeded.json(), "token": token.json()}


def sandbox_stats(sandbox_url: str) -> dict[str, int]:
    """Return the requests and 429s the sandbox counted for the benchmark's company."""
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()
    return stats["realms"].get(REALM, {"requests": 0, "throttled": 0})


def serve_sandbox(port: int, webhook_url: str | None) -> None:
    from werkzeug.serving import make_server

    from arbridge.sandbox.qbo import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(webhook_url=webhook_url, webhook_interval=0.2 if webhook_url else None)
    server = make_server("127.0.0.1", port, app, threaded=True)
    server.serve_forever()


# -- a fresh arbridge -------------------------------------------------------------------


def arbridge_env(
    data_dir: str,
    sandbox_url: str,
    redis: bool = False,
    database_url: str = "",
    redis_url: str = REDIS_URL,
) -> dict[str, str]:
    """Return the environment of an arbridge on SQLite in `data_dir`, using the sandbox.

    With `redis`, jobs go through a Redis queue of this run's own (at
    `redis_url`), and every process shares one rate limit per QuickBooks
    company, as in production. With `database_url` (a fresh database) it runs
    on that database instead of SQLite.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if redis:
        env.update(REDIS_URL=redis_url, ARBRIDGE_HUEY_NAME=f"arb_bench_{os.getpid()}")
    if database_url:
        env.update(DATABASE_URL=database_url)
    env.update(
        ARBRIDGE_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="arbridge.settings",
        ARBRIDGE_QBO_API_BASE=sandbox_url,
        ARBRIDGE_QBO_TOKEN_URL=f"{sandbox_url}/oauth2/token",
        ARBRIDGE_QBO_AUTH_URL=f"{sandbox_url}/oauth2/authorize",
        ARBRIDGE_QBO_REVOKE_URL=f"{sandbox_url}/oauth2/revoke",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.getenv("PYTHONPATH")])),
    )
    return env


def start_django(data_dir: str, sandbox_url: str, redis: bool = False, **where: str) -> None:
    """Point this process at a fresh arbridge (SQLite in `data_dir`, or `where`) and migrate it."""
    os.environ.update(arbridge_env(data_dir, sandbox_url, redis, **where))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, stdout=sys.stderr)
    # A line per request would drown the figures.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def connect_company(company: dict[str, Any]):
    """Create a partner whose primary connection is the benchmark's QuickBooks company."""
    from authlib.oauth2.rfc6749 import OAuth2Token

    from arbridge.core.models import Connection, Partner

    token = {k: v for k, v in company["token"].items() if k != "realmId"}
    partner = Partner.objects.create(name="Bench MSP")
    return Connection.objects.create(
        partner=partner,
        kind="qbo",
        role=Connection.Role.PRIMARY,
        status=Connection.Status.CONNECTED,
        remote_account=company["realm"],
        credentials={"token": dict(OAuth2Token(token))},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["sandbox"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webhook-url")
    args = parser.parse_args()
    serve_sandbox(args.port, args.webhook_url)


def count_quickbooks_payments(url: str, token: str) -> int:
    """Return how many payments the sandbox company holds (its own count, not arbridge's)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    while True:
        response = httpx.get(
            f"{url}/v3/company/{REALM}/query",
            params={"query": "select count(*) from Payment"},
            headers=headers,
        )
        if response.status_code != 429:  # arbridge may have used the minute up
            break
        time.sleep(1)
    response.raise_for_status()
    return response.json()["QueryResponse"]["totalCount"]
