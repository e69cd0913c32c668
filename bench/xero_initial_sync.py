"""Time a Xero organisation's first sync, end to end, at Xero's rate limits.

    .venv/bin/python bench/xero_initial_sync.py --invoices 20000 [--customers 1000]

# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
# Reference: https://developer.xero.com/documentation/api/accounting/invoices (paging)

The Xero sandbox runs in a child process over loopback HTTP with its limits
on (60 calls a minute, 5,000 a day, 5 at once per organisation), filled
straight into its store (not timed). This process migrates a fresh SQLite
arbridge, connects a partner to the organisation, and times one sync job
(tasks.perform_sync: the connector's full pull of contacts, invoices, credit
notes and payments, through arbridge's limiters for connectors.xero LIMITS
and DAILY_LIMITS, applied by the sync engine).

Xero's minute limit bounds the run, so the limiter's waits are not slept:
they run on a virtual clock, the time waited is added to the elapsed time,
and the sandbox's clock is moved on by the same amount (/_sandbox/clock), so
it enforces its limits on that clock and its 429 count shows whether they
were kept. It prints one JSON line:

- invoices_per_s: invoices read per second of the run, waits included
- api_requests, http_429: what the sandbox counted for the organisation
- min_api_requests: the fewest calls that carry the data: one page of 100
  per list, at least one per list; `pagination.pageCount` says which page
  is the last, so no empty page is read. The token is valid for the whole
  run and the tenant id is known: no /connections call.
- rate_limit_bound: the fastest Xero's limits let those requests go
- peak_rss_mb: this process's peak RSS (the sandbox is another process)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _common import VirtualTime, start_django, start_sandbox_process

ROOT = Path(__file__).resolve().parent.parent
NAME = "xero_initial_sync"
SPARE_REQUESTS = 5
TENANT = f"b1e5a8f0-0000-4000-8000-{os.getpid():012d}"
LISTS = {
    "Contacts": None,
    "Invoices": 'Type=="ACCREC"',
    "CreditNotes": 'Type=="ACCRECCREDIT"',
    "Payments": 'PaymentType=="ACCRECPAYMENT"',
}


def log(message: str) -> None:
    print(f"[{NAME}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def serve(port: int) -> None:
    """Serve the Xero sandbox, limits on (this module run as `sandbox --port N`)."""
    from werkzeug.serving import make_server

    from arbridge.sandbox.xero import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()


def stats(control: httpx.Client) -> dict[str, int]:
    return (
        control.get("/_sandbox/stats")
        .json()["tenants"]
        .get(TENANT, {"requests": 0, "throttled": 0})
    )


def count_rows(url: str, token: str) -> dict[str, int]:
    """Return how many records each list holds (before the timed run; not counted)."""
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": TENANT}
    counts = {}
    with httpx.Client(base_url=f"{url}/api.xro/2.0", headers=headers, timeout=120) as http:
        for name, where in LISTS.items():
            params: dict[str, Any] = {"page": 1, "includeArchived": "true"}
            if where:
                params["where"] = where
            counts[name] = http.get(f"/{name}", params=params).json()["pagination"]["itemCount"]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from arbridge.connectors.ratelimit import InProcessLimiter
    from arbridge.connectors.xero.connector import DAILY_LIMITS, LIMITS

    child, url = start_sandbox_process(__file__)
    data_dir = tempfile.mkdtemp(prefix="arb_bench_xero_")
    try:
        control = httpx.Client(base_url=url, timeout=600)
        log(f"seeding {args.invoices} invoices, {args.customers} customers")
        started = time.perf_counter()
        control.post("/_sandbox/orgs", json={"tenant_id": TENANT, "name": "Bench MSP client"})
        seeded = control.post(
            "/_sandbox/seed",
            json={
                "tenant_id": TENANT,
                "customers": args.customers,
                "invoices": args.invoices,
                "lines_per_invoice": args.lines,
            },
        )
        seeded.raise_for_status()
        token = control.post("/_sandbox/tokens", json={"tenants": [TENANT], "ttl": None}).json()
        log(f"seeded {seeded.json()} in {time.perf_counter() - started:.1f}s")
        counts = count_rows(url, token["access_token"])
        # Counting spent some of the day and the minute: start the run on a fresh minute.
        clock = VirtualTime(control)
        clock.sleep(61)
        clock.skipped = 0.0

        # arbridge as it runs: a fresh SQLite, the partner's connection holding the token,
        # the sync job through the engine; its limiters wait on the virtual clock.
        start_django(data_dir, url)
        os.environ.update(
            ARBRIDGE_XERO_API_BASE=url, ARBRIDGE_XERO_TOKEN_URL=f"{url}/connect/token"
        )
        from django.conf import settings

        settings.XERO_API_BASE, settings.XERO_TOKEN_URL = url, f"{url}/connect/token"
        from arbridge.core.models import Connection, Partner
        from arbridge.integrations import connect
        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.ledger.models import Invoice

        limiters = {
            limits: InProcessLimiter(
                limits, max_wait=math.inf, clock=clock.monotonic, sleep=clock.sleep
            )
            for limits in (DAILY_LIMITS, LIMITS)
        }
        connect.limiter = limiters.__getitem__
        partner = Partner.objects.create(name="Bench MSP", slug="bench")
        connection = Connection.objects.create(
            partner=partner,
            kind="xero",
            status=Connection.Status.CONNECTED,
            remote_account=TENANT,
            credentials={"token": {**token, "token_type": "Bearer"}},
        )
        run = SyncRun.objects.create(partner=partner, connection=connection)

        before = stats(control)
        log("syncing")
        started = time.perf_counter()
        run = perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        synced = Invoice.objects.for_partner(partner).count()
        log(f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")
        after = stats(control)
    finally:
        child.terminate()
        child.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    requests = after["requests"] - before["requests"]
    seconds = elapsed + clock.skipped
    min_requests = sum(max(1, math.ceil(n / 100)) for n in counts.values())
    windows = (requests - 1) // 60
    report: dict[str, Any] = {
        "bench": NAME,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process, limits on",
        "engine": "tasks.perform_sync: the connector's pages through the sync engine into SQLite",
        "status": run.status,
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "rows": counts,
        "synced_invoices": synced,
        "seconds": round(seconds, 2),
        "measured_seconds": round(elapsed, 2),
        "waited_for_limit_s": round(clock.skipped, 2),
        "invoices_per_s": round(synced / seconds, 1),
        "api_requests": requests,
        "min_api_requests": min_requests,
        "http_429": after["throttled"] - before["throttled"],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the sandbox runs in another",
        "rate_limit_bound": {
            "limit": "60 requests / 60 s, 5,000 / day, 5 concurrent per organisation",
            "min_seconds": windows * 60,
            "max_invoices_per_s": round(synced / (windows * 60), 1) if windows else None,
            "day_share": round(requests / 5000, 3),
            "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
            "computed, not slept",
        },
    }
    report["meets_target"] = (
        synced == args.invoices
        and report["http_429"] == 0
        and requests <= min_requests + SPARE_REQUESTS
    )
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sandbox":
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["sandbox"])
        parser.add_argument("--port", type=int, required=True)
        serve(parser.parse_args().port)
    else:
        main()
