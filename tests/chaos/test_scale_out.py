"""Scale-out, proven in short form: bench/chaos.py with 10 workers killed mid-run.

Two `arbridge serve` and three `arbridge worker` processes on PostgreSQL and
Redis take portal payments, QuickBooks changes by webhook and processor
payouts while a random worker is SIGKILLed ten times; the harness then
counts, from the database and the sandboxes' own records, what a partner
would check: every charge written back to QuickBooks once, every deposit
summing to its payout, every change visible. The long form is
`bench/chaos.py` at its defaults.
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
    reason="the scale-out harness needs DATABASE_URL on PostgreSQL and REDIS_URL",
)


def own(url: str, path: str) -> str:
    """Return the URL on the same server with another database (name or number)."""
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture
def chaos_database():
    """A database of this run's own on DATABASE_URL's server, dropped afterwards."""
    name = f"arbridge_chaos_{os.getpid()}"
    yield own(DATABASE_URL, f"/{name}")
    with psycopg.connect(own(DATABASE_URL, "/postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_ten_worker_kills_lose_and_double_nothing(chaos_database):
    command = [sys.executable, str(ROOT / "bench" / "chaos.py")]
    command += ["--payments", "24", "--changes", "30", "--payouts", "4"]
    command += ["--kills", "10", "--kill-every", "1.5", "--drain", "150"]
    command += ["--database-url", chaos_database, "--redis-url", own(REDIS_URL, "/5")]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["kills"] == 10
    assert report["receipts"] == 24
    assert report["charges"] == 24
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["written_in_quickbooks"] == 24
    assert report["payouts"] == 4
    assert report["deposits"] == 4
    assert report["mismatched_deposits"] == 0
    assert report["changes"] == 30
    assert report["changes_missing"] == 0
