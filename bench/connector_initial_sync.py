"""Time a connection's first sync, end to end, at its vendor's rate limits, for any kind.

    .venv/bin/python bench/connector_initial_sync.py --kind K --invoices 20000
        [--customers 1000] [--lines 3]
    K: zoho_books, freshbooks, superops, netsuite, sage_intacct, datagate (each a Bench in KINDS)

# Reference: https://www.zoho.com/books/api/v3/introduction/#api-call-limit

The kind's sandbox runs in a child process over loopback HTTP with its
vendor's limits on, filled straight into its store (not timed). This process
migrates a fresh SQLite arbridge, connects a partner to the sandbox account
and times one sync job (tasks.perform_sync: the connector's full pull
through arbridge's limiters for the kind's Limits, applied by the sync
engine).

Where the vendor's limits bound the run, the limiter's waits are not slept:
they run on a virtual clock, the time waited is added to the elapsed time,
and the sandbox's clock is moved on by the same amount (/_sandbox/clock), so
it enforces its limits on that clock and its 429 count shows whether they
were kept. It prints one JSON line:

- invoices_per_s: invoices synced per second of the run, waits included
- api_requests, http_429: what the sandbox counted for the account
- min_api_requests: the fewest calls that carry the data (the kind says how)
- rate_limit_bound: the fastest the vendor's limits let those requests go
- peak_rss_mb: this process's peak RSS (the sandbox is another process)

A kind is a `Bench` in KINDS: how its sandbox is served and seeded, which
limits run on the virtual clock, how its connection is made, and what its
minimum and its bound are. Adding a connector here is adding one.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx

import file_import_sync
from _common import VirtualTime, peak_rss_mb, start_django, start_sandbox_process

ROOT = Path(__file__).resolve().parent.parent
NAME = "connector_initial_sync"
SPARE_REQUESTS = 5


def log(message: str) -> None:
    print(f"[{NAME}] {message}", file=sys.stderr, flush=True)


class Bench:
    """What the benchmark needs to know of one kind; subclasses fill it in."""

    kind: ClassVar[str]
    account: str  # the vendor account the run syncs

    def app(self) -> Any:
        """Return the sandbox's WSGI app, limits on (called in the child process)."""
        raise NotImplementedError

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        """Create and fill the account; keep what `connection` and the figures need."""
        raise NotImplementedError

    def limits(self) -> list[Any]:
        """Return the connector's Limits, whose limiters wait on the virtual clock."""
        raise NotImplementedError

    def configure(self, url: str) -> None:
        """Point arbridge's vendor app at the sandbox (ARBRIDGE_<KIND>_* settings)."""
        raise NotImplementedError

    def connection(self, partner) -> Any:
        """Return the partner's connection to the account, connected."""
        raise NotImplementedError

    def stats(self, control: httpx.Client) -> dict[str, int]:
        """Return the sandbox's count of requests and 429s for the account."""
        raise NotImplementedError

    def min_requests(self) -> int:
        raise NotImplementedError

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        """Return the fastest the vendor's limits let `requests` go, and what that allows."""
        raise NotImplementedError


class ZohoBooksBench(Bench):
    """A Zoho Books organization on the Premium plan (10,000 calls a day, 100 a minute).

    The fewest calls: the contacts' pages and the invoices' pages (200 a
    page; has_more_page says which is last, so no empty page), and for each
    billed invoice its own read (the list carries no lines), its payments
    when it says something was paid and its credits when it says something
    was credited. The token is valid for the run and the organization is
    known: no /organizations call.
    """

    kind = "zoho_books"
    account = f"7{os.getpid():010d}"
    plan = "premium"
    per_page = 200

    def app(self) -> Any:
        from arbridge.sandbox.zoho_books import create_app

        return create_app()

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        control.post(
            "/_sandbox/orgs",
            json={"organization_id": self.account, "name": "Bench MSP client", "plan": self.plan},
        ).raise_for_status()
        seeded = control.post(
            "/_sandbox/seed",
            json={
                "organization_id": self.account,
                "customers": args.customers,
                "invoices": args.invoices,
                "lines_per_invoice": args.lines,
            },
        )
        seeded.raise_for_status()
        self.seeded = seeded.json()
        self.token = control.post(
            "/_sandbox/tokens", json={"organizations": [self.account], "ttl": None}
        ).json()

    def limits(self) -> list[Any]:
        from arbridge.connectors.zoho_books.connector import LIMITS, daily_limits

        return [LIMITS, daily_limits(self.plan)]

    def configure(self, url: str) -> None:
        os.environ.update(
            ARBRIDGE_ZOHO_BOOKS_API_BASE=url,
            ARBRIDGE_ZOHO_BOOKS_TOKEN_URL=f"{url}/oauth/v2/token",
        )

    def connection(self, partner) -> Any:
        from arbridge.integrations.models import Connection

        token = {k: v for k, v in self.token.items() if k != "api_domain"}
        return Connection.objects.create(
            partner=partner,
            kind=self.kind,
            status=Connection.Status.CONNECTED,
            remote_account=self.account,
            preferences={"plan": self.plan},
            credentials={"token": token},
        )

    def stats(self, control: httpx.Client) -> dict[str, int]:
        report = control.get("/_sandbox/stats").json()["organizations"]
        return report.get(self.account, {"requests": 0, "throttled": 0})

    def min_requests(self) -> int:
        seeded = self.seeded
        pages = sum(
            max(1, math.ceil(n / self.per_page)) for n in (seeded["customers"], seeded["invoices"])
        )
        return pages + seeded["invoices"] + seeded["paid"] + seeded["credited"]

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        from arbridge.connectors.zoho_books.connector import DAILY_REQUESTS, LIMITS, daily_limits

        daily = DAILY_REQUESTS[self.plan]
        days = (requests - 1) // daily
        rest = requests - days * daily
        window = daily_limits(self.plan).window_s
        seconds = days * window + ((rest - 1) // LIMITS.per_window) * LIMITS.window_s
        return {
            "limit": f"100 requests / minute, {daily:,} / day ({self.plan} plan) per organization",
            "days_of_allowance": round(requests / daily, 2),
            "min_seconds": seconds,
            "max_invoices_per_s": round(invoices / seconds, 3) if seconds else None,
            "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
            "computed, not slept",
        }


class FreshBooksBench(Bench):
    """A FreshBooks account: clients, invoices (lines included) and payments, 100 a page.

    The answer's `pages` says which page is the last, so no empty page is
    read. The token is valid for the whole run and the account id known: no
    users/me call. FreshBooks publishes no limit: 300 a minute is assumed.
    """

    kind = "freshbooks"
    account = f"bench{os.getpid()}"
    page_size = 100
    per_window, window_s = 300, 60.0

    def app(self) -> Any:
        from arbridge.sandbox.freshbooks import create_app

        return create_app()

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        control.post("/_sandbox/accounts", json={"account_id": self.account, "name": "Bench MSP"})
        control.post(
            "/_sandbox/seed",
            json={
                "account_id": self.account,
                "customers": args.customers,
                "invoices": args.invoices,
                "lines_per_invoice": args.lines,
            },
        ).raise_for_status()
        answer = control.post("/_sandbox/tokens", json={"accounts": [self.account], "ttl": None})
        answer.raise_for_status()
        self.token = answer.json()
        # What each list holds, read before the timed run and not counted.
        headers = {"Authorization": f"Bearer {self.token['access_token']}"}
        root = f"{control.base_url}/accounting/account/{self.account}"
        with httpx.Client(base_url=root, headers=headers, timeout=120) as http:
            self.counts = {
                path: http.get(f"/{path}", params={"per_page": 1}).json()["response"]["result"][
                    "total"
                ]
                for path in ("users/clients", "invoices/invoices", "payments/payments")
            }
        # Counting spent some of the window: the run starts on a fresh one.
        control.post("/_sandbox/clock", json={"advance_s": self.window_s + 1}).raise_for_status()

    def limits(self) -> list[Any]:
        from arbridge.connectors.freshbooks import connector
        from arbridge.connectors.ratelimit import Limits

        return [v for v in vars(connector).values() if isinstance(v, Limits)]

    def configure(self, url: str) -> None:
        os.environ.update(ARBRIDGE_FRESHBOOKS_API_BASE=url)

    def connection(self, partner) -> Any:
        from arbridge.core.models import Connection

        return Connection.objects.create(
            partner=partner,
            kind=self.kind,
            status=Connection.Status.CONNECTED,
            remote_account=self.account,
            credentials={"token": {**self.token, "token_type": "Bearer"}},
        )

    def stats(self, control: httpx.Client) -> dict[str, int]:
        report = control.get("/_sandbox/stats").json()
        return next(v for v in report.values() if isinstance(v, dict) and self.account in v)[
            self.account
        ]

    def min_requests(self) -> int:
        return sum(max(1, math.ceil(n / self.page_size)) for n in self.counts.values())

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        windows = (requests - 1) // self.per_window
        seconds = windows * self.window_s
        return {
            "limit": "300 requests / 60 s per account (FreshBooks publishes none: assumed)",
            "min_seconds": seconds,
            "max_invoices_per_s": round(invoices / seconds, 1) if seconds else None,
            "bounds_this_run": windows > 0,
            "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
            "computed, not slept",
        }


class SuperOpsBench(Bench):
    """A SuperOps customer (subdomain): clients, then invoices with their items, 100 a page.

    The fewest calls: the clients' pages and the invoices' pages (listInfo
    hasMore says which is last, so no empty page); billing contacts come
    with their clients and items with their invoices. 800 calls a minute.
    # Reference: https://developer.superops.com/msp/#section/Rate-limits
    """

    kind = "superops"
    account = f"bench{os.getpid()}"
    page_size = 100
    per_window, window_s = 800, 60.0

    def app(self) -> Any:
        from arbridge.sandbox.superops import create_app

        return create_app()

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        control.put(f"/_sandbox/accounts/{self.account}").raise_for_status()
        control.post(
            "/_sandbox/seed",
            json={"subdomain": self.account, "clients": args.customers,
                  "invoices": args.invoices, "lines": args.lines},
        ).raise_for_status()  # fmt: skip
        self.counts = {"clients": args.customers, "invoices": args.invoices}

    def limits(self) -> list[Any]:
        from arbridge.connectors.superops.client import LIMITS

        return [LIMITS]

    def configure(self, url: str) -> None:
        os.environ.update(ARBRIDGE_SUPEROPS_API_BASE=f"{url}/msp")

    def connection(self, partner) -> Any:
        from arbridge.core.models import Connection
        from arbridge.sandbox.superops import TOKEN

        return Connection.objects.create(
            partner=partner,
            kind=self.kind,
            status=Connection.Status.CONNECTED,
            remote_account=self.account,
            credentials={"token": TOKEN, "subdomain": self.account},
        )

    def stats(self, control: httpx.Client) -> dict[str, int]:
        return (
            control.get("/_sandbox/stats")
            .json()["subdomains"]
            .get(self.account, {"requests": 0, "throttled": 0})
        )

    def min_requests(self) -> int:
        return sum(max(1, math.ceil(n / self.page_size)) for n in self.counts.values())

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        windows = (requests - 1) // self.per_window
        seconds = windows * self.window_s
        return {
            "limit": "800 requests / 60 s per subdomain",
            "min_seconds": seconds,
            "max_invoices_per_s": round(invoices / seconds, 1) if seconds else None,
            "bounds_this_run": windows > 0,
        }


class NetSuiteBench(Bench):
    """A NetSuite account at its default governance: 5 requests at once, no per-minute limit.

    The fewest calls for the connector's way of reading: one token (a signed
    assertion, valid for the run), SuiteQL's pages of changed ids (1,000 a
    page; hasMore says which is last) for customers, invoices, credit memos
    and payments (one page each when there are none), and each customer and
    invoice read whole from the record service (its contact roles, its item
    sublist). On the first pass DeletedRecord is not asked.
    """

    kind = "netsuite"
    account = f"TSTDRV{os.getpid():07d}"
    page = 1000
    concurrency = 5

    def app(self) -> Any:
        from arbridge.sandbox.netsuite import create_app

        return create_app()

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        self.private_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        control.post(
            "/_sandbox/accounts",
            json={
                "account_id": self.account,
                "concurrency": self.concurrency,
                "client_id": "bench-integration",
                "certificate_id": "bench-certificate",
                "public_key": public.decode(),
            },
        ).raise_for_status()
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
        self.seeded = seeded.json()

    def limits(self) -> list[Any]:
        from arbridge.connectors.netsuite.connector import governance

        return [governance(self.concurrency)]

    def connection(self, partner) -> Any:
        from arbridge.integrations.models import Connection

        return Connection.objects.create(
            partner=partner,
            kind=self.kind,
            status=Connection.Status.CONNECTED,
            remote_account=self.account,
            preferences={"concurrency_limit": self.concurrency},
            credentials={
                "account_id": self.account,
                "client_id": "bench-integration",
                "certificate_id": "bench-certificate",
                "private_key": self.private_key,
                "base_url": f"{self.url}/{self.account}",
            },
        )

    def configure(self, url: str) -> None:
        self.url = url

    def stats(self, control: httpx.Client) -> dict[str, int]:
        report = control.get("/_sandbox/stats").json().get(self.account, {})
        # A token request is an API request too.
        requests = report.get("requests", 0) + report.get("tokens", 0)
        return {"requests": requests, "throttled": report.get("throttled", 0)}

    def min_requests(self) -> int:
        customers, invoices = self.seeded["customers"], self.seeded["invoices"]
        pages = sum(max(1, math.ceil(n / self.page)) for n in (customers, invoices, 0, 0))
        return 1 + pages + customers + invoices

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        return {
            "limit": f"{self.concurrency} requests at once per account (concurrency "
            "governance); NetSuite sets no per-minute limit on REST web services",
            "min_seconds": None,
            "max_invoices_per_s": None,
            "note": "one sync job sends one request at a time: the concurrency limit does "
            "not bind it",
        }


class SageIntacctBench(Bench):
    """A Sage Intacct company through the XML gateway: readByQuery, 2,000 records a page.

    The fewest calls: one getAPISession, the customers' pages, the invoices'
    pages, and for each page of invoices the pages of its lines
    (ARINVOICEITEM by RECORDKEY; readByQuery carries no lines). numremaining
    says which page is the last, so no empty readMore. A first sync reads no
    audit trail (nothing was deleted since a first sync).
    Intacct publishes no per-minute limit (it limits concurrent requests by
    performance tier): the connector's assumed window runs on the virtual clock.
    """

    kind = "sage_intacct"
    company = f"bench{os.getpid()}"
    page = 2000

    def app(self) -> Any:
        from arbridge.connectors.sage_intacct.connector import LIMITS
        from arbridge.sandbox.sage_intacct import create_app

        return create_app(requests_per_minute=LIMITS.per_window)

    def prepare(self, control: httpx.Client, args: argparse.Namespace) -> None:
        control.post(
            "/_sandbox/companies",
            json={"company_id": self.company, "name": "Bench MSP", "users": {"bench": "pw"}},
        ).raise_for_status()
        seeded = control.post(
            "/_sandbox/seed",
            json={
                "company_id": self.company,
                "customers": args.customers,
                "invoices": args.invoices,
                "lines_per_invoice": args.lines,
            },
        )
        seeded.raise_for_status()
        self.seeded = seeded.json()
        self.lines = args.lines

    def limits(self) -> list[Any]:
        from arbridge.connectors.sage_intacct.connector import LIMITS

        return [LIMITS]

    def configure(self, url: str) -> None:
        os.environ.update(ARBRIDGE_SAGE_INTACCT_API_BASE=url)

    def connection(self, partner) -> Any:
        from arbridge.core.models import Connection
        from arbridge.sandbox.sage_intacct.app import SENDER_ID, SENDER_PASSWORD

        return Connection.objects.create(
            partner=partner,
            kind=self.kind,
            status=Connection.Status.CONNECTED,
            remote_account=self.company,
            credentials={
                "sender_id": SENDER_ID,
                "sender_password": SENDER_PASSWORD,
                "company_id": self.company,
                "user_id": "bench",
                "user_password": "pw",
            },
        )

    def stats(self, control: httpx.Client) -> dict[str, int]:
        report = control.get("/_sandbox/stats").json()["companies"]
        return report.get(self.company, {"requests": 0, "throttled": 0})

    def min_requests(self) -> int:
        invoices = self.seeded["invoices"]
        pages = [min(self.page, invoices - start) for start in range(0, invoices, self.page)]
        lines = sum(max(1, math.ceil(n * self.lines / self.page)) for n in pages)
        customers = max(1, math.ceil(self.seeded["customers"] / self.page))
        return 1 + customers + max(1, len(pages)) + lines

    def bound(self, requests: int, invoices: int) -> dict[str, Any]:
        from arbridge.connectors.sage_intacct.connector import LIMITS

        windows = (requests - 1) // LIMITS.per_window
        seconds = windows * LIMITS.window_s
        return {
            "limit": f"{LIMITS.concurrency} concurrent requests per company (the entry "
            "performance tier); no per-minute limit is published: "
            f"{LIMITS.per_window:,} / {LIMITS.window_s:.0f} s assumed",
            "min_seconds": seconds,
            "max_invoices_per_s": round(invoices / seconds, 1) if seconds else None,
            "bounds_this_run": windows > 0,
            "note": "the limiter's waits ran on a virtual clock shared with the sandbox: "
            "computed, not slept",
        }


KINDS: dict[str, type[Bench]] = {
    bench.kind: bench
    for bench in (ZohoBooksBench, FreshBooksBench, SuperOpsBench, NetSuiteBench, SageIntacctBench)
}


def serve(kind: str, port: int) -> None:
    """Serve a kind's sandbox, limits on (this module run as `sandbox --kind K --port N`)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", port, KINDS[kind]().app(), threaded=True).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kind", required=True, choices=sorted([*KINDS, *file_import_sync.BENCHES])
    )
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    args = parser.parse_args()
    if args.kind in file_import_sync.BENCHES:
        file_import_sync.main(args)  # read from files: no API, no rate limit
        return

    sys.path.insert(0, str(ROOT / "src"))
    from arbridge.connectors.ratelimit import InProcessLimiter

    bench = KINDS[args.kind]()
    child, url = start_sandbox_process(__file__, "--kind", args.kind)
    data_dir = tempfile.mkdtemp(prefix=f"arb_bench_{args.kind}_")
    try:
        control = httpx.Client(base_url=url, timeout=600)
        log(f"seeding {args.invoices} invoices, {args.customers} customers")
        started = time.perf_counter()
        bench.prepare(control, args)
        log(f"seeded in {time.perf_counter() - started:.1f}s")
        clock = VirtualTime(control)

        # arbridge as it runs: a fresh SQLite, the partner's connection holding the token,
        # the sync job through the engine; its limiters wait on the virtual clock.
        bench.configure(url)
        start_django(data_dir, url)
        from arbridge.core.models import Partner
        from arbridge.integrations import connect
        from arbridge.integrations.models import SyncRun
        from arbridge.integrations.tasks import perform_sync
        from arbridge.ledger.models import Invoice

        limiters = {
            limits: InProcessLimiter(
                limits, max_wait=math.inf, clock=clock.monotonic, sleep=clock.sleep
            )
            for limits in bench.limits()
        }
        connect.limiter = limiters.__getitem__
        partner = Partner.objects.create(name="Bench MSP", slug="bench")
        connection = bench.connection(partner)
        run = SyncRun.objects.create(partner=partner, connection=connection)

        before = bench.stats(control)
        log("syncing")
        started = time.perf_counter()
        run = perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        synced = Invoice.objects.for_partner(partner).count()
        log(f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")
        after = bench.stats(control)
    finally:
        child.terminate()
        child.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    requests = after["requests"] - before["requests"]
    seconds = elapsed + clock.skipped
    min_requests = bench.min_requests()
    report: dict[str, Any] = {
        "bench": NAME,
        "kind": args.kind,
        "transport": "loopback HTTP to a werkzeug sandbox in a child process, limits on",
        "engine": "tasks.perform_sync: the connector's pages through the sync engine into SQLite",
        "status": run.status,
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "synced_invoices": synced,
        "seconds": round(seconds, 2),
        "measured_seconds": round(elapsed, 2),
        "waited_for_limit_s": round(clock.skipped, 2),
        "invoices_per_s": round(synced / seconds, 3),
        "api_requests": requests,
        "min_api_requests": min_requests,
        "http_429": after["throttled"] - before["throttled"],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the sandbox runs in another",
        "rate_limit_bound": bench.bound(requests, synced),
    }
    report["meets_target"] = (
        synced == args.invoices
        and report["http_429"] == 0
        and requests <= min_requests + SPARE_REQUESTS
    )
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sandbox":
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["sandbox"])
        parser.add_argument("--kind", required=True)
        parser.add_argument("--port", type=int, required=True)
        options = parser.parse_args()
        serve(options.kind, options.port)
    else:
        main()
