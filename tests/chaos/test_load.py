"""bench/load.py in short form: portal, API and QuickBooks webhooks at once, nothing failing.

A smoke test of the harness, not of speed: the figures are the benchmark's,
never asserted on. What is checked is what a partner would: every request
answered (0 errors), every change made in QuickBooks visible through the API,
every portal payment written back to QuickBooks.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = pytest.mark.skipif(
    not (DATABASE_URL.startswith(("postgres://", "postgresql://")) and REDIS_URL),
    reason="the load harness needs DATABASE_URL on PostgreSQL and REDIS_URL",
)


def own(url: str, path: str) -> str:
    """Return the URL on the same server with another database (name or number)."""
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture
def load_database():
    """A database of this run's own on DATABASE_URL's server, dropped afterwards."""
    name = f"arbridge_load_{os.getpid()}"
    yield own(DATABASE_URL, f"/{name}")
    with psycopg.connect(own(DATABASE_URL, "/postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_short_load_run_has_no_errors_and_loses_nothing(load_database):
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--seconds", "10"]
    command += ["--payers", "2", "--browsers", "1", "--api-clients", "1", "--drain", "60"]
    command += ["--database-url", load_database, "--redis-url", own(REDIS_URL, "/6")]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["errors"] == 0, report["error_kinds"]
    for family in ("portal", "api", "webhooks"):
        assert report[family]["count"] > 0
    assert report["payments"] > 0
    assert report["receipts"] == report["payments"]
    assert report["writebacks"] == report["payments"]
    assert report["changes"] > 0
    assert report["changes_missing"] == 0
    assert report["webhook_to_visible_p99_ms"] is not None
    assert report["writeback_p99_ms"] is not None
