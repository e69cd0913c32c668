"""Scale-out under faults: 2 web and 3 worker processes on PostgreSQL and Redis, workers killed.

    .venv/bin/python bench/chaos.py [--payments 1000] [--changes 1000] [--payouts 200]
        [--kills 100] [--kill-every 2] [--faults 0.2] [--restarts 1]

As production runs (docs/deploy.md): two `arbridge serve` and three `arbridge
worker` processes (the first with the periodic tasks, the others
`--no-periodic`) share a PostgreSQL server and a Redis server of this run's
own (bench/servers.py: the machine's are shared, and these are restarted).
The sandboxes each run in one process of their own (a sandbox mounted in
each web process would be two QuickBooks companies): the QuickBooks sandbox,
at Intuit's limits (500 requests a minute, 10 at once), whose webhooks go to
/webhooks/qbo, and the sandbox processor, whose webhooks go to the second web
process and whose clock this harness moves a business day at a time.

After an initial sync (not timed), it drives at once:

- `--payments` portal payments by card, as a browser makes them
  (portal_checkout.checkout), half through each web process, spread over
  `--payouts` processor days; a customer whose page shows an error tries
  again (up to CUSTOMER_TRIES times);
- `--changes` invoices entered in QuickBooks by its staff (not through the
  API, whose limits are arbridge's), each reaching arbridge by a signed
  webhook;
- `--payouts` payouts: each processor day's charges paid out two business
  days later (payout.paid), which arbridge records as a deposit;
- `--kills` SIGKILLs of a random worker, one every `--kill-every` seconds,
  each worker restarted at once;
- with `--faults`, that share of the sandboxes' API calls answered 429, 500,
  503 or a timeout (sandbox/common/faults.py), switched off for the drain;
- `--restarts` restarts of Redis (everything in it lost: the queue, the
  schedule, the shared rate limits) and of PostgreSQL (stopped in immediate
  mode), each down for OUTAGE_S; no process is told.

Then it waits until the work is done (or `--drain` seconds pass) and checks,
from the database and the sandboxes' own records:

- lost: charges the processor took whose payment arbridge lacks, or that are
  in QuickBooks zero times;
- duplicated: arbridge payments QuickBooks holds more than once (counted by
  the "arbridge payment <id>" note each write-back carries);
- extra_charges and unpaid: the final state a clean run leaves is one charge
  per invoice paid for, and each of them paid in arbridge and in QuickBooks;
- mismatched_deposits: deposits whose lines do not sum to the payout, or
  whose amount is not the processor's, plus payouts without a deposit;
- changes_missing: QuickBooks changes never visible in arbridge;
- quickbooks_throttled: requests QuickBooks refused by its limits.

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
from decimal import Decimal
from functools import cache
from pathlib import Path

import httpx

import servers
from _common import (
    arbridge_env,
    connect_company,
    free_port,
    log,
    start_django,
    wait_until_serving,
)
from arbridge.sandbox.processor import Store
from arbridge.sandbox.processor.records import Account, Kept
from arbridge.sandbox.qbo.limits import Limiter
from portal_checkout import checkout, prepare
from qbo_webhook_latency import Company

NAME = "chaos"
BIN = Path(sys.executable).parent
WEBHOOK_KEY = "chaos-verifier-token"
# Past the last processor day: two business days to a payout, and one to spare.
FLUSH_DAYS = 3
FAULT_KINDS = ["429", "500", "503", "timeout"]
# A customer whose payment page shows an error tries again, a few times at most.
CUSTOMER_TRIES = 5
RETRY_PAUSE_S = 3.0
# How long each server is down when it is restarted.
OUTAGE_S = 5.0


# -- the sandboxes, each in a process of its own ------------------------------------------


class CountingLimiter(Limiter):
    """QuickBooks' own limits, counting the calls refused by them (not the injected 429s)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limited = 0

    def enter(self, realm_id: str) -> str | None:
        reason = super().enter(realm_id)
        self.limited += reason is not None
        return reason

    def enter_batch(self, realm_id: str, app: str) -> str | None:
        reason = super().enter_batch(realm_id, app)
        self.limited += reason is not None
        return reason


def serve_qbo(port: int, webhook_url: str) -> None:
    """Serve the QuickBooks sandbox at Intuit's limits, with the harness's routes under /_bench/.

    The harness enters invoices as the company's staff do, in QuickBooks' own
    screens: not through the API, so not counted against its limits (which
    are arbridge's alone to keep to) and never faulted. It reads its checks
    from the company's records the same way.
    """
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from arbridge.sandbox.qbo import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(verifier_token=WEBHOOK_KEY, webhook_url=webhook_url, webhook_interval=0.2)
    limiter = CountingLimiter(app.store.now)
    app.limiter = limiter
    store = app.store

    def select(text: str) -> list[dict]:
        """Every row a query finds, read in-process a thousand at a time."""
        rows: list[dict] = []
        while True:
            page = f"{text} startposition {len(rows) + 1} maxresults 1000"
            found = next(iter(json.loads(store.query(store.default_realm(), page)).values()), [])
            rows += found
            if len(found) < 1000:
                return rows

    @cache
    def first(entity: str) -> str:
        """The id of the company's first customer or item: what the invoices are made of."""
        return select(f"select * from {entity}")[0]["Id"]  # noqa: S608 - not SQL

    def bench_routes(environ, start_response):
        request = Request(environ)
        if request.path == "/_bench/invoices":  # enter one, unless its number is taken
            number = request.json["number"]
            found = select(f"select * from Invoice where DocNumber = '{number}'")  # noqa: S608
            if not found:
                line = {"Amount": 125, "DetailType": "SalesItemLineDetail"}
                line["SalesItemLineDetail"] = {"ItemRef": {"value": first("Item")}}
                customer = {"value": first("Customer")}
                invoice = {"DocNumber": number, "CustomerRef": customer, "Line": [line]}
                found = [json.loads(store.create(store.default_realm(), "Invoice", invoice))]
            body: object = {"number": number, "id": found[0]["Id"]}
        elif request.path == "/_bench/records":
            notes = Counter(
                payment.get("PrivateNote", "").removeprefix("arbridge payment ")
                for payment in select("select * from Payment")
                if payment.get("PrivateNote", "").startswith("arbridge payment ")
            )
            body = {
                "payments_by_note": notes,
                "balances": {i["DocNumber"]: i["Balance"] for i in select("select * from Invoice")},
                "limited": limiter.limited,
            }
        else:
            return app(environ, start_response)
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)

    make_server("127.0.0.1", port, bench_routes, threaded=True).serve_forever()


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


def restart_servers(
    postgres: servers.Postgres, redis: servers.Redis, drive: Drive, restarts: int, outage_s: float
) -> Counter[str]:
    """Restart Redis, then PostgreSQL, `restarts` times each, spread over the payments."""
    done: Counter[str] = Counter()
    steps = [("redis", redis), ("postgresql", postgres)] * restarts
    for n, (name, server) in enumerate(steps):
        drive.reach((n + 1) / (len(steps) + 1))
        server.restart(outage_s)
        done[name] += 1
        log(NAME, f"restarted {name} after {outage_s:.0f}s down ({done[name]})")
    return done


# -- the drive ----------------------------------------------------------------------------


class Drive:
    """What the harness did, counted as it happened."""

    def __init__(self, payments: int) -> None:
        self.payments = payments
        self.checkouts = 0  # finished, well or not
        self.receipts = 0
        self.tries = 0
        self.found_paid = 0
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
                for attempt in range(CUSTOMER_TRIES):
                    if attempt:
                        time.sleep(RETRY_PAUSE_S)  # and a customer who saw an error tries again
                    try:
                        url = urls[(n + attempt) % len(urls)]
                        outcome = checkout(
                            url, link, invoice_id, double=n % 10 == 0 and not attempt
                        )
                        error = outcome.error.split(":")[0]
                    except httpx.HTTPError as failure:
                        outcome, error = None, type(failure).__name__
                    if outcome is not None and outcome.receipt:
                        break
                    if attempt and error == "start":
                        # Not payable any more: the earlier try's charge went through.
                        with drive.lock:
                            drive.found_paid += 1
                        break
                    with drive.lock:
                        drive.errors[error] += 1
                with drive.lock:
                    drive.checkouts += 1
                    drive.tries += attempt + 1
                    drive.receipts += outcome is not None and outcome.receipt

            list(pool.map(pay, batch))
            next_day(processor_url)
            drive.days += 1
    drive.paid.set()
    for _ in range(FLUSH_DAYS):
        next_day(processor_url)


def next_day(processor_url: str) -> None:
    httpx.post(f"{processor_url}/_bench/next-day", timeout=60).raise_for_status()


def make_changes(drive: Drive, qbo_url: str, count: int) -> None:
    """Enter `count` invoices in QuickBooks as the payments go, each with its own number."""

    def change(n: int) -> None:
        drive.reach(n / count)
        number = f"CH-{n:06d}"
        entered = httpx.post(f"{qbo_url}/_bench/invoices", json={"number": number}, timeout=60)
        entered.raise_for_status()
        with drive.lock:
            drive.changes.append(number)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(change, range(count)))


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
    from django.db import Error, connection

    started = time.monotonic()
    while True:
        try:
            left = outstanding(changes, processor_url)
        except Error:  # the harness's own connection did not outlive PostgreSQL's restart
            connection.close()
            time.sleep(1)
            continue
        if not any(left.values()) or time.monotonic() - started > seconds:
            return left, time.monotonic() - started
        time.sleep(1)


def check(changes: list[str], paid: list[int], qbo_url: str, processor_url: str) -> dict[str, int]:
    """Count, from arbridge and both sandboxes' own records, what a partner would check."""
    from arbridge.integrations.models import OutboundCommand
    from arbridge.ledger.models import Deposit, Invoice, Payment

    records = httpx.get(f"{processor_url}/_bench/records", timeout=60).json()
    quickbooks = httpx.get(f"{qbo_url}/_bench/records", timeout=120).json()
    in_quickbooks = Counter(quickbooks["payments_by_note"])
    charged = {c["id"] for c in records["charges"] if c["status"] == "succeeded"}
    payments = dict(
        Payment.objects.filter(
            processor_reference__in=charged, status=Payment.Status.SUCCEEDED
        ).values_list("processor_reference", "pk")
    )
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
    # The final state a clean run leaves: every invoice paid for is paid, in both systems.
    balances = Invoice.objects.filter(pk__in=paid).values_list("number", "balance")
    unpaid = sum(
        1
        for number, balance in balances
        if balance != 0 or Decimal(str(quickbooks["balances"].get(number, "-1"))) != 0
    )
    return {
        "charges": len(charged),
        "payments_recorded": len(payments),
        "written_in_quickbooks": sum(1 for pk in payments.values() if in_quickbooks[str(pk)]),
        "lost": lost,
        "duplicated": duplicated,
        # Charges beyond one per invoice paid for: a customer charged twice.
        "extra_charges": len(charged) - len(paid),
        "unpaid": unpaid,
        "payouts": len(payouts),
        "deposits": deposits.count(),
        "mismatched_deposits": mismatched + missing_deposits,
        "changes_missing": len(changes) - visible,
        # Write-backs tried more than once: a worker died holding them, or a vendor failed.
        "commands_retried": OutboundCommand.objects.filter(attempts__gt=1).count(),
        "commands_dead": Counter(
            f"{action}: {error[:120]}"
            for action, error in OutboundCommand.objects.filter(
                status=OutboundCommand.Status.DEAD
            ).values_list("action", "last_error")
        ),
        # QuickBooks' own 429s, its limits enforced: arbridge's processes share one limiter.
        "quickbooks_throttled": quickbooks["limited"],
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
    parser.add_argument(
        "--restarts", type=int, default=1, help="restarts of Redis and of PostgreSQL, each"
    )
    parser.add_argument("--drain", type=float, default=900, help="seconds to wait for the work")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if lacking := servers.missing():
        sys.exit(f"chaos: this machine lacks {', '.join(lacking)}")

    web_ports = [free_port(), free_port()]
    webhook_url = f"http://127.0.0.1:{web_ports[0]}/webhooks/qbo"
    postgres, redis = servers.Postgres(), servers.Redis()
    database_url, redis_url = postgres.create_database("arbridge_chaos"), redis.url(5)
    with (
        tempfile.TemporaryDirectory(prefix="arb_chaos_") as data_dir,
        sandboxes(webhook_url) as (qbo_url, processor_url),
    ):
        where = {"database_url": database_url, "redis_url": redis_url}
        env = arbridge_env(data_dir, qbo_url, redis=True, **where)
        env.update(
            ARBRIDGE_QBO_WEBHOOK_KEY=WEBHOOK_KEY,
            # A killed worker's claim on a write-back lapses soon, for the sweeper.
            ARBRIDGE_OUTBOX_LEASE_SECONDS="20",
            ARBRIDGE_BASE_URL=f"http://127.0.0.1:{web_ports[0]}",
        )
        os.environ.update(env)
        start_django(data_dir, qbo_url, redis=True, **where)
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
                f"driving: {args.payments} payments, {args.changes} changes, {args.kills} kills,"
                f" {args.restarts} restarts of each server",
            )
            started = time.monotonic()
            drives = [
                (
                    pay_by_day,
                    drive,
                    cluster.urls,
                    processor_url,
                    checkouts,
                    args.payouts,
                    args.concurrency,
                ),
                (make_changes, drive, qbo_url, args.changes),
                (kill_workers, cluster, drive, args.kills, args.kill_every, rng),
            ]
            threads = [threading.Thread(target=f, args=rest) for f, *rest in drives]
            for thread in threads:
                thread.start()
            restarts = restart_servers(postgres, redis, drive, args.restarts, OUTAGE_S)
            for thread in threads:
                thread.join()
            driven = time.monotonic() - started
            if args.faults:
                set_faults((qbo_url, processor_url), 0.0)
            log(NAME, f"driven in {driven:.0f}s; draining")
            left, waited = drain(drive.changes, processor_url, args.drain)
            seconds = time.monotonic() - started
            paid = [invoice_id for _, invoice_id in checkouts]
            figures = check(drive.changes, paid, qbo_url, processor_url)
        finally:
            cluster.stop()
            from django.db import connections

            connections.close_all()
            postgres.close()
            redis.close()

    report = {
        "bench": NAME,
        "database": "postgresql",
        "queue": "redis",
        "web_processes": 2,
        "workers": 3,
        "payments_asked": args.payments,
        "receipts": drive.receipts,
        "checkout_tries": drive.tries,
        "found_paid_on_retry": drive.found_paid,
        "checkout_errors": dict(drive.errors),
        "changes": len(drive.changes),
        "processor_days": drive.days,
        **figures,
        "kills": sum(cluster.kills.values()),
        "periodic_worker_kills": cluster.kills["periodic"],
        "redis_restarts": restarts["redis"],
        "postgresql_restarts": restarts["postgresql"],
        "outage_seconds": OUTAGE_S,
        "faults": args.faults,
        "outstanding_after_drain": left,
        "drain_seconds": round(waited, 1),
        "driven_seconds": round(driven, 1),
        "seconds": round(seconds, 1),
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    report["ok"] = (
        report["lost"] == 0
        and report["duplicated"] == 0
        and report["extra_charges"] == 0
        and report["unpaid"] == 0
        and report["mismatched_deposits"] == 0
        and report["changes_missing"] == 0
        and report["quickbooks_throttled"] == 0
        and report["kills"] == args.kills
        and not report["commands_dead"]
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
