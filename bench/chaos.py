"""Scale-out under faults: 2 web and 3 worker processes on PostgreSQL and Redis, workers killed.

    .venv/bin/python bench/chaos.py [--payments 1000] [--changes 1000] [--payouts 200]
        [--kills 100] [--kill-every 2] [--faults 0.2] [--redis-kills 1] [--database-kills 1]
        [--database-url postgres://postgres@127.0.0.1:5432/arbridge_chaos]
        [--redis-url redis://127.0.0.1:6379/5]

As production runs (docs/deploy.md): two `arbridge serve` and three `arbridge
worker` processes (the first with the periodic tasks, the others
`--no-periodic`) share a fresh PostgreSQL database (dropped and created
again) and a Redis queue of this run's own. The sandboxes each run in one
process of their own (a sandbox mounted in each web process would be two
QuickBooks companies): the QuickBooks sandbox, whose webhooks go to
/webhooks/qbo, and the sandbox processor, whose webhooks go to the second web
process and whose clock this harness moves a business day at a time.

After an initial sync (not timed), it drives at once:

- `--payments` portal payments by card, as a browser makes them
  (portal_checkout.checkout), half through each web process, spread over
  `--payouts` processor days;
- `--changes` invoices created in QuickBooks, each reaching arbridge by a
  signed webhook;
- `--payouts` payouts: each processor day's charges paid out two business
  days later (payout.paid), which arbridge records as a deposit;
- `--kills` SIGKILLs of a random worker, one every `--kill-every` seconds,
  each worker restarted at once;
- with `--faults`, that share of the sandboxes' API calls answered 429, 500,
  503 or a timeout (sandbox/common/faults.py), switched off for the drain;
- with `--redis-kills`, that many `CLIENT KILL`s of every connection to the
  run's Redis database, and with `--database-kills`, that many
  `pg_terminate_backend`s of every connection to the run's PostgreSQL
  database but the harness's own: what the processes see when the server
  restarts. The servers themselves are never restarted: the machine is
  shared.

Then it waits until the work is done (or `--drain` seconds pass) and checks,
from the database and the sandboxes' own records:

- lost: charges the processor took whose payment arbridge lacks, or that are
  in QuickBooks zero times;
- duplicated: arbridge payments QuickBooks holds more than once (counted by
  the "arbridge payment <id>" note each write-back carries);
- mismatched_deposits: deposits whose lines do not sum to the payout, or
  whose amount is not the processor's, plus payouts without a deposit;
- changes_missing: QuickBooks changes never visible in arbridge.

It prints one JSON line. Run as `chaos.py qbo|processor --port N ...`, this
module is a sandbox's process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from _common import (
    REALM,
    arbridge_env,
    connect_company,
    free_port,
    log,
    start_django,
    wait_until_serving,
)
from arbridge.sandbox.processor import Store
from arbridge.sandbox.processor.records import Account, Kept
from portal_checkout import checkout, prepare
from qbo_webhook_latency import Company

NAME = "chaos"
BIN = Path(sys.executable).parent
WEBHOOK_KEY = "chaos-verifier-token"
# Past the last processor day: two business days to a payout, and one to spare.
FLUSH_DAYS = 3
FAULT_KINDS = ["429", "500", "503", "timeout"]


# -- the sandboxes, each in a process of its own ------------------------------------------


def serve_qbo(port: int, webhook_url: str) -> None:
    from werkzeug.serving import make_server

    from arbridge.sandbox.qbo import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # The harness's own writes stand in for a company's many users: room for them
    # beside arbridge's, whose limiter still keeps to QuickBooks' 500 a minute.
    app = create_app(
        verifier_token=WEBHOOK_KEY,
        webhook_url=webhook_url,
        webhook_interval=0.2,
        requests_per_minute=1_000_000,
        concurrent_requests=100,
    )
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


class DayClock:
    """The processor's clock: a past business day, moved on by the harness, ticking within it."""

    def __init__(self) -> None:
        today = dt.date.today() - dt.timedelta(days=800)
        self.day = today - dt.timedelta(days=today.weekday())  # a Monday
        self.since = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            ticking = dt.timedelta(seconds=min(time.monotonic() - self.since, 3600))
            return dt.datetime.combine(self.day, dt.time(1), dt.UTC) + ticking

    def next_day(self) -> dt.date:
        from arbridge.sandbox.processor.days import add_business_days

        with self.lock:
            self.day = add_business_days(self.day, 1)
            self.since = time.monotonic()
            return self.day


class WallKeys(Store):
    """A processor store whose idempotency keys are kept on the wall clock.

    The harness's days pass in seconds and a retry comes a minute later: on
    the days' clock the 24 hours a key lasts would be over before it.
    """

    def keep(self, account: Account, key: str, fingerprint: str, status: int, body: bytes) -> None:
        account.kept[key] = Kept(fingerprint, status, body, dt.datetime.now(dt.UTC))


def serve_processor(port: int) -> None:
    """Serve the sandbox processor on a clock of days, with the harness's routes under /_bench/."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from arbridge.sandbox.common import limits
    from arbridge.sandbox.processor.app import REQUESTS_PER_SECOND, ProcessorSandbox
    from arbridge.sandbox.processor.webhooks import Notifier

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    days = DayClock()
    store = WallKeys(clock=days)
    # Webhooks are signed on the wall clock: arbridge refuses a stale signature.
    notifier = Notifier(lambda: dt.datetime.now(dt.UTC), interval=0.5)
    store.listeners.append(notifier.add)
    limiter = limits.Limiter(time.monotonic, per_window=REQUESTS_PER_SECOND * 10, window_s=1.0)
    app = ProcessorSandbox(store, limiter, notifier)

    def bench_routes(environ, start_response):
        path = Request(environ).path
        if path == "/_bench/next-day":
            day = days.next_day()
            store.advance_all()
            body: object = {"day": day.isoformat()}
        elif path == "/_bench/records":
            with store.lock:
                accounts = list(store.accounts.values())
                body = {
                    "charges": [
                        {"id": p.id, "status": p.status, "amount": str(p.amount)}
                        for account in accounts
                        for p in account.payments.values()
                    ],
                    "payouts": [
                        {"id": p.id, "amount": str(p.amount), "items": len(p.items)}
                        for account in accounts
                        for p in account.payouts.values()
                    ],
                }
        else:
            return app(environ, start_response)
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)

    make_server("127.0.0.1", port, bench_routes, threaded=True).serve_forever()


def spawn(role: str, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    command = [sys.executable, __file__, role, "--port", str(port), *extra]
    return subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)


@contextmanager
def sandboxes(qbo_webhook_url: str) -> Iterator[tuple[str, str]]:
    """Serve both sandboxes; yield their base URLs (QuickBooks, processor)."""
    ports = free_port(), free_port()
    children = [
        spawn("qbo", ports[0], "--webhook-url", qbo_webhook_url),
        spawn("processor", ports[1]),
    ]
    urls = tuple(f"http://127.0.0.1:{port}" for port in ports)
    try:
        for url, child in zip(urls, children, strict=True):
            wait_until_serving(f"{url}/_sandbox/stats", child)
        yield urls
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def set_faults(urls: tuple[str, ...], rate: float) -> None:
    body = {"error_rate": rate, "error_kinds": FAULT_KINDS, "timeout_ms": 2000, "seed": 17}
    for url in urls:
        httpx.post(f"{url}/_sandbox/faults", json=body, timeout=30).raise_for_status()


# -- the database -------------------------------------------------------------------------


def fresh_database(url: str) -> None:
    """Drop and create the database the URL names (on its server's `postgres` database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


# -- arbridge's processes -----------------------------------------------------------------


class Cluster:
    """Two web processes and three workers; a worker killed is started again at once."""

    def __init__(self, env: dict[str, str], web_ports: list[int]) -> None:
        self.env = env
        self.urls = [f"http://127.0.0.1:{port}" for port in web_ports]
        self.webs = [
            subprocess.Popen(
                [BIN / "arbridge", "serve", "--port", str(port), "--threads", "8"],
                env={**env, "ARBRIDGE_BASE_URL": url},
                stdout=subprocess.DEVNULL,
                stderr=sys.stderr,
            )
            for port, url in zip(web_ports, self.urls, strict=True)
        ]
        # The first runs the periodic tasks (the sweeper among them), as deploy.md says.
        self.worker_args = [["worker"], ["worker", "--no-periodic"], ["worker", "--no-periodic"]]
        self.workers = [self._worker(n) for n in range(3)]
        self.kills: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _worker(self, n: int) -> subprocess.Popen:
        return subprocess.Popen(
            [BIN / "arbridge", *self.worker_args[n]],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_serving(self) -> None:
        for url, web in zip(self.urls, self.webs, strict=True):
            wait_until_serving(f"{url}/login/", web)

    def kill_one(self, rng: random.Random) -> None:
        with self.lock:
            n = rng.randrange(3)
            self.workers[n].kill()
            self.workers[n].wait(timeout=30)
            self.workers[n] = self._worker(n)
            self.kills["periodic" if n == 0 else "plain"] += 1

    def stop(self) -> None:
        for process in self.webs + self.workers:
            process.terminate()
        for process in self.webs + self.workers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def kill_redis_clients(redis_url: str) -> int:
    """Close every Redis connection but this one, as a Redis restart would; return how many."""
    import redis

    client = redis.Redis.from_url(redis_url)
    mine = client.client_id()
    killed = 0
    for info in client.client_list():
        if int(info["id"]) != mine and info.get("db") == str(
            client.connection_pool.connection_kwargs.get("db", 0)
        ):
            killed += client.client_kill_filter(_id=int(info["id"]))
    client.close()
    return killed


def kill_database_clients(database_url: str) -> int:
    """Close every connection to the run's database but this process's, as a restart would.

    Only the run's own database: PostgreSQL is never restarted, the machine is shared.
    """
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        (mine,) = cursor.fetchone()
    with psycopg.connect(database_url, autocommit=True) as db:
        rows = db.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid() and pid <> %s",
            [mine],
        ).fetchall()
    return len(rows)


def forget_queue(redis_url: str, name: str) -> None:
    """Delete the run's Huey keys (its queue, schedule and results) from Redis."""
    import redis

    client = redis.Redis.from_url(redis_url)
    if keys := list(client.scan_iter(f"huey*.{name}")):
        client.delete(*keys)
    client.close()


# -- the drive ----------------------------------------------------------------------------


class Drive:
    """What the harness did, counted as it happened."""

    def __init__(self, payments: int) -> None:
        self.payments = payments
        self.checkouts = 0  # finished, well or not
        self.receipts = 0
        self.errors: Counter[str] = Counter()
        self.changes: list[str] = []
        self.change_errors = 0
        self.days = 0
        self.lock = threading.Lock()
        self.paid = threading.Event()

    def reach(self, share: float) -> None:
        """Wait until that share of the checkouts is done, or all are: the drives keep pace."""
        while self.checkouts < share * self.payments and not self.paid.is_set():
            time.sleep(0.1)


def pay_by_day(
    drive: Drive, urls: list[str], processor_url: str, checkouts: list, days: int, concurrency: int
) -> None:
    """Pay the checkouts in `days` processor days, moving the processor's clock after each."""
    per_day = -(-len(checkouts) // days)
    with ThreadPoolExecutor(concurrency) as pool:
        for day in range(days):
            batch = list(enumerate(checkouts[day * per_day : (day + 1) * per_day], day * per_day))

            def pay(item: tuple[int, tuple[str, int]]) -> None:
                n, (link, invoice_id) = item
                try:
                    outcome = checkout(urls[n % len(urls)], link, invoice_id, double=n % 10 == 0)
                except httpx.HTTPError as error:
                    outcome = None
                    with drive.lock:
                        drive.errors[type(error).__name__] += 1
                with drive.lock:
                    drive.checkouts += 1
                if outcome is not None:
                    with drive.lock:
                        drive.receipts += outcome.receipt
                        if outcome.error:
                            drive.errors[outcome.error.split(":")[0]] += 1

            list(pool.map(pay, batch))
            next_day(processor_url)
            drive.days += 1
    drive.paid.set()
    for _ in range(FLUSH_DAYS):
        next_day(processor_url)


def next_day(processor_url: str) -> None:
    httpx.post(f"{processor_url}/_bench/next-day", timeout=60).raise_for_status()


def make_changes(drive: Drive, company: Company, count: int) -> None:
    """Create `count` invoices in QuickBooks as the payments go, each with its own number."""

    def change(n: int) -> None:
        drive.reach(n / count)
        number = f"CH-{n:06d}"
        for _ in range(10):  # the sandbox's injected faults answer the harness too
            try:
                company.create_invoice(number)
            except httpx.HTTPError:
                time.sleep(0.5)
                # A timeout was carried out: look before creating again.
                if exists(company, number):
                    break
                continue
            break
        else:
            with drive.lock:
                drive.change_errors += 1
            return
        with drive.lock:
            drive.changes.append(number)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(change, range(count)))


def exists(company: Company, number: str) -> bool:
    query = f"select * from Invoice where DocNumber = '{number}'"  # noqa: S608 - not SQL
    try:
        found = company.api.get("/query", params={"query": query})
    except httpx.HTTPError:
        return False
    return found.status_code == 200 and bool(found.json()["QueryResponse"].get("Invoice"))


def kill_workers(
    cluster: Cluster, drive: Drive, kills: int, every: float, rng: random.Random
) -> None:
    """Kill a random worker `kills` times, spread over the payments, at most one each `every` s."""
    for n in range(kills):
        time.sleep(every * rng.uniform(0.5, 1.5))
        drive.reach((n + 1) / (kills + 1))
        cluster.kill_one(rng)


# -- the checks ---------------------------------------------------------------------------


def outstanding(changes: list[str], processor_url: str) -> dict[str, int]:
    """Return the work not yet done: write-backs, deposits, changes not visible."""
    from arbridge.integrations.models import OutboundCommand
    from arbridge.ledger.models import Deposit, Invoice, Payment

    records = httpx.get(f"{processor_url}/_bench/records", timeout=60).json()
    charged = [c["id"] for c in records["charges"] if c["status"] == "succeeded"]
    recorded = Payment.objects.filter(
        processor_reference__in=charged, status=Payment.Status.SUCCEEDED
    ).count()
    open_commands = OutboundCommand.objects.exclude(
        status__in=(OutboundCommand.Status.DONE, OutboundCommand.Status.DEAD)
    ).count()
    deposits = Deposit.objects.filter(
        processor_reference__in=[p["id"] for p in records["payouts"]]
    ).count()
    visible = Invoice.objects.filter(number__in=changes).values("number").distinct().count()
    return {
        "charges": len(charged) - recorded,
        "commands": open_commands,
        "deposits": len(records["payouts"]) - deposits,
        "changes": len(changes) - visible,
    }


def drain(changes: list[str], processor_url: str, seconds: float) -> tuple[dict[str, int], float]:
    """Wait until nothing is outstanding (or `seconds` pass); return what is left and the wait."""
    started = time.monotonic()
    while True:
        left = outstanding(changes, processor_url)
        if not any(left.values()) or time.monotonic() - started > seconds:
            return left, time.monotonic() - started
        time.sleep(1)


def quickbooks_payments(qbo_url: str, token: str) -> Counter[str]:
    """Return how many QuickBooks payments each arbridge payment id has, from their notes."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    counts: Counter[str] = Counter()
    start = 1
    with httpx.Client(base_url=f"{qbo_url}/v3/company/{REALM}", headers=headers, timeout=60) as api:
        while True:
            query = f"select * from Payment startposition {start} maxresults 1000"  # noqa: S608
            page = api.get("/query", params={"query": query})
            if page.status_code == 429:
                time.sleep(1)
                continue
            page.raise_for_status()
            found = page.json()["QueryResponse"].get("Payment", [])
            for payment in found:
                note = payment.get("PrivateNote", "")
                if note.startswith("arbridge payment "):
                    counts[note.removeprefix("arbridge payment ")] += 1
            if len(found) < 1000:
                return counts
            start += 1000


def check(changes: list[str], qbo_url: str, token: str, processor_url: str) -> dict[str, int]:
    from arbridge.integrations.models import OutboundCommand
    from arbridge.ledger.models import Deposit, Invoice, Payment

    records = httpx.get(f"{processor_url}/_bench/records", timeout=60).json()
    charged = {c["id"] for c in records["charges"] if c["status"] == "succeeded"}
    payments = dict(
        Payment.objects.filter(
            processor_reference__in=charged, status=Payment.Status.SUCCEEDED
        ).values_list("processor_reference", "pk")
    )
    in_quickbooks = quickbooks_payments(qbo_url, token)
    lost = sum(1 for ref in charged if in_quickbooks[str(payments.get(ref, ""))] == 0)
    duplicated = sum(1 for pk in payments.values() if in_quickbooks[str(pk)] > 1)
    payouts = {p["id"]: p["amount"] for p in records["payouts"]}
    deposits = Deposit.objects.filter(processor_reference__in=payouts)
    mismatched = sum(
        1
        for d in deposits
        if not d.is_balanced() or str(d.amount) != payouts[d.processor_reference]
    )
    missing_deposits = len(payouts) - deposits.count()
    visible = Invoice.objects.filter(number__in=changes).values("number").distinct().count()
    return {
        "charges": len(charged),
        "payments_recorded": len(payments),
        "written_in_quickbooks": sum(1 for pk in payments.values() if in_quickbooks[str(pk)]),
        "lost": lost,
        "duplicated": duplicated,
        "payouts": len(payouts),
        "deposits": deposits.count(),
        "mismatched_deposits": mismatched + missing_deposits,
        "changes_missing": len(changes) - visible,
        # Write-backs tried more than once: a worker died holding them, or a vendor failed.
        "commands_retried": OutboundCommand.objects.filter(attempts__gt=1).count(),
        "commands_dead": OutboundCommand.objects.filter(status=OutboundCommand.Status.DEAD).count(),
    }


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--payouts", type=int, default=200)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills")
    parser.add_argument("--concurrency", type=int, default=8, help="customers paying at once")
    parser.add_argument("--faults", type=float, default=0.0, help="share of sandbox calls failed")
    parser.add_argument("--redis-kills", type=int, default=0, help="CLIENT KILLs mid-run")
    parser.add_argument(
        "--database-kills", type=int, default=0, help="closing of every database connection"
    )
    parser.add_argument("--drain", type=float, default=900, help="seconds to wait for the work")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/arbridge_chaos"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    fresh_database(args.database_url)
    web_ports = [free_port(), free_port()]
    webhook_url = f"http://127.0.0.1:{web_ports[0]}/webhooks/qbo"
    with (
        tempfile.TemporaryDirectory(prefix="arb_chaos_") as data_dir,
        sandboxes(webhook_url) as (qbo_url, processor_url),
    ):
        env = arbridge_env(
            data_dir, qbo_url, redis=True, database_url=args.database_url, redis_url=args.redis_url
        )
        env.update(
            ARBRIDGE_QBO_WEBHOOK_KEY=WEBHOOK_KEY,
            # A killed worker's claim on a write-back lapses soon, for the sweeper.
            ARBRIDGE_OUTBOX_LEASE_SECONDS="20",
            ARBRIDGE_BASE_URL=f"http://127.0.0.1:{web_ports[0]}",
        )
        os.environ.update(env)
        start_django(
            data_dir, qbo_url, redis=True, database_url=args.database_url, redis_url=args.redis_url
        )
        company = Company(qbo_url)
        # Some seeded invoices come paid: seed twice as many as the payments need.
        connection = connect_company(company.create(invoices=args.payments * 2 + 10))

        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync

        run = perform_sync(
            SyncRun.objects.create(partner=connection.partner, connection=connection).pk
        )
        log(NAME, f"initial sync: {run.status} {run.error_message}")
        checkouts = prepare(connection, processor_url, args.payments)
        credentials = connection.partner.payment_settings.credentials
        hook = (
            f"http://127.0.0.1:{web_ports[1]}/webhooks/sandbox-processor/{connection.partner.slug}/"
        )
        httpx.post(
            f"{processor_url}/_sandbox/accounts/{credentials['account_id']}",
            json={"webhook_url": hook},
            timeout=30,
        ).raise_for_status()

        cluster = Cluster(env, web_ports)
        drive = Drive(args.payments)
        try:
            cluster.wait_serving()
            if args.faults:
                set_faults((qbo_url, processor_url), args.faults)
            log(
                NAME,
                f"driving: {args.payments} payments, {args.changes} changes, {args.kills} kills",
            )
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=pay_by_day,
                    args=(
                        drive,
                        cluster.urls,
                        processor_url,
                        checkouts,
                        args.payouts,
                        args.concurrency,
                    ),
                ),
                threading.Thread(
                    target=make_changes,
                    args=(drive, company, args.changes),
                ),
                threading.Thread(
                    target=kill_workers, args=(cluster, drive, args.kills, args.kill_every, rng)
                ),
            ]
            for thread in threads:
                thread.start()
            redis_kills = database_kills = 0
            # Mid-run, as one restart of each would: first Redis, then PostgreSQL.
            for n in range(args.redis_kills):
                drive.reach((n + 1) / (args.redis_kills + 2))
                redis_kills += kill_redis_clients(args.redis_url) and 1
                log(NAME, f"closed the Redis connections ({n + 1})")
            for n in range(args.database_kills):
                drive.reach((n + 2) / (args.database_kills + 2))
                closed = kill_database_clients(args.database_url)
                database_kills += closed and 1
                log(NAME, f"closed {closed} PostgreSQL connections ({n + 1})")
            for thread in threads:
                thread.join()
            driven = time.monotonic() - started
            if args.faults:
                set_faults((qbo_url, processor_url), 0.0)
            log(NAME, f"driven in {driven:.0f}s; draining")
            left, waited = drain(drive.changes, processor_url, args.drain)
            seconds = time.monotonic() - started
            figures = check(drive.changes, qbo_url, company.token["access_token"], processor_url)
            throttled = httpx.get(f"{qbo_url}/_sandbox/stats", timeout=30).json()["realms"]
        finally:
            cluster.stop()
            forget_queue(args.redis_url, env["ARBRIDGE_HUEY_NAME"])

    report = {
        "bench": NAME,
        "database": "postgresql",
        "queue": "redis",
        "web_processes": 2,
        "workers": 3,
        "payments_asked": args.payments,
        "receipts": drive.receipts,
        "checkout_errors": dict(drive.errors),
        "changes": len(drive.changes),
        "change_errors": drive.change_errors,
        "processor_days": drive.days,
        **figures,
        "kills": sum(cluster.kills.values()),
        "periodic_worker_kills": cluster.kills["periodic"],
        "redis_client_kills": redis_kills,
        "database_client_kills": database_kills,
        "faults": args.faults,
        "outstanding_after_drain": left,
        "drain_seconds": round(waited, 1),
        "driven_seconds": round(driven, 1),
        "seconds": round(seconds, 1),
        "quickbooks_requests": throttled.get(REALM, {}),
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    report["ok"] = (
        report["lost"] == 0
        and report["duplicated"] == 0
        and report["mismatched_deposits"] == 0
        and report["changes_missing"] == 0
        and report["kills"] == args.kills
    )
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] in (["qbo"], ["processor"]):
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["qbo", "processor"])
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--webhook-url", default="")
        role = parser.parse_args()
        if role.role == "qbo":
            serve_qbo(role.port, role.webhook_url)
        else:
            serve_processor(role.port)
    else:
        main()
