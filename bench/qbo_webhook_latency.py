"""Time how long a change made in QuickBooks Online takes to show in arbridge's REST API.

    .venv/bin/python bench/qbo_webhook_latency.py [--rate 100] [--seconds 30]

As the demo runs it: one waitress server with Django and the QuickBooks
sandbox mounted at /sandbox/qbo, its webhooks posted to /webhooks/qbo, and an
`arbridge worker` (Huey consumer) beside it, on a fresh SQLite data dir.
After an initial sync (not timed), this process creates `--rate` invoices a
second for `--seconds` through the sandbox's v3 API, each with its own
number, and polls GET /api/v1/invoices?updated_since=... until every number
is listed. A change's latency runs from the moment its POST was answered to
the poll that first saw it (polls run back to back, so the figure errs long
by at most one poll). It prints one JSON line; lost counts changes never
seen within --wait seconds of the last.

The sandbox's own limit is raised for this benchmark: its 500 requests a
minute per company would refuse the 6,000 writes a minute that stand in
for a busy company's many users. arbridge's limiter still holds its own
calls to QuickBooks' 500.
"""

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from _common import (
    REALM,
    arbridge_env,
    connect_company,
    free_port,
    log,
    percentile,
    start_django,
    wait_until_serving,
)

NAME = "qbo_webhook_latency"
TARGET_P99_S = 2.0
WRITERS = 8  # requests to the sandbox in flight at once
POLL_LIMIT = 200  # the API's largest page


def sandbox():
    """Return the sandbox the server mounts: as the demo's, with room for the benchmark's writes."""
    from arbridge.integrations.vendors import vendor_app
    from arbridge.sandbox.qbo import create_app

    return create_app(
        verifier_token=vendor_app("qbo").webhook_key,
        webhook_url=f"{os.environ['ARBRIDGE_BASE_URL']}/webhooks/qbo",
        requests_per_minute=1_000_000,
        concurrent_requests=100,
    )


def serve(port: int) -> None:
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from waitress import serve as waitress_serve

    from arbridge.server import build_app

    app = build_app({"/sandbox/qbo": sandbox})
    waitress_serve(app, host="127.0.0.1", port=port, threads=16, _quiet=True)


class Company:
    """The benchmark's company in the mounted sandbox, through its v3 API."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.control = httpx.Client(base_url=root, timeout=600)

    def create(self, invoices: int) -> dict:
        self.control.post("/_sandbox/realms", json={"realm_id": REALM}).raise_for_status()
        seed = {"realm_id": REALM, "customers": 20, "invoices": invoices}
        self.control.post("/_sandbox/seed", json=seed).raise_for_status()
        token = self.control.post("/_sandbox/tokens", json={"realm_id": REALM, "ttl": None})
        token.raise_for_status()
        self.token = token.json()
        self.api = httpx.Client(
            base_url=f"{self.root}/v3/company/{REALM}",
            headers={
                "Authorization": f"Bearer {self.token['access_token']}",
                "Accept": "application/json",
            },
            limits=httpx.Limits(max_connections=WRITERS),
            timeout=30,
        )
        self.customer = self.first("Customer")
        self.item = self.first("Item")
        return {"realm": REALM, "token": self.token}

    def first(self, entity: str) -> str:
        text = f"select * from {entity} maxresults 1"  # noqa: S608 - not SQL
        found = self.api.get("/query", params={"query": text})
        found.raise_for_status()
        return found.json()["QueryResponse"][entity][0]["Id"]

    def create_invoice(self, number: str) -> float:
        """Create an invoice; return when QuickBooks answered (time.time())."""
        body = {
            "DocNumber": number,
            "CustomerRef": {"value": self.customer},
            "Line": [
                {
                    "Amount": 125,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": self.item}},
                }
            ],
        }
        response = self.api.post("/invoice", json=body)
        response.raise_for_status()
        return time.time()


class Watcher:
    """Poll the REST API back to back, noting when each number is first listed."""

    def __init__(self, base: str, key: str) -> None:
        self.api = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        self.seen: dict[str, float] = {}
        self.since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        self.stop = threading.Event()
        self.polls = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.poll()

    def poll(self) -> None:
        # Ask again from a little before the last poll began: a row committed
        # then may carry an update time from before it.
        started = dt.datetime.now(dt.UTC)
        params = {"updated_since": self.since.isoformat(), "limit": POLL_LIMIT}
        while True:
            page = self.api.get("/invoices", params=params)
            page.raise_for_status()
            body = page.json()
            now = time.time()
            for invoice in body["items"]:
                self.seen.setdefault(invoice["number"], now)
            if not body.get("next_cursor"):
                break
            params["cursor"] = body["next_cursor"]
        self.since = started - dt.timedelta(seconds=5)
        self.polls += 1


def make_changes(company: Company, rate: float, seconds: float) -> dict[str, float]:
    """Create rate x seconds invoices on schedule; return each number's answered time."""
    count = int(rate * seconds)
    start = time.time() + 0.5
    answered: dict[str, float] = {}

    def change(n: int) -> None:
        pause = start + n / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        number = f"WH-{n:06d}"
        answered[number] = company.create_invoice(number)

    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in pool.map(change, range(count)):
            pass
    log(NAME, f"made {count} changes in {time.time() - start:.1f}s (planned {seconds}s)")
    return answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="changes a second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for stragglers")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox_url = f"{base}/sandbox/qbo"
    with tempfile.TemporaryDirectory(prefix="arb_bench_qbo_") as data_dir:
        env = {**arbridge_env(data_dir, sandbox_url), "ARBRIDGE_BASE_URL": base}
        os.environ["ARBRIDGE_BASE_URL"] = base
        start_django(data_dir, sandbox_url)
        bin_dir = os.path.dirname(sys.executable)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)], env=env, stderr=sys.stderr
        )
        worker = None
        try:
            wait_until_serving(f"{sandbox_url}/_sandbox/stats", server)
            company = Company(sandbox_url)
            connection = connect_company(company.create(invoices=200))

            from arbridge.core.models import ApiKey
            from arbridge.integrations.models import SyncRun
            from arbridge.integrations.tasks import perform_sync

            run = SyncRun.objects.create(partner=connection.partner, connection=connection)
            run = perform_sync(run.pk)
            log(NAME, f"initial sync {run.status} {run.error_message}")
            _, key = ApiKey.issue(connection.partner, "bench", scope=ApiKey.Scope.READ)
            worker = subprocess.Popen(
                [os.path.join(bin_dir, "arbridge"), "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            watcher = Watcher(base, key)
            polling = threading.Thread(target=watcher.run, daemon=True)
            polling.start()
            answered = make_changes(company, args.rate, args.seconds)
            deadline = time.time() + args.wait
            while time.time() < deadline and not answered.keys() <= watcher.seen.keys():
                time.sleep(0.2)
            watcher.stop.set()
            polling.join()
            stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
        finally:
            for process in filter(None, (worker, server)):
                process.terminate()
                process.wait(timeout=60)

    latencies = sorted(
        watcher.seen[number] - at for number, at in answered.items() if number in watcher.seen
    )
    lost = len(answered) - len(latencies)
    report = {
        "bench": NAME,
        "transport": "loopback HTTP: waitress serving Django with the sandbox mounted",
        "consumer": "arbridge worker (Huey, SQLite queue)",
        "changes": len(answered),
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "visible": len(latencies),
        "lost": lost,
        "p50_s": round(percentile(latencies, 50), 3) if latencies else None,
        "p99_s": round(percentile(latencies, 99), 3) if latencies else None,
        "max_s": round(latencies[-1], 3) if latencies else None,
        "polls": watcher.polls,
        "sandbox": stats["realms"].get(REALM),
        "webhooks": stats.get("webhooks"),
    }
    report["meets_target"] = lost == 0 and bool(latencies) and report["p99_s"] < TARGET_P99_S
    print(json.dumps(report))


if __name__ == "__main__":
    main()
