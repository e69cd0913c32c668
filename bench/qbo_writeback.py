"""Time writing arbridge's payments back to QuickBooks Online through the outbox and a real worker.

    .venv/bin/python bench/qbo_writeback.py --payments 1000 [--rate 60] [--recorders 1]
        [--database-url postgres://postgres@127.0.0.1:5432/FRESH_DB] [--redis-url URL]

The sandbox runs in a child process over loopback HTTP at its default limits
(500 requests a minute and 10 at once per company). Jobs and the rate limit
go through Redis, as in production, so the sync this process runs first
and the worker's deliveries share one limit. This process syncs a
fresh arbridge (SQLite, or the database given) from it (not timed), starts
an `arbridge worker` (Huey consumer) process and waits until it takes jobs,
then records `--payments` card payments against the synced invoices,
`--rate` a second (in `--recorders` threads), each with
writeback.payment_succeeded in its transaction, as the payments app does.
One payment's latency runs from its command's creation to its success (both
stamped by arbridge); payments_per_s is payments over the time from the
first creation to the last success, so it is below the recording rate by
the last payments' latency: 1,000 recorded at exactly 50/s take 20 s to
record and show at most 1000 / (20 s + that latency). So payments are
offered at 60/s by default: a write-back that keeps pace shows over 50/s.
recorded_actual_per_s says whether this process kept up with `--rate`. It
prints one JSON line.

Payments go out in QuickBooks batch requests (outbox.py), at most 30 to a
request and 40 requests a minute per company and app, so Intuit's documented
limits allow 20 payments/s sustained: rate_limit_bound says so. A run of at
most 1,200 payments fits in one minute's allowance, so 1,000 recorded at 60/s
can be written at 60/s; more, or longer, cannot.
Limits: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from _common import (
    REDIS_URL,
    add_company,
    arbridge_env,
    connect_company,
    count_quickbooks_payments,
    log,
    peak_rss_mb,
    percentile,
    sandbox_process,
    sandbox_stats,
    start_django,
)

NAME = "qbo_writeback"
TARGET_PAYMENTS_PER_S = 50
TARGET_P99_S = 2.0
# Intuit's documented batch limits, and the sandbox's defaults.
PAYMENTS_PER_BATCH = 30
BATCHES_PER_MINUTE = 40
TIMEOUT_S = 900


def record_payments(connection, count: int, rate: float, recorders: int = 1) -> float:
    """Take `count` card payments in arbridge, each paying one open invoice, at `rate` a second.

    `recorders` threads share the work, as web processes share checkouts, each
    on its own database connection. Return the seconds it took: on a busy
    machine they may not keep up with `rate`.
    """
    from arbridge.ledger.models import Invoice

    invoices = list(
        Invoice.objects.for_partner(connection.partner).filter(status="open").order_by("pk")
    )[:count]
    if len(invoices) < count:
        raise RuntimeError(f"only {len(invoices)} open invoices to pay")
    started = time.perf_counter()

    def record(first: int) -> None:
        from django.db import connection as database

        try:
            for n in range(first, count, recorders):
                pause = started + n / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                pay(invoices[n], f"bench_pay_{n}")
        finally:
            database.close()

    with ThreadPoolExecutor(recorders) as pool:
        list(pool.map(record, range(recorders)))  # raises what a recorder raised
    return time.perf_counter() - started


def pay(invoice, reference: str) -> None:
    """Take a card payment of the invoice's balance and owe its write-back, in one transaction."""
    from django.db import transaction

    from arbridge.integrations import writeback
    from arbridge.ledger.models import Payment

    with transaction.atomic():
        payment = Payment.objects.create(
            partner_id=invoice.partner_id,
            customer=invoice.customer,
            amount=invoice.balance,
            method=Payment.Method.CARD,
            processor_reference=reference,
        )
        payment.allocate(invoice, invoice.balance)
        payment.set_status(Payment.Status.SUCCEEDED)
        writeback.payment_succeeded(payment)


def wait_for_worker(worker: subprocess.Popen) -> None:
    """Return once the worker takes jobs, so that its start-up is not timed as write-back."""
    from huey.contrib.djhuey import HUEY

    from arbridge.integrations.tasks import deliver_command

    deliver_command(0)  # no such command: a job that does nothing
    deadline = time.monotonic() + 60
    while HUEY.pending_count():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start")
        time.sleep(0.05)


def wait_for_commands(count: int, worker: subprocess.Popen) -> None:
    from arbridge.integrations.models import OutboundCommand

    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        finished = (OutboundCommand.Status.DONE, OutboundCommand.Status.DEAD)
        done = OutboundCommand.objects.filter(status__in=finished).count()
        if done >= count:
            return
        if worker.poll() is not None:
            raise RuntimeError("the worker exited")
        time.sleep(0.2)
    raise RuntimeError(f"the commands were not delivered within {TIMEOUT_S}s")


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=60, help="payments recorded a second")
    parser.add_argument("--recorders", type=int, default=1, help="threads recording payments")
    parser.add_argument("--database-url", default="", help="a fresh database instead of SQLite")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    where = {"database_url": args.database_url, "redis_url": args.redis_url}

    with tempfile.TemporaryDirectory(prefix="arb_bench_qbo_") as data_dir, sandbox_process() as url:
        company = add_company(url, customers=50, invoices=args.payments, payments=0, credit_memos=0)
        start_django(data_dir, url, redis=True, **where)

        from arbridge.integrations.models import OutboundCommand, SyncRun
        from arbridge.integrations.tasks import perform_sync

        connection = connect_company(company)
        run = perform_sync(
            SyncRun.objects.create(partner=connection.partner, connection=connection).pk
        )
        log(NAME, f"synced: {run.status} {run.error_message}")
        before = sandbox_stats(url)

        worker = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "arbridge"), "worker"],
            env=arbridge_env(data_dir, url, redis=True, **where),
            stdout=subprocess.DEVNULL,
            stderr=sys.stderr,
        )
        try:
            wait_for_worker(worker)
            log(NAME, f"recording {args.payments} payments at {args.rate}/s")
            recording_s = record_payments(connection, args.payments, args.rate, args.recorders)
            wait_for_commands(args.payments, worker)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        after = sandbox_stats(url)
        # The company was seeded without payments: every one there is a write-back.
        written = count_quickbooks_payments(url, company["token"]["access_token"])

    commands = list(OutboundCommand.objects.values_list("status", "created_at", "updated_at"))
    batches = set(OutboundCommand.objects.exclude(batch_key="").values_list("batch_key", flat=True))
    succeeded = [(c, u) for status, c, u in commands if status == OutboundCommand.Status.DONE]
    latencies = [(u - c).total_seconds() for c, u in succeeded]
    span = (max(u for _, u in succeeded) - min(c for c, _ in succeeded)).total_seconds()
    bound = PAYMENTS_PER_BATCH * BATCHES_PER_MINUTE / 60
    report = {
        "bench": NAME,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process",
        "database": connection_vendor(),
        "consumer": "arbridge worker (Huey, Redis queue; rate limit shared through Redis)",
        "payments": args.payments,
        "recorded_per_s": args.rate,
        # What this process managed: the write-back cannot finish sooner than the recording.
        "recorders": args.recorders,
        "recorded_actual_per_s": round(args.payments / recording_s, 2),
        "succeeded": len(succeeded),
        "written_in_sandbox": written,
        "seconds": round(span, 1),
        "payments_per_s": round(len(succeeded) / span, 2),
        "p50_s": round(percentile(latencies, 50), 2),
        "p99_s": round(percentile(latencies, 99), 2),
        "api_requests": after["requests"] - before["requests"],
        "batch_requests": len(batches),
        "throttled_429": after["throttled"] - before["throttled"],
        "rate_limit_bound": {
            "payments_per_s": round(bound, 2),
            "why": (
                f"sustained: {PAYMENTS_PER_BATCH} payments per batch request, "
                f"{BATCHES_PER_MINUTE} batch requests a minute per company and app; "
                f"a burst of up to {PAYMENTS_PER_BATCH * BATCHES_PER_MINUTE} fits in one minute"
            ),
        },
        "peak_rss_mb": peak_rss_mb(),
    }
    report["meets_target"] = (
        written == args.payments
        and report["payments_per_s"] >= TARGET_PAYMENTS_PER_S
        and report["p99_s"] < TARGET_P99_S
        and report["throttled_429"] == 0
    )
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
