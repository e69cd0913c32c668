"""Time a PSA connection's first sync, end to end, into a fresh SQLite arbridge.

    .venv/bin/python bench/psa_initial_sync.py --kind halopsa|connectwise|autotask --invoices 50000

The kind's sandbox runs in this process behind httpx.WSGITransport, filled
through its seed helper (not timed), at the vendor's default limits. A fresh
SQLite database in a temporary data dir is migrated, a partner's connection
created, and one sync job (tasks.perform_sync) timed from start to its run's
success. It prints one JSON line:

- invoices_per_s: invoices synced per second of the whole run, as the vendor's
  limit lets it run (see rate_limit_bound)
- api_requests, http_429: what the sandbox counted during the run
- min_api_requests: the fewest requests that carry the data: one list page
  per stream per page size (HaloPSA's and Autotask's answers say whether more
  follow; ConnectWise's Link header does), invoice lines counted as a stream
  where they are a list of their own (ConnectWise products, Autotask
  BillingItems), plus HaloPSA's token
  (ConnectWise's codebase and Autotask's zone lookups are not API calls)
- rate_limit_bound: present when the vendor's limit, not arbridge, bounds the
  figure. ConnectWise's cautious 60 requests a minute do for 50,000 invoices
  and their lines; HaloPSA's 450 in 5 minutes no longer do, at its 1,000-row
  pages (they did at 100). arbridge's limiter then waits on a virtual clock shared with
  the sandbox instead of sleeping for minutes: the time waited is added to the
  elapsed time, and the sandbox enforces its limit on the same clock, so its
  429 count still shows whether the limit was kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

from _common import log, peak_rss_mb, start_django

NAME = "psa_initial_sync"
TARGET_INVOICES_PER_S = 1000
SPARE_REQUESTS = 5
ROOT = "http://psa.bench"


class VirtualTime:
    """Real time plus the waits skipped: arbridge's limiter and the sandbox both read it."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def utcnow(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.skipped)

    def sleep(self, seconds: float) -> None:
        self.skipped += seconds


class Bench:
    """One kind's sandbox, seeded; what a connection to it stores; its request counts."""

    kind: str
    app: Any

    def connection_fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def counts(self) -> tuple[int, int]:
        """Return the requests and 429s the sandbox has counted."""
        raise NotImplementedError

    def min_requests(self) -> int:
        raise NotImplementedError

    def invoices(self) -> int:
        """Return how many invoices the first sync should bring in."""
        raise NotImplementedError


class HaloBench(Bench):
    kind = "halopsa"

    def __init__(self, invoices: int, clock: VirtualTime) -> None:
        from arbridge.sandbox.halopsa import app as halo
        from arbridge.sandbox.halopsa import create_app, seed

        self.halo = halo
        self.app = create_app(webhook_interval=None, clock=clock.utcnow)
        self.made = seed(
            self.app.store, halo.TENANT, clients=max(10, invoices // 50), invoices=invoices
        )

    def connection_fields(self) -> dict[str, Any]:
        from arbridge.connectors.halopsa.connector import HaloPSA

        credentials = {
            "base_url": ROOT,
            "client_id": self.halo.CLIENT_ID,
            "client_secret": self.halo.CLIENT_SECRET,
            "version": self.app.store.tenants[self.halo.TENANT].version,
        }
        self.page_size = HaloPSA.page_size
        return {"credentials": credentials, "remote_account": self.halo.TENANT}

    def counts(self) -> tuple[int, int]:
        stats = self.app.limiter.report()["tenants"].get(self.halo.TENANT, {})
        return stats.get("requests", 0), stats.get("throttled", 0)

    def min_requests(self) -> int:
        rows = (self.made["clients"], self.made["contacts"], self.made["invoices"])
        return 1 + sum(math.ceil(n / self.page_size) for n in rows)  # the token, then pages

    def invoices(self) -> int:
        return self.made["invoices"]


class ConnectWiseBench(Bench):
    kind = "connectwise"

    def __init__(self, invoices: int, clock: VirtualTime) -> None:
        from arbridge.sandbox.connectwise import app as cw
        from arbridge.sandbox.connectwise import create_app
        from arbridge.sandbox.connectwise.seed import seed

        self.cw = cw
        self.app = create_app(clock=clock.utcnow, deliver_callbacks=False)
        # Seeding goes through the API, as a billing person would: lift the limit for it.
        self.app.requests_per_minute = 10**9
        companies = max(5, invoices // 50)
        self.made = seed(self.app, companies=companies, invoices_per_company=invoices // companies)
        self.app.requests_per_minute = cw.REQUESTS_PER_MINUTE
        self.app.window.clear()

    def connection_fields(self) -> dict[str, Any]:
        from arbridge.connectors.connectwise.connector import ConnectWise

        credentials = {
            "base_url": ROOT,
            "public_key": self.cw.PUBLIC_KEY,
            "private_key": self.cw.PRIVATE_KEY,
            "client_id": self.cw.CLIENT_ID,
        }
        self.page_size = ConnectWise.page_size
        return {"credentials": credentials, "remote_account": self.cw.COMPANY}

    def counts(self) -> tuple[int, int]:
        return self.app.stats["requests"], self.app.stats["throttled"]

    def min_requests(self) -> int:
        # The codebase lookup (/login/companyinfo) is not an API call: it is not counted.
        # Invoice lines are products, a list of their own read in pages of 1,000 too.
        names = ("companies", "contacts", "invoices", "products")
        rows = (len(self.made[name]) for name in names)
        return sum(max(1, math.ceil(n / self.page_size)) for n in rows)

    def invoices(self) -> int:
        return len(self.made["invoices"])


class AutotaskBench(Bench):
    kind = "autotask"

    def __init__(self, invoices: int, clock: VirtualTime) -> None:
        from arbridge.sandbox.autotask import Store, create_app
        from arbridge.sandbox.autotask.seed import COMPANIES, seed

        self.app = create_app(Store(clock=clock.utcnow))
        seed(self.app.store, invoices_per_company=invoices // len(COMPANIES))
        self.rows = {
            entity: len(self.app.store.records[entity])
            for entity in ("companies", "contacts", "invoices", "billingitems")
        }

    def connection_fields(self) -> dict[str, Any]:
        from arbridge.connectors.autotask.client import PAGE_SIZE
        from arbridge.sandbox.autotask import app as autotask

        credentials = {
            "base_url": ROOT,
            "username": autotask.USERNAME,
            "secret": autotask.SECRET,
            "integration_code": autotask.INTEGRATION_CODE,
        }
        self.page_size = PAGE_SIZE
        return {"credentials": credentials, "remote_account": ""}

    def counts(self) -> tuple[int, int]:
        report = self.app.limiter.report()
        return report["requests"], report["blocked"]

    def min_requests(self) -> int:
        # Zone discovery is answered outside the database's API: it is not counted.
        return sum(math.ceil(n / self.page_size) for n in self.rows.values())

    def invoices(self) -> int:
        return self.rows["invoices"]


BENCHES: dict[str, Callable[[int, VirtualTime], Bench]] = {
    "halopsa": HaloBench,
    "connectwise": ConnectWiseBench,
    "autotask": AutotaskBench,
}


def rate_limit_bound(kind: str, requests: int, synced: int) -> dict[str, Any] | None:
    """Return the fastest the vendor's limit allows `requests`, if it bounds the run at all.

    A sliding window of N requests per W seconds lets the first N go at once
    and each further N a window later, so R requests take at least
    floor((R - 1) / N) * W seconds.
    """
    from arbridge.integrations.registry import load

    limits = load(kind).limits
    windows = (requests - 1) // limits.per_window
    if windows == 0:
        return None
    seconds = windows * limits.window_s
    return {
        "limit": f"{limits.per_window} requests / {limits.window_s:.0f} s",
        "min_seconds": seconds,
        "max_invoices_per_s": round(synced / seconds, 1),
        "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
        "computed, not slept",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(BENCHES), required=True)
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args()

    clock = VirtualTime()
    with tempfile.TemporaryDirectory(prefix=f"arb_bench_{args.kind}_") as data_dir:
        log(NAME, f"seeding {args.invoices} {args.kind} invoices")
        started = time.perf_counter()
        bench = BENCHES[args.kind](args.invoices, clock)
        log(NAME, f"seeded in {time.perf_counter() - started:.1f}s")
        start_django(data_dir, ROOT)

        from arbridge.connectors.ratelimit import InProcessLimiter
        from arbridge.core.models import Connection, Partner
        from arbridge.integrations import connect, tasks
        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.registry import load
        from arbridge.ledger.models import Invoice

        # arbridge reaches the sandbox in this process, and its limiter waits on the
        # virtual clock: every other part of the run is arbridge's own code.
        def in_process() -> httpx.Client:
            return httpx.Client(transport=httpx.WSGITransport(app=bench.app), timeout=600)

        tasks.http_client = in_process
        limiters = {
            load(kind).limits: InProcessLimiter(
                load(kind).limits, max_wait=math.inf, clock=clock.monotonic, sleep=clock.sleep
            )
            for kind in BENCHES
        }
        connect.limiter = limiters.__getitem__

        partner = Partner.objects.create(name="Bench MSP")
        connection = Connection.objects.create(
            partner=partner,
            kind=args.kind,
            role=Connection.Role.PRIMARY,
            status=Connection.Status.CONNECTED,
            **bench.connection_fields(),
        )
        run = SyncRun.objects.create(partner=partner, connection=connection)
        requests_before, throttled_before = bench.counts()
        log(NAME, "syncing")
        started = time.perf_counter()
        run = tasks.perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        requests_after, throttled_after = bench.counts()
        synced = Invoice.objects.for_partner(partner).count()
        log(NAME, f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")

    requests = requests_after - requests_before
    seconds = elapsed + clock.skipped
    report: dict[str, Any] = {
        "bench": NAME,
        "kind": args.kind,
        "transport": "httpx.WSGITransport to the sandbox in this process",
        "database": "sqlite",
        "invoices": bench.invoices(),
        "status": run.status,
        "synced_invoices": synced,
        "seconds": round(seconds, 2),
        "measured_seconds": round(elapsed, 2),
        "waited_for_limit_s": round(clock.skipped, 2),
        "invoices_per_s": round(synced / seconds),
        "api_requests": requests,
        "min_api_requests": bench.min_requests(),
        "http_429": throttled_after - throttled_before,
        "peak_rss_mb": peak_rss_mb(),
    }
    bound = rate_limit_bound(args.kind, requests, synced)
    if bound is not None:
        report["rate_limit_bound"] = bound
    report["meets_target"] = (
        synced == bench.invoices()
        and report["api_requests"] <= report["min_api_requests"] + SPARE_REQUESTS
        and report["http_429"] == 0
        and (
            report["invoices_per_s"] >= TARGET_INVOICES_PER_S
            if bound is None
            else report["invoices_per_s"] >= 0.9 * bound["max_invoices_per_s"]
        )
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
