"""Time a QuickBooks Desktop company's first sync through the Web Connector, end to end.

    .venv/bin/python bench/qbd_initial_sync.py --invoices 20000 [--customers 1000]

# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBWC_proguide.pdf
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/iterators

The topology is the vendor's: arbridge serves the Web Connector's SOAP
service and the PC calls it. This process migrates a fresh SQLite arbridge,
connects a partner (a Web Connector user and password), and serves arbridge
over loopback HTTP (werkzeug, threaded). A child process is the partner's PC:
the sandbox company filled with the invoices (not timed) and the sandbox's
Web Connector, which runs one scheduled poll against arbridge's
/poll/<kind>/ URL: authenticate, then sendRequestXML / receiveResponseXML
until arbridge says 100, then closeConnection. Each answer is applied by
the sync engine (polling.host -> sync.commit) before the next request.

It prints one JSON line:

- invoices_per_s: invoices in arbridge's ledger per second of the poll
- web_connector_round_trips: sendRequestXML/receiveResponseXML pairs in the poll
- min_round_trips: the fewest that carry the data, pages of work.PAGE per list
- quickbooks_seconds: of the poll, the time the sandbox company took to answer
- peak_rss_mb: this process's peak RSS (arbridge; the PC is another process)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import free_port, log, peak_rss_mb, start_django

ROOT = Path(__file__).resolve().parent.parent
NAME = "qbd_initial_sync"
KIND = "qbd"
USERNAME, PASSWORD = "arbridge-bench", "bench web connector password"


def pc(url: str, invoices: int, customers: int, lines: int) -> None:
    """Be the partner's PC: fill the company, run one Web Connector poll, print how it went."""
    import httpx

    from arbridge.sandbox.qbd import Company, Processor, WebConnector
    from arbridge.sandbox.qbd.seed import seed

    company = Company()
    seed(company, customers=customers, invoices=invoices, lines=lines)
    counts = {
        "customers": len(company.customers),
        "invoices": len(company.invoices),
        "payments": len(company.payments),
        "credit_memos": len(company.credit_memos),
    }
    with httpx.Client(timeout=600) as http:
        web_connector = WebConnector(http, url, USERNAME, PASSWORD, Processor(company))
        started = time.perf_counter()
        poll = web_connector.poll()
        elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "outcome": poll.outcome,
                "error": poll.error,
                "round_trips": poll.round_trips,
                "calls": poll.calls,
                "seconds": elapsed,
                "quickbooks_seconds": poll.quickbooks_s,
                "rows": counts,
            }
        ),
        flush=True,
    )


def serve_arbridge() -> tuple[Any, str]:
    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = make_server("127.0.0.1", port, get_wsgi_application(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    data_dir = tempfile.mkdtemp(prefix="arb_bench_qbd_")
    try:
        start_django(data_dir, "http://127.0.0.1:9")
        from arbridge.connectors.qbd import work
        from arbridge.connectors.qbd.connector import hash_password
        from arbridge.core.models import Partner
        from arbridge.integrations.models import Connection, SyncRun
        from arbridge.ledger.models import Invoice

        partner = Partner.objects.create(name="Bench MSP", slug="bench")
        connection = Connection.objects.create(
            partner=partner,
            kind=KIND,
            role=Connection.Role.PRIMARY,
            status=Connection.Status.CONNECTED,
            remote_account=USERNAME,
            credentials={"username": USERNAME, "password_hash": hash_password(PASSWORD)},
        )
        server, url = serve_arbridge()
        log(NAME, f"arbridge at {url}; the PC seeds {args.invoices} invoices and polls")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "pc",
                "--url",
                f"{url}/poll/{KIND}/",
                "--invoices",
                str(args.invoices),
                "--customers",
                str(args.customers),
                "--lines",
                str(args.lines),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(child.stderr)
        if child.returncode != 0:
            raise SystemExit(f"the PC failed: {child.returncode}")
        poll = json.loads(child.stdout.strip().splitlines()[-1])
        server.shutdown()
        synced = Invoice.objects.for_partner(partner).count()
        run = SyncRun.objects.filter(connection=connection).order_by("-pk").first()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    rows = poll["rows"]
    min_round_trips = sum(
        max(1, math.ceil(rows[name] / work.PAGE))
        for name in ("customers", "invoices", "credit_memos", "payments")
    )
    report: dict[str, Any] = {
        "bench": NAME,
        "transport": "the sandbox's Web Connector in a child process, SOAP over loopback HTTP "
        "to arbridge served by werkzeug (threaded) in this one",
        "engine": "polling.host: each qbXML answer applied by sync.commit before the next request",
        "outcome": poll["outcome"],
        "run_status": run.status if run else None,
        "invoices": args.invoices,
        "customers": args.customers,
        "lines_per_invoice": args.lines,
        "rows": rows,
        "synced_invoices": synced,
        "seconds": round(poll["seconds"], 2),
        # Of which the sandbox company answering qbXML (the PC's side, not arbridge's).
        "quickbooks_seconds": round(poll["quickbooks_seconds"], 2),
        "invoices_per_s": round(synced / poll["seconds"], 1),
        "web_connector_round_trips": poll["round_trips"],
        "min_round_trips": min_round_trips,
        "soap_calls": poll["calls"],
        "page_size": work.PAGE,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_note": "arbridge's process only; the PC (company file, Web Connector) is another",
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "pc":
        parser = argparse.ArgumentParser()
        parser.add_argument("role", choices=["pc"])
        parser.add_argument("--url", required=True)
        parser.add_argument("--invoices", type=int, required=True)
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--lines", type=int, required=True)
        pc_args = parser.parse_args()
        pc(pc_args.url, pc_args.invoices, pc_args.customers, pc_args.lines)
    else:
        main()
