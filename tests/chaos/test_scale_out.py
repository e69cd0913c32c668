"""Scale-out, proven in short form: bench/chaos.py with 10 workers killed mid-run.

Two `arbridge serve` and three `arbridge worker` processes on PostgreSQL and
Redis take portal payments, QuickBooks changes by webhook and processor
payouts while a random worker is SIGKILLed ten times and Redis and
PostgreSQL are each restarted once (servers of the harness's own, so the
machine's are left alone); the harness then counts, from the database and
the sandboxes' own records, what a partner would check: every charge written
back to QuickBooks once, every invoice paid for paid in both systems, every
deposit summing to its payout, every change visible, and no request refused
by QuickBooks' limits. The long form is `bench/chaos.py` at its defaults.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import servers  # noqa: E402 - bench/ is not a package

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="runs with the PostgreSQL suite (DATABASE_URL on PostgreSQL), once per CI run",
    ),
    pytest.mark.skipif(
        bool(servers.missing()),
        reason=f"the harness starts its own servers; missing: {servers.missing()}",
    ),
]


def test_kills_and_restarts_lose_and_double_nothing():
    command = [sys.executable, str(ROOT / "bench" / "chaos.py")]
    command += ["--payments", "24", "--changes", "30", "--payouts", "4"]
    command += ["--kills", "10", "--kill-every", "1.5", "--restarts", "1", "--drain", "300"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1))  # shown when an assertion below fails

    assert report["kills"] == 10
    assert report["redis_restarts"] == 1
    assert report["postgresql_restarts"] == 1
    # Each customer saw a receipt, or, trying again after an error, found the invoice paid.
    assert report["receipts"] + report["found_paid_on_retry"] == 24
    assert report["charges"] == 24
    assert report["extra_charges"] == 0
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["written_in_quickbooks"] == 24
    assert report["unpaid"] == 0
    assert report["payouts"] == 4
    assert report["deposits"] == 4
    assert report["mismatched_deposits"] == 0
    assert report["changes"] == 30
    assert report["changes_missing"] == 0
    assert report["quickbooks_throttled"] == 0
    assert report["commands_dead"] == {}
