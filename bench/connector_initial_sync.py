"""Time a connection's first sync, end to end, at its vendor's rate limits, for any kind.

    .venv/bin/python bench/connector_initial_sync.py --kind freshbooks --invoices 20000

The kind's sandbox (arbridge.sandbox.<kind>.create_app) runs in a child
process over loopback HTTP with its limits on, filled straight into its
store through its control API (/_sandbox/seed, not timed). This process
migrates a fresh SQLite arbridge, connects a partner to the sandbox account,
and times one sync job (tasks.perform_sync: the connector's full pull through
arbridge's limiters for every `Limits` its connector module declares,
applied by the sync engine).

Where the vendor's limit bounds the run, the limiter's waits are not slept:
they run on a virtual clock, the time waited is added to the elapsed time,
and the sandbox's clock is moved on by as much (/_sandbox/clock), so it
enforces its limits on that clock and its 429 count shows whether they were
kept. What differs by kind (how to seed, how to count what the lists hold,
what the fewest requests are, what the limit is) is a `Kind` in KINDS.

It prints one JSON line:

- invoices_per_s: invoices synced per second of the run, waits included
- api_requests, http_429: what the sandbox counted for the account
- min_api_requests: the fewest calls that carry the data (the kind's `minimum`)
- rate_limit_bound: the fastest the vendor's limit lets those requests go
- peak_rss_mb: this process's peak RSS (the sandbox is another process)
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _common import free_port, log, peak_rss_mb, start_django, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
NAME = "connector_initial_sync"
SPARE_REQUESTS = 5


@dataclass(frozen=True)
class Kind:
    """What the benchmark must know of one kind's sandbox and vendor."""

    kind: str
    account: str  # the sandbox account the partner connects
    limit: str  # the vendor's limit, in words
    per_window: int  # ... as requests per window
    window_s: float
    page_size: int = 100

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> dict[str, Any]:
        """Create and fill the account; return the seed's summary."""
        raise NotImplementedError

    def token(self, control: httpx.Client) -> dict[str, Any]:
        raise NotImplementedError

    def counts(self, url: str, token: dict[str, Any]) -> dict[str, int]:
        """Return how many records each list holds (before the timed run; not counted)."""
        raise NotImplementedError

    def minimum(self, counts: dict[str, int]) -> int:
        """The fewest requests: a page per `page_size` records of each list, at least one."""
        return sum(max(1, math.ceil(n / self.page_size)) for n in counts.values())


class FreshBooksKind(Kind):
    """FreshBooks: clients, invoices (lines included) and payments, 100 a page.

    The answer's `pages` says which page is the last, so no empty page is read.
    The token is valid for the whole run and the account id known: no users/me.
    """

    def prepare(self, control, args):
        control.post("/_sandbox/accounts", json={"account_id": self.account, "name": "Bench MSP"})
        seeded = control.post(
            "/_sandbox/seed",
            json={
                "account_id": self.account,
                "customers": args.customers,
                "invoices": args.invoices,
                "lines_per_invoice": args.lines,
            },
        )
        seeded.raise_for_status()
        return seeded.json()

    def token(self, control):
        answer = control.post("/_sandbox/tokens", json={"accounts": [self.account], "ttl": None})
        answer.raise_for_status()
        return answer.json()

    def counts(self, url, token):
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        root = f"{url}/accounting/account/{self.account}"
        with httpx.Client(base_url=root, headers=headers, timeout=120) as http:
            return {
                path.split("/")[1]: http.get(f"/{path}", params={"per_page": 1}).json()["response"][
                    "result"
                ]["total"]
                for path in ("users/clients", "invoices/invoices", "payments/payments")
            }


KINDS: dict[str, Kind] = {
    "freshbooks": FreshBooksKind(
        kind="freshbooks",
        account=f"bench{os.getpid()}",
        limit="300 requests / 60 s per account (FreshBooks publishes none: assumed, verify)",
        per_window=300,
        window_s=60.0,
    ),
}


def serve(kind: str, port: int) -> None:
    """Serve a kind's sandbox, limits on (this module run as `sandbox --kind K --port N`)."""
    from werkzeug.serving import make_server

    sandbox = importlib.import_module(f"arbridge.sandbox.{kind}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", port, sandbox.create_app(), threaded=True).serve_forever()


def start_sandbox(kind: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, __file__, "sandbox", "--kind", kind, "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/_sandbox/stats", child)
    except RuntimeError:
        child.terminate()
        raise
    return child, url


class VirtualTime:
    """Real time plus the waits skipped; a skip also moves the sandbox's clock on."""

    def __init__(self, control: httpx.Client) -> None:
        self.control = control
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.skipped += seconds
            self.control.post("/_sandbox/clock", json={"advance_s": seconds}).raise_for_status()


def stats(control: httpx.Client, account: str) -> dict[str, int]:
    report = control.get("/_sandbox/stats").json()
    counted = next(v for k, v in report.items() if isinstance(v, dict) and account in v)
    return counted[account]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", required=True, choices=sorted(KINDS))
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    args = parser.parse_args()
    spec = KINDS[args.kind]
    bench = f"{NAME} {args.kind}"

    sys.path.insert(0, str(ROOT / "src"))
    from arbridge.connectors.ratelimit import InProcessLimiter, Limits

    child, url = start_sandbox(args.kind)
    data_dir = tempfile.mkdtemp(prefix=f"arb_bench_{args.kind}_")
    try:
        control = httpx.Client(base_url=url, timeout=600)
        log(bench, f"seeding {args.invoices} invoices, {args.customers} customers")
        started = time.perf_counter()
        seeded = spec.prepare(control, args)
        token = spec.token(control)
        log(bench, f"seeded {seeded} in {time.perf_counter() - started:.1f}s")
        counts = spec.counts(url, token)
        clock = VirtualTime(control)
        clock.sleep(spec.window_s + 1)  # counting spent some of the window: start afresh
        clock.skipped = 0.0

        start_django(data_dir, url)
        from django.conf import settings

        prefix = args.kind.upper()
        setattr(settings, f"{prefix}_API_BASE", url)
        from arbridge.core.models import Connection, Partner
        from arbridge.integrations import connect, registry
        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.ledger.models import Invoice

        module = importlib.import_module(registry.load(args.kind).__module__)
        declared = [v for v in vars(module).values() if isinstance(v, Limits)]
        limiters = {
            limits: InProcessLimiter(
                limits, max_wait=math.inf, clock=clock.monotonic, sleep=clock.sleep
            )
            for limits in declared
        }
        connect.limiter = limiters.__getitem__
        partner = Partner.objects.create(name="Bench MSP", slug="bench")
        connection = Connection.objects.create(
            partner=partner,
            kind=args.kind,
            status=Connection.Status.CONNECTED,
            remote_account=spec.account,
            credentials={"token": {**token, "token_type": "Bearer"}},
        )
        run = SyncRun.objects.create(partner=partner, connection=connection)

        before = stats(control, spec.account)
        log(bench, "syncing")
        started = time.perf_counter()
        run = perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        synced = Invoice.objects.for_partner(partner).count()
        log(bench, f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")
        after = stats(control, spec.account)
    finally:
        child.terminate()
        child.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    requests = after["requests"] - before["requests"]
    seconds = elapsed + clock.skipped
    windows = (requests - 1) // spec.per_window
    report: dict[str, Any] = {
        "bench": NAME,
        "kind": args.kind,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process, limits on",
        "engine": "tasks.perform_sync: the connector's pages through the sync engine into SQLite",
        "status": run.status,
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "rows": counts,
        "synced_invoices": synced,
        "seconds": round(seconds, 2),
        "measured_seconds": round(elapsed, 2),
        "waited_for_limit_s": round(clock.skipped, 2),
        "invoices_per_s": round(synced / seconds, 1),
        "api_requests": requests,
        "min_api_requests": spec.minimum(counts),
        "http_429": after["throttled"] - before["throttled"],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the sandbox runs in another",
        "rate_limit_bound": {
            "limit": spec.limit,
            "min_seconds": windows * spec.window_s,
            "max_invoices_per_s": round(synced / (windows * spec.window_s), 1) if windows else None,
            "bounds_this_run": windows > 0,
            "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
            "computed, not slept",
        },
    }
    report["meets_target"] = (
        synced == args.invoices
        and report["http_429"] == 0
        and requests <= report["min_api_requests"] + SPARE_REQUESTS
    )
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sandbox":
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["sandbox"])
        parser.add_argument("--kind", required=True)
        parser.add_argument("--port", type=int, required=True)
        served = parser.parse_args()
        serve(served.kind, served.port)
    else:
        main()
