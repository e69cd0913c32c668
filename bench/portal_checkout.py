"""Time customers paying invoices in the portal, by card, through the sandbox processor.

    .venv/bin/python bench/portal_checkout.py --checkouts 500 --concurrency 20
        [--database-url postgres://postgres@127.0.0.1:5432/FRESH_DB]

Four processes besides this one, as in production: `arbridge serve` (the
portal), an `arbridge worker` (Huey on Redis) delivering the write-backs, the
QuickBooks sandbox and the sandbox processor, each serving loopback HTTP
(bench/_common.py). The QuickBooks company is seeded with one open invoice a
checkout and synced into a fresh SQLite arbridge first (not timed), or into
the fresh PostgreSQL database `--database-url` names (production's setup).

`--concurrency` clients then each pay invoices as a browser would: open the
customer's portal link, tick one invoice, choose card, enter a test card on
the processor's hosted page (so the number never reaches arbridge), and POST
Pay. Every `--double-every`th checkout posts Pay twice at once, as a double
click does. It prints one JSON line:

- checkouts_per_s: checkouts over the time from the first link opened to the last receipt;
- p95_ms: the 95th percentile of the Pay request, double submits included;
- double_charges: checkouts the processor charged more than once (must be 0),
  counted from the processor's own records;
- writeback_p99_s: from a checkout's success (stamped by arbridge) to the
  linked payment created in the sandbox QuickBooks (its write-back command
  done); the target is under 2 s. written_in_quickbooks counts the payments
  the sandbox holds.

With ARBRIDGE_BENCH_PROFILE=DIR, it also leaves in DIR where the time went:
py-spy samples of `arbridge serve` and `arbridge worker` while the customers
pay (raw collapsed stacks, when py-spy is on PATH), and writeback.json, each
write-back's time split into waiting to be batched and sending, with the
batches' sizes and spacing.

Run as `portal_checkout.py processor --port N`, this module is the sandbox
processor's process, with one extra route the benchmark reads its charges from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from _common import (
    add_company,
    arbridge_env,
    connect_company,
    count_quickbooks_payments,
    free_port,
    log,
    percentile,
    sandbox_process,
    start_django,
    wait_until_serving,
)

NAME = "portal_checkout"
TARGET_WRITEBACK_P99_S = 2.0
CARD = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123", "postal_code": "10001"}
TIMEOUT_S = 600
BIN = Path(sys.executable).parent
PROFILE_DIR = os.getenv("ARBRIDGE_BENCH_PROFILE", "")


# -- the sandbox processor in its own process ----------------------------------------------


def serve_processor(port: int) -> None:
    """Serve the sandbox processor, and its charges per checkout at /_bench/charges."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from arbridge.sandbox.processor import Store, create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    store = Store()
    app = create_app(store, webhook_interval=None)

    def with_charges(environ, start_response):
        if Request(environ).path != "/_bench/charges":
            return app(environ, start_response)
        with store.lock:
            charges = [
                {"checkout": p.metadata.get("checkout", ""), "status": p.status}
                for account in store.accounts.values()
                for p in account.payments.values()
            ]
        return Response(json.dumps(charges), mimetype="application/json")(environ, start_response)

    make_server("127.0.0.1", port, with_charges, threaded=True).serve_forever()


@contextmanager
def processor_process() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    command = [sys.executable, __file__, "processor", "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_sandbox/stats", child)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


# -- arbridge -------------------------------------------------------------------------------


def prepare(connection, processor_url: str, count: int) -> list[tuple[str, int]]:
    """Collect through the sandbox processor; return (portal link, invoice id) per checkout."""
    from arbridge.ledger.models import Invoice
    from arbridge.payments.models import PaymentSettings
    from arbridge.payments.processors.sandbox import provision
    from arbridge.portal.models import PortalLink

    partner = connection.partner
    PaymentSettings.objects.update_or_create(
        partner=partner,
        defaults={"processor": "sandbox", "credentials": provision(processor_url, partner.name)},
    )
    invoices = list(
        Invoice.objects.for_partner(partner)
        .filter(status=Invoice.Status.OPEN, balance__gt=0)
        .order_by("pk")[:count]
    )
    if len(invoices) < count:
        raise RuntimeError(f"only {len(invoices)} open invoices to pay")
    links = {}
    for invoice in invoices:
        if invoice.customer_id not in links:
            links[invoice.customer_id] = PortalLink.issue(invoice.customer).get_absolute_url()
    return [(links[invoice.customer_id], invoice.pk) for invoice in invoices]


@contextmanager
def arbridge_processes(
    data_dir: str, qbo_url: str, threads: int, database_url: str = ""
) -> Iterator[str]:
    """Run `arbridge serve` and `arbridge worker` on the benchmark's database; yield the URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = arbridge_env(data_dir, qbo_url, redis=True, database_url=database_url)
    env["ARBRIDGE_BASE_URL"] = url
    web = subprocess.Popen(
        [BIN / "arbridge", "serve", "--port", str(port), "--threads", str(threads)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )
    worker = subprocess.Popen(
        [BIN / "arbridge", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr
    )
    try:
        wait_until_serving(f"{url}/login/", web)
        with sampled({"serve": web.pid, "worker": worker.pid}):
            yield url
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=60)


@contextmanager
def sampled(pids: dict[str, int]) -> Iterator[None]:
    """Sample the processes' stacks with py-spy meanwhile, if a profile was asked for."""
    spy = shutil.which("py-spy")
    if not PROFILE_DIR or not spy:
        if PROFILE_DIR:
            log(NAME, "py-spy is not on PATH: no stack samples")
        yield
        return
    Path(PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", "50", "--format", "raw", "--nonblocking"]
            + ["--output", str(Path(PROFILE_DIR) / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    try:
        yield
    finally:
        for spy_process in spies:
            spy_process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy_process in spies:
            spy_process.wait(timeout=60)


# -- the customers --------------------------------------------------------------------------


@dataclass
class Outcome:
    pay_ms: list[float]
    receipt: bool
    error: str = ""


def csrf(client: httpx.Client) -> str:
    return client.cookies["csrftoken"]


def checkout(
    url: str, link: str, invoice_id: int, double: bool, hooks: dict | None = None
) -> Outcome:
    """Pay one invoice in full as a customer's browser would; Pay twice at once if `double`.

    `hooks` are httpx event hooks for every request made (bench/load.py times them).
    """
    with httpx.Client(base_url=url, timeout=60, event_hooks=hooks) as browser:
        invoices = browser.get(link, follow_redirects=True)
        invoices.raise_for_status()
        page = str(invoices.url)
        start = browser.post(
            re.sub(r"invoices/$", "pay/", page),
            data={"invoice": str(invoice_id), "csrfmiddlewaretoken": csrf(browser)},
        )
        if start.status_code != 302:
            return Outcome([], False, f"start: {start.status_code}")
        method = browser.get(start.headers["location"])
        method.raise_for_status()
        to_processor = browser.post(
            start.headers["location"], data={"method": "card", "csrfmiddlewaretoken": csrf(browser)}
        )
        if to_processor.status_code != 302:
            return Outcome([], False, f"method: {to_processor.status_code}")
        # The card goes to the processor's own page, never to arbridge.
        hosted = to_processor.headers["location"]
        form = browser.get(hosted)
        form.raise_for_status()
        query = dict(form.url.params)
        tokenized = browser.post(hosted.split("?")[0], data=CARD | query)
        if tokenized.status_code != 303:
            return Outcome([], False, f"tokenize: {tokenized.status_code}")
        review = browser.get(tokenized.headers["location"], follow_redirects=True)
        review.raise_for_status()
        pay_url = str(review.url).replace("/review/", "/pay/")
        data = {"csrfmiddlewaretoken": csrf(browser)}
        times: list[float] = []
        answers: list[httpx.Response] = []

        def press(tab: httpx.Client) -> None:
            started = time.perf_counter()
            answers.append(tab.post(pay_url, data=data))
            times.append((time.perf_counter() - started) * 1000)

        # A second tab for a double click: the same session, its own connection.
        tabs = [browser] + (
            [httpx.Client(base_url=url, cookies=browser.cookies, timeout=60, event_hooks=hooks)]
            if double
            else []
        )
        presses = [threading.Thread(target=press, args=[tab]) for tab in tabs]
        for thread in presses:
            thread.start()
        for thread in presses:
            thread.join()
        for tab in tabs[1:]:
            tab.close()
        # A second press finds the charge under way and is sent to wait for it.
        receipt = any("/receipt/" in a.headers.get("location", "") for a in answers)
        ok = receipt and all(a.status_code == 302 for a in answers)
        error = (
            "" if ok else f"pay: {[(a.status_code, a.headers.get('location')) for a in answers]}"
        )
        return Outcome(times, receipt, error)


def run_customers(
    url: str, checkouts: list[tuple[str, int]], concurrency: int, double_every: int
) -> tuple[list[Outcome], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(
            pool.map(
                lambda n: checkout(url, *checkouts[n], double_every and n % double_every == 0),
                range(len(checkouts)),
            )
        )
    return outcomes, time.perf_counter() - started


# -- figures --------------------------------------------------------------------------------


def wait_for_writebacks(count: int) -> None:
    from arbridge.integrations.models import OutboundCommand

    deadline = time.monotonic() + TIMEOUT_S
    finished = (OutboundCommand.Status.DONE, OutboundCommand.Status.DEAD)
    while time.monotonic() < deadline:
        if OutboundCommand.objects.filter(status__in=finished).count() >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the write-backs were not delivered within {TIMEOUT_S}s")


def writeback_latencies(connection) -> list[float]:
    """Return, per succeeded checkout, seconds from its success to its payment in QuickBooks."""
    from arbridge.integrations import writeback
    from arbridge.integrations.models import OutboundCommand
    from arbridge.payments.models import Checkout

    succeeded = Checkout.objects.filter(status=Checkout.Status.SUCCEEDED)
    done = dict(
        OutboundCommand.objects.filter(status=OutboundCommand.Status.DONE).values_list(
            "idempotency_key", "updated_at"
        )
    )
    latencies = []
    for paid_at, payment_id in succeeded.values_list("updated_at", "payment_id"):
        if (written := done.get(writeback.create_key(payment_id, connection))) is not None:
            latencies.append((written - paid_at).total_seconds())
    return latencies


def writeback_breakdown(connection) -> dict:
    """Split each write-back into waiting to be batched and sending; describe the batches.

    waiting: from the checkout's success to its batch's claim (the commit, the
    queue, a worker, the spacing); spacing_bound: how much of that the spacing
    alone imposed (the previous batch's claim plus the spacing, past success);
    sending: from the claim to the answer recorded (HTTP, QuickBooks, recording).
    """
    from arbridge.connectors.qbo.connector import BATCHING
    from arbridge.integrations import writeback
    from arbridge.integrations.models import OutboundCommand
    from arbridge.payments.models import Checkout

    paid = {
        writeback.create_key(payment_id, connection): paid_at
        for paid_at, payment_id in Checkout.objects.filter(
            status=Checkout.Status.SUCCEEDED
        ).values_list("updated_at", "payment_id")
    }
    commands = OutboundCommand.objects.filter(status=OutboundCommand.Status.DONE)
    rows = list(commands.values_list("idempotency_key", "batched_at", "updated_at", "attempts"))
    claims = sorted({batched_at for _, batched_at, _, _ in rows if batched_at})
    sizes = Counter(batched_at for _, batched_at, _, _ in rows)
    previous = dict(zip(claims[1:], claims, strict=False))
    spacing = dt.timedelta(seconds=BATCHING.spacing_s)
    waiting, bound, sending = [], [], []
    for key, batched_at, done, _ in rows:
        if key not in paid or batched_at is None:
            continue
        waiting.append((batched_at - paid[key]).total_seconds())
        earliest = previous[batched_at] + spacing if batched_at in previous else paid[key]
        bound.append(max(0.0, (earliest - paid[key]).total_seconds()))
        sending.append((done - batched_at).total_seconds())
    gaps = [(b - a).total_seconds() for a, b in zip(claims, claims[1:], strict=False)]

    def spread(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {f"p{p}": round(percentile(values, p), 3) for p in (50, 90, 99)} | {
            "max": round(max(values), 3)
        }

    return {
        "waiting_s": spread(waiting),
        "spacing_bound_s": spread(bound),
        "sending_s": spread(sending),
        "batches": len(claims),
        "batch_size": spread([float(n) for n in sizes.values()]),
        "gap_between_batches_s": spread(gaps),
        "retried": sum(1 for row in rows if row[3] > 1),
    }


def double_charges(processor_url: str) -> tuple[int, int]:
    """Return the checkouts charged more than once at the processor, and all charges made."""
    charges = httpx.get(f"{processor_url}/_bench/charges", timeout=60).json()
    per_checkout = Counter(c["checkout"] for c in charges if c["status"] != "failed")
    return sum(1 for n in per_checkout.values() if n > 1), len(charges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--double-every", type=int, default=5, help="every Nth checkout posts Pay twice at once"
    )
    parser.add_argument("--threads", type=int, default=16, help="the web server's threads")
    parser.add_argument(
        "--database-url", default="", help="a fresh PostgreSQL database instead of SQLite"
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="arb_bench_portal_") as data_dir,
        sandbox_process() as qbo_url,
        processor_process() as processor_url,
    ):
        company = add_company(
            qbo_url, customers=50, invoices=args.checkouts, payments=0, credit_memos=0
        )
        start_django(data_dir, qbo_url, redis=True, database_url=args.database_url)

        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.payments.models import Checkout

        connection = connect_company(company)
        run = perform_sync(
            SyncRun.objects.create(partner=connection.partner, connection=connection).pk
        )
        log(NAME, f"synced: {run.status} {run.error_message}")
        checkouts = prepare(connection, processor_url, args.checkouts)
        with arbridge_processes(data_dir, qbo_url, args.threads, args.database_url) as url:
            log(NAME, f"{args.checkouts} checkouts by {args.concurrency} customers at once")
            outcomes, seconds = run_customers(url, checkouts, args.concurrency, args.double_every)
            paid = Checkout.objects.filter(status=Checkout.Status.SUCCEEDED).count()
            wait_for_writebacks(paid)
        doubles, charges = double_charges(processor_url)
        written = count_quickbooks_payments(qbo_url, company["token"]["access_token"])
        latencies = writeback_latencies(connection)
        if PROFILE_DIR:
            breakdown = writeback_breakdown(connection)
            (Path(PROFILE_DIR) / "writeback.json").write_text(json.dumps(breakdown, indent=1))
            log(NAME, f"write-back breakdown: {json.dumps(breakdown)}")

    errors = Counter(o.error.split(":")[0] for o in outcomes if o.error)
    pay_ms = [ms for o in outcomes for ms in o.pay_ms]
    report = {
        "bench": NAME,
        "transport": "loopback HTTP: arbridge serve, QuickBooks and processor sandboxes apart",
        "consumer": "arbridge worker (Huey, Redis queue)",
        "database": "postgresql" if args.database_url else "sqlite",
        "checkouts": args.checkouts,
        "concurrency": args.concurrency,
        "double_submits": sum(1 for o in outcomes if len(o.pay_ms) == 2),
        "receipts": sum(o.receipt for o in outcomes),
        "succeeded": paid,
        "errors": dict(errors),
        "seconds": round(seconds, 1),
        "checkouts_per_s": round(args.checkouts / seconds, 2),
        "p50_ms": round(percentile(pay_ms, 50), 1),
        "p95_ms": round(percentile(pay_ms, 95), 1),
        "processor_charges": charges,
        "double_charges": doubles,
        "written_in_quickbooks": written,
        "writeback_p50_s": round(percentile(latencies, 50), 2),
        "writeback_p99_s": round(percentile(latencies, 99), 2),
        # Five processes and the clients share the machine: say how big it is and how busy.
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    report["meets_target"] = (
        doubles == 0
        and paid == args.checkouts
        and written == paid
        and report["writeback_p99_s"] < TARGET_WRITEBACK_P99_S
    )
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] == ["processor"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["processor"])
        parser.add_argument("--port", type=int, required=True)
        serve_processor(parser.parse_args().port)
    else:
        main()
