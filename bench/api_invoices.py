"""Time GET /api/v1/invoices over real HTTP on a large ledger, on SQLite and PostgreSQL.

    .venv/bin/python bench/api_invoices.py --invoices 200000 [--database sqlite|postgres|both]

For each database a child process loads the rows into a fresh database (SQLite
in a temporary data dir, PostgreSQL in arb_bench_api; ./var is never touched),
waitress serves the app in another process, and this one times requests with
httpx: the first page and a page past 90% of the rows, unfiltered and filtered.
It prints one JSON line; progress and query plans (--explain) go to stderr.
"""

import argparse
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
POSTGRES_DB = "arb_bench_api"
TARGET_P95_MS = 100
CUSTOMERS = 3000
BATCH = 5000
# Another partner's invoices, interleaved with the measured partner's: a real
# database holds more than one tenant, and every query must skip the others.
OTHER_PARTNER_SHARE = 0.1


def log(message: str) -> None:
    print(f"[api_invoices] {message}", file=sys.stderr, flush=True)


# -- the child: load a database ----------------------------------------------


def load(invoices: int, explain: bool) -> dict:
    """Migrate and fill the configured database; return what the timer needs."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arbridge.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection as db
    from django.db.models import Count

    from arbridge.api.pagination import encode_cursor
    from arbridge.core.models import ApiKey, Connection, Partner
    from arbridge.ledger.models import Customer, Invoice

    call_command("migrate", verbosity=0, stdout=sys.stderr)
    started = time.perf_counter()
    rng = random.Random(42)
    partner = Partner.objects.create(name="Bench MSP")
    other = Partner.objects.create(name="Other MSP")
    connections = [
        Connection.objects.create(partner=partner, kind="qbo", role="primary"),
        Connection.objects.create(partner=partner, kind="halopsa", role="secondary"),
    ]
    other_connection = Connection.objects.create(partner=other, kind="xero", role="primary")
    customers = Customer.objects.bulk_create(
        Customer(partner=partner, name=f"Customer {n:05}") for n in range(CUSTOMERS)
    )
    other_customers = Customer.objects.bulk_create(
        Customer(partner=other, name=f"Other customer {n:04}") for n in range(CUSTOMERS // 10)
    )
    statuses = ["open"] * 35 + ["partially_paid"] * 15 + ["paid"] * 40 + ["void"] * 10
    start = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)

    def invoice(n: int, owner: Partner) -> Invoice:
        ours = owner is partner
        status = rng.choice(statuses)
        total = Decimal(rng.randrange(5_000, 2_500_000)) / 100
        balance = {"open": total, "partially_paid": (total / 2).quantize(Decimal("0.01"))}
        issued = start + dt.timedelta(minutes=5 * n)
        return Invoice(
            partner=owner,
            customer=rng.choice(customers if ours else other_customers),
            connection=rng.choice(connections) if ours else other_connection,
            number=f"INV-{n:07}",
            issue_date=issued.date(),
            due_date=(issued + dt.timedelta(days=30)).date(),
            total=total,
            balance=balance.get(status, Decimal(0)),
            status=status,
            created_at=issued,
            updated_at=issued + dt.timedelta(days=rng.randrange(0, 60)),
        )

    batch: list[Invoice] = []
    for n in range(invoices):
        batch.append(invoice(n, partner))
        if rng.random() < OTHER_PARTNER_SHARE:
            batch.append(invoice(n, other))
        if len(batch) >= BATCH:
            Invoice.objects.bulk_create(batch)
            batch = []
    Invoice.objects.bulk_create(batch)
    if db.vendor == "postgresql":
        # What autovacuum would have done by the time anyone pages this deep.
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"{db.vendor}: loaded {invoices} invoices in {time.perf_counter() - started:.1f}s")

    _, key = ApiKey.issue(partner, "bench", scope=ApiKey.Scope.READ)
    mine = Invoice.objects.for_partner(partner).order_by("-id")
    open_invoices = mine.filter(status="open")
    # The customer with the most open invoices, so the filtered page is as full as any.
    busiest = open_invoices.values("customer").annotate(n=Count("id")).order_by("-n")[0]
    customer = Customer.objects.get(pk=busiest["customer"])
    deep_id = mine.values_list("id", flat=True)[invoices * 9 // 10]
    deep_open_id = open_invoices.values_list("id", flat=True)[open_invoices.count() * 9 // 10]
    queries = {
        "first_page": ("", mine),
        "first_page_filtered": (
            f"status=open&customer={customer.id}",
            open_invoices.filter(customer=customer),
        ),
        "deep_page": (f"cursor={encode_cursor(deep_id)}", mine.filter(id__lt=deep_id)),
        "deep_page_filtered": (
            f"status=open&cursor={encode_cursor(deep_open_id)}",
            open_invoices.filter(id__lt=deep_open_id),
        ),
    }
    if explain:
        for name, (_, queryset) in queries.items():
            # The query the list endpoint runs (api/views.py list_invoices, paginate).
            page = queryset.select_related("customer", "connection")[:51]
            log(f"{db.vendor} {name} plan:\n{page.explain()}")
    return {"key": key, "queries": {name: query for name, (query, _) in queries.items()}}


# -- the parent: serve and time ----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_env(database: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ARBRIDGE_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="arbridge.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    if database == "postgres":
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB}")
            conn.execute(f"CREATE DATABASE {POSTGRES_DB}")
        env["DATABASE_URL"] = f"{POSTGRES_SERVER}/{POSTGRES_DB}"
    return env


def wait_until_serving(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited before serving")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing served {url} within a minute")


def percentiles(timings: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2)}


def time_requests(base: str, key: str, queries: dict[str, str], requests: int) -> dict:
    results = {}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for name, query in queries.items():
            url = f"/api/v1/invoices?{query}"
            for _ in range(5):  # warm the connection and the database's cache
                response = client.get(url)
                response.raise_for_status()
            assert response.json()["items"], f"{name} found nothing"
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
            results[name] = percentiles(timings)
            log(f"{name}: {results[name]}")
    return results


def bench(database: str, invoices: int, requests: int, explain: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="arb_bench_api_") as data_dir:
        env = database_env(database, data_dir)
        log(f"{database}: loading {invoices} invoices")
        child = [sys.executable, __file__, "--load", "--invoices", str(invoices)]
        output = subprocess.run(
            child + (["--explain"] if explain else []), env=env, check=True, capture_output=True
        )
        sys.stderr.write(output.stderr.decode())
        setup = json.loads(output.stdout)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}"]
            + ["arbridge.wsgi:application"],
            env=env,
            stdout=sys.stderr,
            stderr=sys.stderr,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(f"{base}/api/v1/openapi.json", server)
            return time_requests(base, setup["key"], setup["queries"], requests)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--explain", action="store_true", help="log the query plans")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.invoices, args.explain)))
        return

    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = {db: bench(db, args.invoices, args.requests, args.explain) for db in databases}
    worst = max(r["p95_ms"] for pages in results.values() for r in pages.values())
    report = {
        "bench": "api_invoices",
        "invoices": args.invoices,
        "requests": args.requests,
        "results": results,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": worst < TARGET_P95_MS,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
