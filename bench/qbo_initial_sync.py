"""Time a QuickBooks Online connection's first sync, end to end, into a fresh SQLite arbridge.

    .venv/bin/python bench/qbo_initial_sync.py --invoices 100000 --customers 5000 [--profile F]

The sandbox runs in a child process over loopback HTTP, filled straight into
its store (not timed). This process migrates a fresh SQLite database in a
temporary data dir, connects a partner to the company, and times one sync
job (tasks.perform_sync: the connector's query pages through the sync
engine) from start to its run's success. It prints one JSON line:

- invoices_per_s: invoices synced per second of the whole run
- api_requests: the requests the sandbox counted for the company during it
- min_api_requests: the fewest that can carry the data: for each entity the
  full sync reads (terms, customers, invoices, payments), one query page per
  1,000 rows, plus the page that finds nothing more after a full one
  (_common.pages). The connector needs no other reads: no company info, and
  its OAuth token is valid for the whole run.
- peak_rss_mb: this process's peak RSS (arbridge alone: the sandbox is
  another process).
"""

import argparse
import cProfile
import json
import tempfile
import time

import httpx

from _common import (
    REALM,
    add_company,
    connect_company,
    log,
    pages,
    peak_rss_mb,
    sandbox_process,
    sandbox_stats,
    start_django,
)

NAME = "qbo_initial_sync"
TARGET_INVOICES_PER_S = 2000
TARGET_RSS_MB = 300
SPARE_REQUESTS = 5
# What the full sync reads, and the condition that makes a name list answer inactive rows.
ENTITIES = {"Term": "Active in (true, false)", "Customer": "Active in (true, false)"}
SYNCED = ("Term", "Customer", "Invoice", "Payment")


def count_rows(sandbox_url: str, token: str) -> dict[str, int]:
    """Return how many of each synced entity the company holds (before the timed run)."""
    counts = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{sandbox_url}/v3/company/{REALM}", headers=headers) as http:
        for entity in SYNCED:
            where = f" where {ENTITIES[entity]}" if entity in ENTITIES else ""
            text = f"select count(*) from {entity}{where}"  # noqa: S608 - not SQL
            response = http.get("/query", params={"query": text})
            response.raise_for_status()
            counts[entity] = response.json()["QueryResponse"]["totalCount"]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    parser.add_argument("--profile", help="write a cProfile of the timed run to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="arb_bench_qbo_") as data_dir, sandbox_process() as url:
        log(NAME, f"seeding {args.invoices} invoices, {args.customers} customers")
        started = time.perf_counter()
        company = add_company(
            url, customers=args.customers, invoices=args.invoices, lines_per_invoice=args.lines
        )
        log(NAME, f"seeded {company['seeded']} in {time.perf_counter() - started:.1f}s")
        counts = count_rows(url, company["token"]["access_token"])
        start_django(data_dir, url)

        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.ledger.models import Invoice

        connection = connect_company(company)
        run = SyncRun.objects.create(partner=connection.partner, connection=connection)
        before = sandbox_stats(url)
        profiler = cProfile.Profile() if args.profile else None
        log(NAME, "syncing")
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = perform_sync(run.pk)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        elapsed = time.perf_counter() - started
        after = sandbox_stats(url)
        synced = Invoice.objects.for_partner(connection.partner).count()
        log(NAME, f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")

    min_requests = sum(pages(counts[entity]) for entity in SYNCED)
    report = {
        "bench": NAME,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process",
        "database": "sqlite",
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "rows": counts,
        "status": run.status,
        "synced_invoices": synced,
        "seconds": round(elapsed, 2),
        "invoices_per_s": round(synced / elapsed),
        "api_requests": after["requests"] - before["requests"],
        "min_api_requests": min_requests,
        "throttled": after["throttled"] - before["throttled"],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the sandbox runs in another",
    }
    report["meets_target"] = (
        synced == args.invoices
        and report["invoices_per_s"] >= TARGET_INVOICES_PER_S
        and report["api_requests"] <= min_requests + SPARE_REQUESTS
        and report["peak_rss_mb"] < TARGET_RSS_MB
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
