"""Time one auto pay run over many due invoices, charged through the sandbox processor.

    .venv/bin/python bench/autopay_run.py --invoices 10000 [--customers 2000]
        [--database-url postgres://postgres@127.0.0.1:5432/arb_bench_autopay]

A fresh arbridge (SQLite in a temporary data dir unless --database-url names
a fresh database) holds one partner with auto pay on, a rule "on the due
date", and customers each enrolled with a saved Visa at the sandbox
processor; every one of the invoices is due today or overdue. Another
partner's enrolled customer and due invoice sit beside them, with its auto
pay off. The sandbox processor runs in a child process on loopback HTTP
(waitress, keeping connections alive), so the memory this prints is
arbridge's own. The run is `autopay.runner.run` (select what is due, then
charge each in its two transactions around the processor call), run twice:
the second must charge nothing. The invoices are arbridge's own (no
connection), so there is no source to re-read.

It prints one JSON line: charges_per_s, charges (succeeded at the
processor), double_charges (invoices the processor charged more than once,
from its own records: must be 0), second_run_charged, queries_per_charge,
run_seconds, peak_rss_mb.

BENCH_PROFILE=<file> writes the run's cProfile; BENCH_SQL=1 prints each query.

Run as `autopay_run.py processor --port N`, this module is the sandbox
processor's process, with one extra route the benchmark reads its charges from.
"""

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, free_port, log, peak_rss_mb, wait_until_serving  # noqa: E402

BATCH = 5000
TARGET_SECONDS = 120
CARD = {"number": "4242424242424242", "expiry": "12/40", "cvc": "123", "postal_code": "94107"}


# -- the sandbox processor in its own process ----------------------------------------------


def serve_processor(port: int) -> None:
    """Serve the sandbox processor, and the invoice each charge was for at /_bench/charges."""
    from waitress import serve
    from werkzeug.wrappers import Request, Response

    from arbridge.sandbox.processor import Store, create_app

    store = Store()
    app = create_app(store, webhook_interval=None)

    def with_charges(environ, start_response):
        request = Request(environ)
        if request.path == "/_bench/cards":
            # Customers' saved Visas, made at once: typing each into the hosted page is
            # not what is measured.
            account = store.account(request.args["account"])
            saved = []
            for n in range(int(request.args["count"])):
                token = store.tokenize(account, "card", CARD)
                saved.append(store.save_method(account, token.id, f"Customer {n}", "").as_json())
            return Response(json.dumps(saved), mimetype="application/json")(environ, start_response)
        if request.path != "/_bench/charges":
            return app(environ, start_response)
        with store.lock:
            charges = [
                {"invoice": p.metadata.get("invoice", ""), "status": p.status}
                for account in store.accounts.values()
                for p in account.payments.values()
            ]
        return Response(json.dumps(charges), mimetype="application/json")(environ, start_response)

    # waitress keeps connections alive, as a processor's API does (werkzeug's server closes each).
    serve(with_charges, host="127.0.0.1", port=port, threads=4, _quiet=True)


@contextmanager
def processor_process() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, __file__, "processor", "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_sandbox/stats", child)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


def double_charges(processor_url: str) -> tuple[int, int]:
    """Return the invoices charged more than once at the processor, and the charges made."""
    charges = httpx.get(f"{processor_url}/_bench/charges", timeout=120).json()
    taken = Counter(c["invoice"] for c in charges if c["status"] != "failed")
    return sum(1 for n in taken.values() if n > 1), sum(taken.values())


# -- arbridge -------------------------------------------------------------------------------


def saved_cards(processor_url: str, credentials: dict, count: int) -> list[dict]:
    """Return `count` test Visas saved at the processor, as customers enrolling would."""
    params = {"account": credentials["account_id"], "count": count}
    return httpx.get(f"{processor_url}/_bench/cards", params=params, timeout=300).json()


def load(processor_url: str, invoices: int, customers: int, today: dt.date) -> int:
    """Fill the database; return the partner's id."""
    from arbridge.autopay.models import AutopaySettings, Enrollment, Rule
    from arbridge.core.models import Partner
    from arbridge.ledger.models import Contact, Customer, Invoice
    from arbridge.payments.models import PaymentSettings, SavedMethod
    from arbridge.payments.processors.sandbox import provision

    def collecting(partner: Partner, count: int, enabled: bool) -> list[Customer]:
        credentials = provision(processor_url, partner.name)
        settings = PaymentSettings.of(partner)
        settings.processor, settings.credentials = PaymentSettings.Processor.SANDBOX, credentials
        settings.save()
        AutopaySettings.objects.create(partner=partner, enabled=enabled)
        Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_DUE, days=0)
        made = Customer.objects.bulk_create(
            (Customer(partner=partner, name=f"Customer {n:06}") for n in range(count)),
            batch_size=BATCH,
        )
        Contact.objects.bulk_create(
            (
                Contact(partner=partner, customer=c, email=f"ap{c.pk}@c.example", is_billing=True)
                for c in made
            ),
            batch_size=BATCH,
        )
        cards = saved_cards(processor_url, credentials, count)
        methods = SavedMethod.objects.bulk_create(
            (
                SavedMethod(
                    partner=partner,
                    customer=customer,
                    processor="sandbox",
                    token=card["id"],
                    processor_customer=card["customer"] or "",
                    kind="card",
                    brand=card["brand"],
                    last4=card["last4"],
                    funding=card["funding"],
                )
                for customer, card in zip(made, cards, strict=True)
            ),
            batch_size=BATCH,
        )
        Enrollment.objects.bulk_create(
            (
                Enrollment(
                    partner=partner,
                    customer_id=m.customer_id,
                    method=m,
                    source=Enrollment.Source.PARTNER,
                    evidence={"by": "bench"},
                )
                for m in methods
            ),
            batch_size=BATCH,
        )
        return made

    partner = Partner.objects.create(name="Bench MSP", support_email="ar@bench.example")
    made = collecting(partner, customers, enabled=True)
    other = Partner.objects.create(name="Other MSP")
    [theirs] = collecting(other, 1, enabled=False)
    Invoice.objects.create(
        partner=other,
        customer=theirs,
        number="X-1",
        issue_date=today,
        due_date=today,
        total=Decimal("10.00"),
    )
    rows = []
    for n in range(invoices):
        due = today - dt.timedelta(days=n % 4)  # due today, or overdue since the last runs
        total = Decimal(100 + n % 900) + Decimal("0.25")
        rows.append(
            Invoice(
                partner=partner,
                customer=made[n % customers],
                number=f"INV-{n:07}",
                issue_date=due - dt.timedelta(days=30),
                due_date=due,
                terms="Net 30",
                total=total,
                balance=total,
            )
        )
    Invoice.objects.bulk_create(rows, batch_size=BATCH)
    return partner.pk


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if os.getenv("BENCH_SQL"):
            print("SQL", sql[:300], file=sys.stderr)
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=0, help="default: invoices / 5")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--threads", type=int, default=2, help="ARBRIDGE_AUTOPAY_CHARGE_THREADS")
    args = parser.parse_args()
    customers = args.customers or max(1, args.invoices // 5)

    data_dir = tempfile.mkdtemp(prefix="arb_bench_autopay_")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    os.environ.clear()
    os.environ.update(env)
    os.environ.update(
        ARBRIDGE_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="arbridge.settings",
        ARBRIDGE_AUTOPAY_CHARGE_THREADS=str(args.threads),
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.utils import timezone

    from arbridge.autopay import runner

    logging.getLogger("arbridge").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0, stdout=sys.stderr)
    with processor_process() as processor_url:
        started = time.perf_counter()
        partner_id = load(processor_url, args.invoices, customers, timezone.localdate())
        log("autopay_run", f"loaded in {time.perf_counter() - started:.1f}s")
        queries = QueryCounter()
        started, cpu_started = time.perf_counter(), time.process_time()

        # Every connection's queries, the charging threads' included.
        def count_queries(connection, **_) -> None:
            connection.execute_wrappers.append(queries)

        connection_created.connect(count_queries, weak=False)
        with connection.execute_wrapper(queries):
            if os.getenv("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                report = profiler.runcall(runner.run)
                profiler.dump_stats(os.environ["BENCH_PROFILE"])
            else:
                report = runner.run()
        run_seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        log("autopay_run", f"run: {report}")
        again = runner.run()
        doubles, charges = double_charges(processor_url)
    del partner_id
    print(
        json.dumps(
            {
                "invoices": args.invoices,
                "customers": customers,
                "charges_per_s": round(report.succeeded / run_seconds, 1),
                "charges": charges,
                "succeeded": report.succeeded,
                "double_charges": doubles,
                "second_run_charged": again.charged,
                "queries_per_charge": round(queries.count / max(report.charged, 1), 1),
                "charge_threads": args.threads,
                "run_seconds": round(run_seconds, 2),
                "run_cpu_seconds": round(cpu_seconds, 2),
                "load_average": round(os.getloadavg()[0], 1),
                "target_seconds": TARGET_SECONDS,
                "database": "postgresql" if args.database_url else "sqlite",
                "transport": "loopback HTTP to the sandbox processor in its own process",
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["processor"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["processor"])
        parser.add_argument("--port", type=int, required=True)
        serve_processor(parser.parse_args().port)
    else:
        main()
