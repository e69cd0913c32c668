"""connector_initial_sync for kinds read from files: time the first import of N invoices.

    .venv/bin/python bench/connector_initial_sync.py --kind datagate --invoices 20000

connector_initial_sync.py hands a kind in BENCHES here. One bench per kind
in BENCHES, each saying how its source is filled (not timed) and how many
requests carrying the data would be the fewest. For a kind read from files
(Capabilities.files, DataGate), the source is one
billing-export file of N invoices from the kind's sandbox, and what is timed
is what a partner waits for: the file received and checked whole
(integrations/files/imports.receive, by the connection's saved columns) and
the sync it asks for (tasks.perform_sync) applying it. Files make no API
requests, so api_requests and min_api_requests are 0. It prints one JSON line:

- invoices_per_s: invoices imported per second of the timed part
- api_requests, min_api_requests, http_429: requests to the vendor's API
- peak_rss_mb: this process's peak resident memory
- check_s, sync_s: the timed part's two steps
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

from _common import log, peak_rss_mb, start_django

NAME = "connector_initial_sync"
TARGET_INVOICES_PER_S = 1000
SPARE_REQUESTS = 5
ROOT = "http://connector.bench"


class FileBench:
    """A kind read from files: one export of every invoice, from the kind's sandbox."""

    requests = 0  # a file is no API call
    throttled = 0

    def __init__(self, kind: str, invoices: int) -> None:
        self.kind = kind
        self.count = invoices
        self.data = self.export(invoices)

    def export(self, invoices: int) -> bytes:
        raise NotImplementedError

    def min_requests(self) -> int:
        return 0


class DataGateBench(FileBench):
    def export(self, invoices: int) -> bytes:
        # An MSP's telecom book: about ten invoices a customer, five charges an invoice.
        # Written by the sandbox in a process of its own, so that its memory is not counted.
        script = (
            "import sys; from arbridge.sandbox.datagate.exports import seed; "
            f"sys.stdout.buffer.write(seed({max(1, invoices // 10)}, {invoices}).export())"
        )
        return subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True
        ).stdout


BENCHES = {"datagate": DataGateBench}


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix=f"arb_bench_{args.kind}_") as data_dir:
        log(NAME, f"seeding {args.invoices} {args.kind} invoices")
        started = time.perf_counter()
        bench = BENCHES[args.kind](args.kind, args.invoices)
        log(NAME, f"seeded in {time.perf_counter() - started:.1f}s ({len(bench.data):,} bytes)")
        start_django(data_dir, ROOT)

        from huey.contrib.djhuey import HUEY

        from arbridge.connectors.base import guess_mapping
        from arbridge.core.models import Connection, Partner
        from arbridge.integrations import tasks
        from arbridge.integrations.files import imports
        from arbridge.integrations.files.models import ColumnMapping, ImportFile
        from arbridge.integrations.models import SyncRun
        from arbridge.ledger.models import Invoice

        HUEY.immediate = False  # the sync is run below, timed on its own
        partner = Partner.objects.create(name="Bench MSP")
        connection = Connection.objects.create(
            partner=partner,
            kind=args.kind,
            role=Connection.Role.PRIMARY,
            status=Connection.Status.CONNECTED,
        )
        columns = imports.columns(connection)
        headers = imports.importer(connection).headers(bench.data)
        ColumnMapping.save_for(connection, guess_mapping(columns, headers))

        log(NAME, f"checking the file, peak {peak_rss_mb()} MB so far")
        started = time.perf_counter()
        received = imports.receive(connection, "export.csv", bench.data)
        checked = time.perf_counter()
        run = SyncRun.objects.get(connection=connection, status=SyncRun.Status.QUEUED)
        log(
            NAME,
            f"file {received.file.status} in {checked - started:.1f}s, peak {peak_rss_mb()} MB",
        )
        run = tasks.perform_sync(run.pk)
        elapsed = time.perf_counter() - started
        synced = Invoice.objects.for_partner(partner).count()
        log(NAME, f"run {run.status} in {elapsed:.1f}s: {synced} invoices; {run.error_message}")
        status = ImportFile.objects.get(pk=received.file.pk).status

    report: dict[str, Any] = {
        "bench": NAME,
        "kind": args.kind,
        "source": "one billing-export file from the kind's sandbox",
        "database": "sqlite",
        "invoices": bench.count,
        "file_bytes": len(bench.data),
        "file_status": status,
        "status": run.status,
        "synced_invoices": synced,
        "seconds": round(elapsed, 2),
        "check_s": round(checked - started, 2),
        "sync_s": round(elapsed - (checked - started), 2),
        "invoices_per_s": round(synced / elapsed),
        "api_requests": bench.requests,
        "min_api_requests": bench.min_requests(),
        "http_429": bench.throttled,
        "peak_rss_mb": peak_rss_mb(),
    }
    report["meets_target"] = (
        synced == bench.count
        and report["api_requests"] <= report["min_api_requests"] + SPARE_REQUESTS
        and report["http_429"] == 0
        and report["invoices_per_s"] >= TARGET_INVOICES_PER_S
    )
    print(json.dumps(report))
