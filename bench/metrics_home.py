"""Time the dashboard home, the aging report and the DSO series on a large ledger.

    .venv/bin/python bench/metrics_home.py --invoices 200000 [--database-url URL] [--explain]

Loads a fresh database (SQLite in a temporary data dir by default; with
--database-url, that PostgreSQL database, emptied first, e.g.
postgres://postgres@127.0.0.1:5432/arb_bench_metrics): a partner with the
invoices over four years, 3,000 customers, payments (some by auto pay),
partial payments, credits, voids, and another partner's rows interleaved.
Then it times, in this process through Django's test client (the whole view
and template, no network):

- home:       GET /                      (tiles, three charts, sync status)
- aging:      GET /reports/aging/        (aging by customer, first page)
- dso_series: GET /api/v1/figures/series (both DSOs and flows for 12 months)

The figures are worked out once per change of the ledger (arbridge.metrics.cache):
the p95s are of views after the first, and `*_cold_ms` times one view each with
the cache emptied, as the first view after a payment. It prints one JSON line
with `home_p95_ms`, `aging_p95_ms`, `dso_series_p95_ms` and the cold times;
progress (and query plans, with --explain) go to stderr.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 300
CUSTOMERS = 3000
BATCH = 5000
OTHER_PARTNER_SHARE = 0.1
DAYS = 4 * 365


def log(message: str) -> None:
    print(f"[metrics_home] {message}", file=sys.stderr, flush=True)


def setup_django(database_url: str, data_dir: str) -> None:
    os.environ.update(ARBRIDGE_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="arbridge.settings")
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        reset_postgres(database_url)
        os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, stdout=sys.stderr)


def reset_postgres(url: str) -> None:
    import psycopg

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def load(invoices: int) -> tuple:
    """Fill the database; return the measured partner and a member of it."""
    from django.contrib.auth.models import User
    from django.db import connection as db

    from arbridge.autopay.models import Attempt, Enrollment
    from arbridge.core import clock
    from arbridge.core.models import ApiKey, Membership, Partner
    from arbridge.integrations.models import Connection, SyncRun
    from arbridge.ledger.models import Credit, Customer, Invoice, Payment, PaymentAllocation
    from arbridge.payments.models import SavedMethod

    started = time.perf_counter()
    rng = random.Random(42)
    today = clock.today()
    partner = Partner.objects.create(name="Bench MSP")
    other = Partner.objects.create(name="Other MSP")
    user = User.objects.create_user("bench")
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.OWNER)
    _, key = ApiKey.issue(partner, "bench", scope=ApiKey.Scope.READ)
    connections = [
        Connection.objects.create(
            partner=partner,
            kind=kind,
            role=role,
            status="connected",
            last_synced_at=clock.now() - dt.timedelta(minutes=3),
            created_at=clock.now() - dt.timedelta(days=400),
        )
        for kind, role in (("qbo", "primary"), ("halopsa", "secondary"))
    ]
    for c in connections:
        SyncRun.objects.bulk_create(
            SyncRun(partner=partner, connection=c, status=rng.choice(["succeeded", "failed"]))
            for _ in range(200)
        )
    customers = Customer.objects.bulk_create(
        Customer(partner=partner, name=f"Customer {n:05}") for n in range(CUSTOMERS)
    )
    other_customers = Customer.objects.bulk_create(
        Customer(partner=other, name=f"Other customer {n:04}") for n in range(CUSTOMERS // 10)
    )
    methods = SavedMethod.objects.bulk_create(
        SavedMethod(
            partner=partner, customer=c, processor="sandbox", token=f"pm_{c.pk}", kind="card"
        )
        for c in customers[:1000]
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(partner=partner, customer=m.customer, method=m) for m in methods
    )
    enrolled = {e.customer_id: e for e in enrollments}
    first_day = today - dt.timedelta(days=DAYS)

    def invoice(n: int, owner: Partner) -> tuple[Invoice, dict]:
        ours = owner is partner
        issued = first_day + dt.timedelta(days=DAYS * n // invoices)
        total = Decimal(rng.randrange(5_000, 800_000)).scaleb(-2)
        age = (today - issued).days
        # Old invoices are mostly paid; a few stay open and age into 90+.
        paid_share = rng.choice([1, 1, 1, 1, 1, 1, 0.5, 0]) if age > 40 else rng.choice([0, 0, 1])
        plan = {"pay": (total * Decimal(str(paid_share))).quantize(Decimal("0.01"))}
        plan["void"] = rng.random() < 0.02
        if plan["void"]:
            plan["pay"] = Decimal(0)
        plan["credit"] = rng.random() < 0.03 and plan["pay"] < total
        plan["paid_on"] = min(issued + dt.timedelta(days=rng.randrange(10, 90)), today)
        balance = total - plan["pay"]
        if plan["credit"]:
            plan["credit"] = min(Decimal("10.00"), balance)
            balance -= plan["credit"]
        status = (
            "void"
            if plan["void"]
            else "paid"
            if balance == 0
            else ("partially_paid" if balance < total else "open")
        )
        row = Invoice(
            partner=owner,
            customer=rng.choice(customers if ours else other_customers),
            connection=rng.choice(connections) if ours else None,
            number=f"INV-{'A' if ours else 'O'}{n:07}",
            currency="USD" if rng.random() < 0.95 else "EUR",
            issue_date=issued,
            due_date=issued + dt.timedelta(days=30),
            total=total,
            balance=Decimal(0) if plan["void"] else balance,
            status=status,
            archived=rng.random() < 0.01,
        )
        return row, plan

    made = 0

    def flush(batch: list[tuple[Invoice, dict]]) -> None:
        saved = Invoice.objects.bulk_create([row for row, _ in batch])
        payments, links, credits = [], [], []
        for row, plan in zip(saved, (p for _, p in batch), strict=True):
            if plan["pay"] > 0:
                payments.append(
                    Payment(
                        partner_id=row.partner_id,
                        customer=row.customer,
                        amount=plan["pay"],
                        currency=row.currency,
                        date=plan["paid_on"],
                        method=rng.choice(["card", "ach", "check"]),
                        status="succeeded",
                    )
                )
                links.append(row)
            if plan["credit"]:
                credits.append(
                    Credit(
                        partner_id=row.partner_id,
                        invoice=row,
                        amount=plan["credit"],
                        currency=row.currency,
                        date=row.issue_date + dt.timedelta(days=5),
                    )
                )
        payments = Payment.objects.bulk_create(payments)
        PaymentAllocation.objects.bulk_create(
            PaymentAllocation(partner_id=p.partner_id, payment=p, invoice=i, amount=p.amount)
            for p, i in zip(payments, links, strict=True)
        )
        Attempt.objects.bulk_create(
            Attempt(
                partner_id=p.partner_id,
                invoice=i,
                enrollment=enrolled[i.customer_id],
                amount=p.amount,
                currency=p.currency,
                status="succeeded",
                payment=p,
            )
            for p, i in zip(payments, links, strict=True)
            if i.customer_id in enrolled and p.method == "card"
        )
        Credit.objects.bulk_create(credits)

    batch: list[tuple[Invoice, dict]] = []
    for n in range(invoices):
        batch.append(invoice(n, partner))
        if rng.random() < OTHER_PARTNER_SHARE:
            batch.append(invoice(n, other))
        made += 1
        if len(batch) >= BATCH:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"{db.vendor}: loaded {made} invoices in {time.perf_counter() - started:.1f}s")
    return partner, user, key


def p95(timings: list[float]) -> float:
    return round(statistics.quantiles(timings, n=100, method="inclusive")[94], 1)


def time_cold(client, url: str, **headers) -> float:
    """Time one request with the figures not yet worked out (as after a change)."""
    from django.core.cache import cache

    cache.clear()
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return round((time.perf_counter() - started) * 1000, 1)


def time_get(client, url: str, requests: int, **headers) -> float:
    """Return the p95 of requests for a page whose figures are worked out (the usual view)."""
    for _ in range(3):  # warm the database's and the figures' caches
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return p95(timings)


def explain(partner) -> None:
    from arbridge.metrics import figures

    for name, queryset in [
        ("aging", figures.unpaid(partner).values("currency")),
        ("invoiced by day", figures.receivables(partner).values("currency", "issue_date")),
    ]:
        log(f"{name} plan:\n{queryset.explain()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--database-url", default="", help="a PostgreSQL database to recreate")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--explain", action="store_true", help="log the query plans")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arb_bench_metrics_") as data_dir:
        setup_django(args.database_url, data_dir)
        from django.db import connection as db
        from django.test import Client

        partner, user, key = load(args.invoices)
        if args.explain:
            explain(partner)
        client = Client()
        client.force_login(user)
        series = "/api/v1/figures/series?grain=month&count=12"
        bearer = {"Authorization": f"Bearer {key}"}
        results = {
            "home_p95_ms": time_get(client, "/", args.requests),
            "aging_p95_ms": time_get(client, "/reports/aging/", args.requests),
            "dso_series_p95_ms": time_get(Client(), series, args.requests, **bearer),
        }
        # The first view after the ledger changed works the figures out afresh.
        results |= {
            "home_cold_ms": time_cold(client, "/"),
            "aging_cold_ms": time_cold(client, "/reports/aging/"),
            "dso_series_cold_ms": time_cold(Client(), series, **bearer),
        }
        log(str(results))
        print(
            json.dumps(
                {
                    "bench": "metrics_home",
                    "database": db.vendor,
                    "invoices": args.invoices,
                    "requests": args.requests,
                    **results,
                    "target_p95_ms": TARGET_P95_MS,
                    "meets_target": all(
                        v < TARGET_P95_MS for k, v in results.items() if k.endswith("_p95_ms")
                    ),
                }
            )
        )


if __name__ == "__main__":
    main()
