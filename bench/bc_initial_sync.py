"""Time a Business Central company's first sync, end to end, with the OData limits on.

    .venv/bin/python bench/bc_initial_sync.py --invoices 20000 [--customers 1000]

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-filtering-in-web-services

The Business Central sandbox runs in a child process over loopback HTTP
with its limits on (6,000 requests in any 5 minutes, 5 at once per user and
environment), filled straight into its store (not timed). This process
migrates a fresh SQLite arbridge, connects a partner to the company, and
times one sync job (tasks.perform_sync: the connector's full pull of
customers, contacts and sales invoices with their lines expanded, 1,000 a
page by @odata.nextLink, through arbridge's limiter for the connector's
LIMITS, applied by the sync engine). It prints one JSON line:

- invoices_per_s: invoices read per second of the run
- api_requests, http_429: what the sandbox counted for the environment
- min_api_requests: the fewest calls that carry the data: one page of 1,000
  per list, at least one per list; a page is followed only when it carries
  a nextLink, so no empty page is read. The token is valid for the whole run
  and the company is known: no environments or companies call.
- peak_rss_mb: this process's peak RSS (the sandbox is another process)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from _common import log, peak_rss_mb, start_django, start_sandbox_process

ROOT = Path(__file__).resolve().parent.parent
NAME = "bc_initial_sync"
KIND = "business_central"
TENANT = str(uuid.uuid4())
ENVIRONMENT = "production"
SPARE_REQUESTS = 2


def serve(port: int) -> None:
    """Serve the Business Central sandbox, limits on (this module run as `sandbox --port N`)."""
    from werkzeug.serving import make_server

    from arbridge.sandbox.business_central import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()


def stats(control: httpx.Client) -> dict[str, int]:
    report = control.get("/_sandbox/stats").json()["accounts"]
    return report.get(f"{TENANT}/{ENVIRONMENT}", {"requests": 0, "throttled": 0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from arbridge.connectors.business_central.client import PAGE_SIZE

    child, url = start_sandbox_process(__file__)
    data_dir = tempfile.mkdtemp(prefix="arb_bench_bc_")
    try:
        control = httpx.Client(base_url=url, timeout=600)
        log(NAME, f"seeding {args.invoices} invoices, {args.customers} customers")
        started = time.perf_counter()
        seeded = control.post(
            "/_sandbox/seed",
            json={
                "tenant": TENANT,
                "environment": ENVIRONMENT,
                "name": "Bench MSP client",
                "customers": args.customers,
                "invoices": args.invoices,
                "lines": args.lines,
            },
        )
        seeded.raise_for_status()
        company = seeded.json()["company"]
        token = control.post("/_sandbox/tokens", json={"tenant": TENANT, "ttl": None}).json()
        log(NAME, f"seeded in {time.perf_counter() - started:.1f}s")
        # Each customer has one person contact: as many contacts as customers.
        counts = {"customers": args.customers, "contacts": args.customers,
                  "salesInvoices": args.invoices}  # fmt: skip

        # arbridge as it runs: a fresh SQLite, the partner's connection holding the token,
        # the sync job through the engine and the connector's limiter.
        start_django(data_dir, url)
        token_url = f"{url}/organizations/oauth2/v2.0/token"
        os.environ.update(
            ARBRIDGE_BUSINESS_CENTRAL_API_BASE=url, ARBRIDGE_BUSINESS_CENTRAL_TOKEN_URL=token_url
        )
        from django.conf import settings

        settings.BUSINESS_CENTRAL_API_BASE = url
        settings.BUSINESS_CENTRAL_TOKEN_URL = token_url
        from arbridge.core.models import Partner
        from arbridge.integrations.models import Connection, SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.ledger.models import Invoice

        partner = Partner.objects.create(name="Bench MSP", slug="bench")
        token = {k: v for k, v in token.items() if k != "tenant_id"}
        connection = Connection.objects.create(
            partner=partner,
            kind=KIND,
            status=Connection.Status.CONNECTED,
            remote_account=f"{TENANT}/{ENVIRONMENT}/{company}",
            credentials={"token": token},
        )
        run = SyncRun.objects.create(partner=partner, connection=connection)

        before = stats(control)
        log(NAME, "syncing")
        started = time.perf_counter()
        run = perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        synced = Invoice.objects.for_partner(partner).count()
        log(NAME, f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")
        after = stats(control)
    finally:
        child.terminate()
        child.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    requests = after["requests"] - before["requests"]
    min_requests = sum(max(1, math.ceil(n / PAGE_SIZE)) for n in counts.values())
    report: dict[str, Any] = {
        "bench": NAME,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process, limits on",
        "engine": "tasks.perform_sync: the connector's pages through the sync engine into SQLite",
        "status": run.status,
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "rows": counts,
        "page_size": PAGE_SIZE,
        "synced_invoices": synced,
        "seconds": round(elapsed, 2),
        "invoices_per_s": round(synced / elapsed, 1),
        "api_requests": requests,
        "min_api_requests": min_requests,
        "http_429": after["throttled"] - before["throttled"],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the sandbox runs in another",
        "rate_limit": "6,000 requests / 5 min, 5 concurrent per user and environment: "
        f"{requests} requests spend {requests / 6000:.1%} of one window",
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
