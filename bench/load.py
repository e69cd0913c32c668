"""Load: the portal, the REST API and QuickBooks webhooks driven together on PostgreSQL + Redis.

    .venv/bin/python bench/load.py [--seconds 300]
        [--database-url postgres://postgres@127.0.0.1:5432/arbridge_load]
        [--redis-url redis://127.0.0.1:6379/6]

As production runs (docs/deploy.md) and as bench/chaos.py sets it up (its
Cluster and sandboxes): two `arbridge serve` and three `arbridge worker`
processes on a fresh PostgreSQL database and a Redis queue of this run's own,
the QuickBooks sandbox and the sandbox processor each in a process of its own.
After an initial sync (not timed), client threads (httpx) drive for
`--seconds`, at once and spread over both web processes:

- portal: `--payers` customers paying an invoice by card as a browser does
  (portal_checkout.checkout: link, invoices, pay, method, hosted card page,
  review, Pay; every tenth a double click), and `--browsers` customers
  opening their link and reading their invoices list and an invoice;
- api: `--api-clients` integrations reading GET /api/v1/invoices (plain,
  filtered, a second page), /invoices/{id}, /customers, /payments and
  /connections with an API key, and a watcher polling
  /api/v1/invoices?updated_since=... back to back for the changes below;
- webhooks: `--change-rate` invoices a second created in the QuickBooks
  sandbox, each announced by this harness, standing in for Intuit, with a
  signed CloudEvents POST to /webhooks/qbo (so that the POST is timed here).

Every request to arbridge is timed from its start to its body read (the card
page is the processor's, not timed). It prints one JSON line:

- requests_per_s: requests to arbridge over the driven seconds;
- portal, api, webhooks: p50_ms, p95_ms, p99_ms and count per family;
- errors: requests answered other than 2xx/3xx, or not answered, plus
  checkouts that did not reach a receipt (must be 0); error_kinds lists them;
- webhook_to_visible_p99_ms: from a change's webhook POST to the watcher's
  poll that first listed it through the API (polls run back to back, so the
  figure errs long by at most one poll);
- writeback_p99_ms: from a checkout's success (stamped by arbridge) to its
  payment created in the QuickBooks sandbox (its write-back command done).

After the drive it waits up to `--drain` seconds for the last changes and
write-backs; changes_missing and writebacks_missing count what never came.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import httpx

from _common import REALM, arbridge_env, connect_company, free_port, log, percentile, start_django
from chaos import WEBHOOK_KEY, Cluster, sandboxes
from portal_checkout import checkout, prepare, writeback_latencies
from qbo_webhook_latency import Company, Watcher

NAME = "load"
FAMILIES = ("portal", "api", "webhooks")


class Timings:
    """Every request to arbridge, timed by httpx event hooks, with its family and outcome."""

    def __init__(self, arbridge_urls: list[str]) -> None:
        self.hosts = {httpx.URL(url).netloc for url in arbridge_urls}
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.recording = threading.Event()
        self.hooks = {"request": [self.started], "response": [self.answered]}

    @staticmethod
    def family(path: str) -> str:
        if path.startswith("/api/"):
            return "api"
        if path.startswith("/webhooks/"):
            return "webhooks"
        return "portal"

    def started(self, request: httpx.Request) -> None:
        request.extensions["load_started"] = time.perf_counter()

    def answered(self, response: httpx.Response) -> None:
        request = response.request
        if request.url.netloc not in self.hosts:
            return  # the processor's hosted card page
        response.read()
        ms = (time.perf_counter() - request.extensions["load_started"]) * 1000
        family = self.family(request.url.path)
        with self.lock:
            self.ms[family].append(ms)
            if response.status_code >= 400:
                self.errors[f"{family} {request.method} {response.status_code}"] += 1

    def failed(self, family: str, error: Exception) -> None:
        """Count a request that got no answer (an answer >= 400 is counted by `answered`)."""
        if not isinstance(error, httpx.HTTPStatusError):
            with self.lock:
                self.errors[f"{family} {type(error).__name__}"] += 1

    def figures(self, family: str) -> dict[str, float | int]:
        values = self.ms[family]
        if not values:
            return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "count": 0}
        return {
            **{f"p{p}_ms": round(percentile(values, p), 1) for p in (50, 95, 99)},
            "count": len(values),
        }


# -- the drivers --------------------------------------------------------------------------


def pay(timings: Timings, urls: list[str], checkouts, deadline: float, counter) -> None:
    """Pay invoices one after another until the deadline (or the open invoices run out)."""
    for n, (link, invoice_id) in checkouts:
        if time.monotonic() > deadline:
            return
        try:
            outcome = checkout(
                urls[n % len(urls)], link, invoice_id, double=n % 10 == 0, hooks=timings.hooks
            )
        except httpx.HTTPError as error:
            timings.failed("portal", error)
            continue
        with timings.lock:
            counter["receipts"] += outcome.receipt
            if outcome.error:  # the step that did not lead on: "start", "method", "pay"...
                timings.errors[f"checkout {outcome.error.split(':')[0]}"] += 1


def browse(timings: Timings, urls: list[str], links, deadline: float, seed: int) -> None:
    """Open a customer's link, then read the invoices list and one invoice, with a pause."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        link, invoice_id = rng.choice(links)
        try:
            with httpx.Client(
                base_url=rng.choice(urls), timeout=60, event_hooks=timings.hooks
            ) as browser:
                page = browser.get(link, follow_redirects=True)
                page.raise_for_status()
                browser.get(f"{page.url}{invoice_id}/").raise_for_status()
                browser.get(page.url).raise_for_status()
        except httpx.HTTPError as error:
            timings.failed("portal", error)
        time.sleep(rng.uniform(0.1, 0.4))


def read_api(timings: Timings, urls: list[str], key: str, deadline: float, seed: int) -> None:
    """Read the API as an integration does, a request at a time with a short pause."""
    rng = random.Random(seed)
    clients = [
        httpx.Client(
            base_url=f"{url}/api/v1",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            event_hooks=timings.hooks,
        )
        for url in urls
    ]
    invoice_ids: list[int] = []
    while time.monotonic() < deadline:
        api = rng.choice(clients)
        try:
            choice = rng.randrange(7)
            if choice == 0 or not invoice_ids:
                page = api.get("/invoices", params={"limit": 50})
                page.raise_for_status()
                body = page.json()
                invoice_ids = [item["id"] for item in body["items"]]
                if body.get("next_cursor"):
                    api.get("/invoices", params={"limit": 50, "cursor": body["next_cursor"]})
            elif choice == 1:
                api.get("/invoices", params={"status": "open", "limit": 50})
            elif choice == 2:
                api.get(f"/invoices/{rng.choice(invoice_ids)}")
            elif choice == 3:
                api.get("/customers", params={"limit": 50})
            elif choice == 4:
                api.get("/payments", params={"limit": 50})
            elif choice == 5:
                api.get("/connections")
            else:
                api.get("/sync-runs", params={"limit": 20})
        except httpx.HTTPError as error:
            timings.failed("api", error)
        time.sleep(rng.uniform(0.02, 0.1))
    for client in clients:
        client.close()


def webhook_event(invoice_id: str) -> list[dict]:
    """One CloudEvents webhook, as Intuit posts it for a created invoice."""
    # Reference: https://blogs.a.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.load",
            "type": "qbo.invoice.created.v1",
            "datacontenttype": "application/json",
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "intuitentityid": invoice_id,
            "intuitaccountid": REALM,
            "data": {},
        }
    ]


def fresh_database(url: str) -> None:
    """Drop and create the database the URL names (on its server's `postgres` database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


def make_changes(
    timings: Timings, qbo_url: str, url: str, rate: float, deadline: float
) -> dict[str, float]:
    """Create `rate` invoices a second in QuickBooks, each announced by a signed webhook.

    Return each number's webhook POST time (time.time(), as the watcher notes).
    """
    from arbridge.sandbox.qbo.webhooks import sign

    posted: dict[str, float] = {}
    hooks = httpx.Client(base_url=url, timeout=60, event_hooks=timings.hooks)
    start = time.monotonic()

    def change(n: int) -> None:
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        number = f"LD-{n:06d}"
        try:
            created = httpx.post(f"{qbo_url}/_bench/invoices", json={"number": number}, timeout=60)
            created.raise_for_status()
        except httpx.HTTPError as error:
            with timings.lock:
                timings.errors[f"quickbooks sandbox {type(error).__name__}"] += 1
            return
        payload = json.dumps(webhook_event(created.json()["id"])).encode()
        headers = {
            "content-type": "application/json",
            "intuit-signature": sign(WEBHOOK_KEY, payload),
        }
        posted[number] = time.time()
        try:
            hooks.post("/webhooks/qbo", content=payload, headers=headers)
        except httpx.HTTPError as error:
            timings.failed("webhooks", error)

    with ThreadPoolExecutor(4) as pool:
        n = 0
        futures = []
        while start + n / rate < deadline:
            futures.append(pool.submit(change, n))
            n += 1
        for future in futures:
            future.result()
    hooks.close()
    return posted


def watch(watcher: Watcher, timings: Timings, stop: threading.Event) -> None:
    """Poll the API back to back until stopped; a failed poll is counted and tried again."""
    while not stop.is_set():
        try:
            watcher.poll()
        except httpx.HTTPError as error:
            timings.failed("api", error)
            time.sleep(0.2)


def open_writebacks() -> int:
    from arbridge.integrations.models import OutboundCommand

    return OutboundCommand.objects.exclude(
        status__in=(OutboundCommand.Status.DONE, OutboundCommand.Status.DEAD)
    ).count()


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--payers", type=int, default=3, help="customers paying at once")
    parser.add_argument("--browsers", type=int, default=2, help="customers reading at once")
    parser.add_argument("--api-clients", type=int, default=2)
    parser.add_argument(
        "--change-rate", type=float, default=2.0, help="QuickBooks changes a second"
    )
    parser.add_argument("--payments-per-s", type=float, default=2.0, help="open invoices to seed")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for the last")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/arbridge_load"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()

    fresh_database(args.database_url)
    web_ports = [free_port(), free_port()]
    # No sandbox webhooks: the harness posts them itself, to time them.
    with (
        tempfile.TemporaryDirectory(prefix="arb_load_") as data_dir,
        sandboxes("") as (qbo_url, processor_url),
    ):
        where = {"database_url": args.database_url, "redis_url": args.redis_url}
        env = arbridge_env(data_dir, qbo_url, redis=True, **where)
        env.update(
            ARBRIDGE_QBO_WEBHOOK_KEY=WEBHOOK_KEY,
            ARBRIDGE_BASE_URL=f"http://127.0.0.1:{web_ports[0]}",
        )
        os.environ.update(env)
        start_django(data_dir, qbo_url, redis=True, **where)
        from arbridge.core.models import ApiKey
        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.payments.models import Checkout

        payments = int(args.seconds * args.payments_per_s) + 20
        company = Company(qbo_url)
        # Some seeded invoices come paid: seed twice as many as the payments need.
        connection = connect_company(company.create(invoices=payments * 2 + 50))
        run = perform_sync(
            SyncRun.objects.create(partner=connection.partner, connection=connection).pk
        )
        log(NAME, f"initial sync: {run.status} {run.error_message}")
        prepared = prepare(connection, processor_url, payments + 20)
        checkouts, reading = prepared[:payments], prepared[payments:]
        credentials = connection.partner.payment_settings.credentials
        hook = (
            f"http://127.0.0.1:{web_ports[1]}/webhooks/sandbox-processor/{connection.partner.slug}/"
        )
        httpx.post(
            f"{processor_url}/_sandbox/accounts/{credentials['account_id']}",
            json={"webhook_url": hook},
            timeout=30,
        ).raise_for_status()
        _, key = ApiKey.issue(connection.partner, "load", scope=ApiKey.Scope.READ)

        cluster = Cluster(env, web_ports)
        timings = Timings(cluster.urls)
        counter: Counter[str] = Counter()
        try:
            cluster.wait_serving()
            log(NAME, f"driving for {args.seconds:.0f}s")
            watcher = Watcher(cluster.urls[1], key)
            watcher.api.event_hooks = timings.hooks
            stop_watching = threading.Event()
            started = time.monotonic()
            deadline = started + args.seconds
            shared = itertools.count()
            numbered = zip(shared, checkouts, strict=False)
            lock = threading.Lock()

            def next_checkouts():
                while True:
                    with lock:
                        item = next(numbered, None)
                    if item is None:
                        return
                    yield item

            threads = [
                threading.Thread(
                    target=pay, args=(timings, cluster.urls, next_checkouts(), deadline, counter)
                )
                for _ in range(args.payers)
            ]
            threads += [
                threading.Thread(
                    target=browse, args=(timings, cluster.urls, reading, deadline, 100 + n)
                )
                for n in range(args.browsers)
            ]
            threads += [
                threading.Thread(
                    target=read_api, args=(timings, cluster.urls, key, deadline, 200 + n)
                )
                for n in range(args.api_clients)
            ]
            for thread in threads:
                thread.start()
            watching = threading.Thread(target=watch, args=(watcher, timings, stop_watching))
            watching.start()
            posted = make_changes(timings, qbo_url, cluster.urls[0], args.change_rate, deadline)
            for thread in threads:
                thread.join()
            driven = time.monotonic() - started
            requests = sum(len(v) for v in timings.ms.values())
            figures = {family: timings.figures(family) for family in FAMILIES}
            log(NAME, f"driven in {driven:.0f}s ({requests} requests); draining")
            drain_until = time.monotonic() + args.drain
            while time.monotonic() < drain_until and (
                open_writebacks() or set(posted) - set(watcher.seen)
            ):
                time.sleep(0.5)
            stop_watching.set()
            watching.join()
            succeeded = Checkout.objects.filter(status=Checkout.Status.SUCCEEDED).count()
            latencies = writeback_latencies(connection)
        finally:
            cluster.stop()

    visible = [
        (watcher.seen[number] - at) * 1000
        for number, at in posted.items()
        if number in watcher.seen
    ]
    errors = dict(timings.errors)
    report = {
        "bench": NAME,
        "database": "postgresql",
        "queue": "redis",
        "web_processes": 2,
        "workers": 3,
        "seconds": round(driven, 1),
        "requests": requests,
        "requests_per_s": round(requests / driven, 1),
        **figures,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "payments": succeeded,
        "receipts": counter["receipts"],
        # The payers ran out of open invoices before the end: seed more (--payments-per-s).
        "invoices_ran_out": succeeded >= len(checkouts),
        "changes": len(posted),
        "changes_missing": len(posted) - len(visible),
        "webhook_to_visible_p50_ms": round(percentile(visible, 50), 1) if visible else None,
        "webhook_to_visible_p99_ms": round(percentile(visible, 99), 1) if visible else None,
        "writebacks": len(latencies),
        "writebacks_missing": succeeded - len(latencies),
        "writeback_p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "writeback_p99_ms": round(percentile(latencies, 99) * 1000, 1) if latencies else None,
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    report["ok"] = (
        report["errors"] == 0
        and report["changes_missing"] == 0
        and report["writebacks_missing"] == 0
        and report["receipts"] == succeeded
    )
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
